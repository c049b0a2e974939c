"""Retries around one provider call, done once here (the SDKs' own retries are switched off).

A provider turns every failure into a `ProviderError` that says whether trying again can help and
how long the server asked us to wait. Waits grow exponentially with jitter, honour Retry-After
(seconds, milliseconds or an HTTP date), and are capped; the number of attempts is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from iwrbench.models.base import ModelError
from iwrbench.redaction import redact

if TYPE_CHECKING:
    from iwrbench.models.gate import CallGate

log = logging.getLogger("iwrbench.models")
T = TypeVar("T")

class ProviderError(Exception):
    """One failed attempt. `kind` is short and stable (rate_limit, server_error, timeout, connection,
    bad_response, client_error, auth) for records and tests."""

    def __init__(self, message: str, *, kind: str, retryable: bool, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.kind, self.retryable, self.status, self.retry_after = kind, retryable, status, retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 1.0  # first backoff wait, doubled per attempt
    max_delay: float = 60.0  # no single wait is longer, Retry-After included
    jitter: float = 0.25  # up to this share of a wait is randomised
    # Behind a CallGate, a 429 does not use up one of `max_attempts`: the gate pauses every call and the
    # request is tried again, up to this many rate-limited answers in all.
    rate_limit_attempts: int = 40

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        rng = rng or random
        if retry_after is not None:
            # The server named a time: wait at least that long (spread a little), never past the cap.
            return min(self.max_delay, retry_after * (1 + rng.uniform(0, self.jitter)) + rng.uniform(0, 0.05))
        wait = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return wait * (1 - self.jitter) + rng.uniform(0, wait * self.jitter)


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` as seconds or an HTTP
    date. None when absent or unreadable; never negative."""
    if not headers:
        return None
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, *, what: str = "request",
                            sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                            rng: random.Random | None = None, gate: CallGate | None = None,
                            purpose: str = "other") -> tuple[T, int]:
    """Run `call` until it succeeds, fails for good, or runs out of attempts. Returns (result, attempts);
    raises ModelError with the last failure (its `retryable` says whether a later rerun may succeed).

    With a `gate`, each attempt holds one of its slots, and a 429 pauses the gate (every call waits)
    instead of this call alone, without using up an attempt (policy.rate_limit_attempts bounds those)."""
    attempts = max(1, policy.max_attempts)
    failed = limited = 0
    while True:
        try:
            if gate is None:
                result = await call()
            else:
                async with gate.slot(purpose):
                    result = await call()
                gate.succeeded()
            return result, failed + limited + 1
        except ProviderError as exc:
            if gate is not None and exc.kind == "rate_limit" and limited + 1 < policy.rate_limit_attempts:
                limited += 1
                wait = gate.rate_limited(exc.retry_after)
                log.info("%s: %s; every call to this model waits %.1f s (rate limited %d times)", what, exc,
                         wait, limited)
                continue
            failed += 1
            spent = gate is not None and exc.kind == "rate_limit"  # its own budget of tries is used up
            final = not exc.retryable or failed >= attempts or spent
            if final:
                n = failed + limited
                how = "gave up" if exc.retryable else "not retryable"
                raise ModelError(redact(f"{exc} ({how} after {n} attempt{'s' * (n > 1)})"),
                                 retryable=exc.retryable, attempts=n, kind=exc.kind) from exc
            wait = policy.delay(failed, exc.retry_after, rng)
            log.warning("%s: %s; retry %d/%d in %.1f s", what, exc, failed + 1, attempts, wait)
            await sleep(wait)
