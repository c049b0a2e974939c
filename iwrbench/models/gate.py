"""How many calls to one model are in flight, and a rate limit's backoff shared by all of them.

An evaluation with a model judge has many tasks in flight, each asking the judge to pick elements,
judge assertions and grade rubrics. A `CallGate` sits in front of the judge (and agent) model:
- at most `limit` calls are in flight at once (evaluate.py --judge-concurrency);
- a call on the replay's path (`locate`: a browser waits for it) is let through before the judging
  calls that run behind the replay (`assert`, `rubric`), so a queue of rubric grades never stalls a
  browser;
- a 429 pauses every call that has not started yet, not only the one that got it: until the time
  the server named (Retry-After), else for a wait that doubles with each 429 in a row (reset by a
  success). A rate-limited judge then slows the run down instead of each worker hammering it and
  failing its tasks. The retry loop (retry.py) gives rate limits their own, larger budget of tries.

Figures for reports and the scale bench: calls, peak in flight, 429s seen, seconds paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

# Lower runs first: a browser waits for a locate call; assertions and rubric grades run behind the replay.
PRIORITY = {"locate": 0, "assert": 1, "rubric": 2}
DEFAULT_LIMIT = 16


@dataclass
class GateStats:
    calls: int = 0
    peak_in_flight: int = 0
    rate_limited: int = 0
    paused_s: float = 0.0
    waited_s: float = 0.0  # summed over calls: time spent queued before starting

    def as_dict(self) -> dict[str, float | int]:
        return {"calls": self.calls, "peak_in_flight": self.peak_in_flight, "rate_limited": self.rate_limited,
                "paused_s": round(self.paused_s, 2), "waited_s": round(self.waited_s, 2)}


class CallGate:
    """A priority semaphore with a shared pause. Made inside or outside a loop; used in one loop at a time
    (its futures belong to the loop that waits on them)."""

    def __init__(self, limit: int = DEFAULT_LIMIT, *, base_delay: float = 1.0, max_delay: float = 60.0,
                 jitter: float = 0.25, rng: random.Random | None = None):
        if limit < 1:
            raise ValueError("a call gate needs a limit of at least 1")
        self.limit = limit
        self.base_delay, self.max_delay, self.jitter = base_delay, max_delay, jitter
        self.rng = rng or random.Random()
        self.in_flight = 0
        self.paused_until = 0.0
        self._streak = 0  # 429s in a row (no success in between)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.stats = GateStats()

    # ------------------------------------------------------------------ backoff

    def rate_limited(self, retry_after: float | None) -> float:
        """A call got a 429: pause every call not yet started. Returns the pause from now, in seconds."""
        self.stats.rate_limited += 1
        self._streak += 1
        if retry_after is not None:
            wait = retry_after * (1 + self.rng.uniform(0, self.jitter)) + self.rng.uniform(0, 0.05)
        else:
            wait = self.base_delay * 2 ** (self._streak - 1)
            wait = wait * (1 - self.jitter) + self.rng.uniform(0, wait * self.jitter)
        wait = min(self.max_delay, wait)
        now = time.monotonic()
        until = now + wait
        if until > self.paused_until:
            self.stats.paused_s += until - max(now, self.paused_until)
            self.paused_until = until
        return wait

    def succeeded(self) -> None:
        self._streak = 0

    def pause_left(self) -> float:
        return max(0.0, self.paused_until - time.monotonic())

    # ------------------------------------------------------------------ slots

    async def _acquire(self, purpose: str) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (PRIORITY.get(purpose, 1), next(self._order), fut)
            heapq.heappush(self._waiters, entry)
            try:
                await fut  # the slot was counted for us by the releaser
            except BaseException:
                if fut.done() and not fut.cancelled():
                    self._release()  # we were handed a slot but are leaving: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(entry)
                        heapq.heapify(self._waiters)
                raise
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)

    def _release(self) -> None:
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)  # the slot goes straight to the waiter: in_flight unchanged
                return
        self.in_flight -= 1

    @contextlib.asynccontextmanager
    async def slot(self, purpose: str = "other") -> AsyncIterator[None]:
        """Hold one of the `limit` slots for one attempt of a call, after any shared pause."""
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(self.pause_left())
            await self._acquire(purpose)
            if self.pause_left() <= 0:
                break
            self._release()  # a 429 arrived while we queued: wait for the pause like everyone else
        self.stats.calls += 1
        self.stats.waited_s += time.monotonic() - t0
        try:
            yield
        finally:
            self._release()
