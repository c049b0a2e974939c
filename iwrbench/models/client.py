"""A remote model = a provider transport wrapped in the response cache and the retry loop, once.

Transports (openai_provider, anthropic_provider, gemini_provider) make one model request per `send`
and turn every SDK failure into a ProviderError (`status_error` classifies an HTTP status the same way
for all of them); `RemoteModel.complete` is what the rest of the harness calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from iwrbench.models.base import ModelError, ModelRequest, ModelResponse
from iwrbench.models.cache import ResponseCache, cache_key, public_url
from iwrbench.models.gate import CallGate
from iwrbench.models.retry import ProviderError, RetryPolicy, call_with_retries, parse_retry_after
from iwrbench.models.settings import ModelSettings
from iwrbench.redaction import redact

log = logging.getLogger("iwrbench.models")


class Transport(Protocol):
    provider: str
    model: str  # the provider's model id (no "openai/" prefix)
    base_url: str
    accepts_video: bool  # takes a VideoPart (the recording itself) in a request

    async def send(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None: ...


@dataclass
class Usage:
    """Running totals of one model object (for run summaries and reports)."""

    calls: int = 0
    cached: int = 0
    failed: int = 0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0

    def add(self, response: ModelResponse) -> None:
        self.calls += 1
        self.cached += int(response.cached)
        self.attempts += response.attempts
        self.input_tokens += response.input_tokens or 0
        self.output_tokens += response.output_tokens or 0
        self.seconds += response.seconds


class RemoteModel:
    """Implements the Model protocol of base.py for openai/… and anthropic/… names."""

    def __init__(self, name: str, transport: Transport, settings: ModelSettings):
        self.name = name
        self.provider = transport.provider
        self.transport = transport
        self.settings = settings
        self.cache = ResponseCache(settings.cache_dir) if settings.cache else None
        self.policy = RetryPolicy(max_attempts=settings.max_attempts, base_delay=settings.base_delay,
                                  max_delay=settings.max_delay)
        self.usage = Usage()
        self.gate: CallGate | None = None  # calls in flight and shared 429 backoff (evaluation: --judge-concurrency)

    @property
    def model_id(self) -> str:
        return self.transport.model

    @property
    def base_url(self) -> str:
        return public_url(self.transport.base_url)

    @property
    def accepts_video(self) -> bool:
        return bool(getattr(self.transport, "accepts_video", False))

    def key_for(self, request: ModelRequest) -> str:
        # Epoch 1 keeps the key it always had; a later epoch is a new sample, never epoch 1's cached reply.
        return cache_key(provider=self.provider, base_url=self.transport.base_url, model=self.transport.model,
                         request=request, extra={"epoch": request.epoch} if request.epoch > 1 else None)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.video_count and not self.accepts_video:
            self.usage.failed += 1
            raise ModelError(no_video_message(self.name), retryable=False, attempts=0, kind="client_error")
        key = self.key_for(request)
        if self.cache is not None and not self.settings.refresh:
            hit = self.cache.get(key)
            if hit is not None:
                hit.extra["cache_key"] = key
                self.usage.add(hit)
                return hit
        start = time.monotonic()
        try:
            response, attempts = await call_with_retries(lambda: self.transport.send(request), self.policy,
                                                         what=f"{self.name} ({request.purpose})", gate=self.gate,
                                                         purpose=request.purpose)
        except ModelError as exc:
            self.usage.failed += 1
            if request.video_count and exc.kind == "client_error" and "video" in str(exc).lower():
                # An OpenAI-compatible server whose model takes no video rejects the part by name.
                raise ModelError(f"{no_video_message(self.name)} (the server said: {exc})", retryable=False,
                                 attempts=exc.attempts, kind=exc.kind) from exc
            raise
        except Exception:
            self.usage.failed += 1
            raise
        response.attempts = attempts
        response.seconds = round(time.monotonic() - start, 3)
        if self.cache is not None:
            self.cache.put(key, response, provider=self.provider, model=self.transport.model)
        response.extra["cache_key"] = key
        self.usage.add(response)
        return response

    def forget(self, response: ModelResponse) -> bool:
        """Drop the cached copy of a reply its caller could not use (an unreadable verdict, a reply
        with no page), so that a rerun asks the model again instead of replaying the same reply."""
        key = response.extra.get("cache_key")
        return bool(self.cache is not None and key and self.cache.forget(key))

    async def aclose(self) -> None:
        await self.transport.aclose()


# ---------------------------------------------------------------- shared by the transports


def no_video_message(name: str) -> str:
    return f"model {name} does not take video input; use --video-input frames"


def short_message(exc: BaseException, limit: int = 300) -> str:
    """The provider's own error message (from the JSON error body when there is one), one line."""
    text = str(getattr(exc, "message", None) or exc)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body["error"] if isinstance(body.get("error"), dict) else body
        if inner.get("message"):
            text = str(inner["message"]) + (f" ({inner['type']})" if inner.get("type") else "")
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def translate_sdk_error(exc: BaseException, sdk: Any, timeout: float) -> ProviderError | None:
    """An openai/anthropic SDK exception as a ProviderError (both SDKs share these class names).
    None for anything that is not a provider failure (a bug must not be retried silently)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | sdk.APITimeoutError):
        return ProviderError(f"request timed out after {timeout:g} s", kind="timeout", retryable=True)
    if isinstance(exc, sdk.APIStatusError):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return status_error(exc.status_code, short_message(exc),
                            parse_retry_after(dict(headers) if headers is not None else None))
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"connection failed: {short_message(exc)}", kind="connection", retryable=True)
    if isinstance(exc, sdk.APIResponseValidationError | ValueError):
        return ProviderError(f"unreadable reply: {short_message(exc)}", kind="bad_response", retryable=True)
    return None


def status_error(status: int, message: str, retry_after: float | None = None, *,
                 auth: bool = False) -> ProviderError:
    """An HTTP error status as a ProviderError, classified once for every provider: 401/403 (or
    `auth`: the provider says so in its body) are not retried, 429 and 5xx are (after `retry_after`
    seconds when the server named a time), other 4xx are the request's fault and are not."""
    msg = f"HTTP {status}: {message}"
    if auth or status in (401, 403):
        return ProviderError(msg, kind="auth", retryable=False, status=status)
    if status == 429:
        return ProviderError(msg, kind="rate_limit", retryable=True, status=status, retry_after=retry_after)
    if status >= 500 or status in (408, 409, 425):
        return ProviderError(msg, kind="server_error", retryable=True, status=status, retry_after=retry_after)
    return ProviderError(msg, kind="client_error", retryable=False, status=status)


def mentions(exc: ProviderError, *words: str) -> bool:
    text = str(exc).lower()
    return exc.status == 400 and all(w in text for w in words)


class LoopBoundClient:
    """An SDK client made lazily inside the running event loop (and remade if the loop changes, e.g.
    across asyncio.run calls), so one model object serves a whole run and is closed once."""

    def __init__(self, factory: Any):
        self._factory = factory
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._factory()
            self._loop = loop
        return self._client

    def peek(self) -> Any:
        """The client made in the running loop, or None (nothing made yet, or made in another loop)."""
        return self._client if self._client is not None and self._loop is asyncio.get_running_loop() else None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.close()
