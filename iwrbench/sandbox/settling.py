"""Waiting for a page to be done with what an action started, on events instead of the clock.

`PageActivity` follows the task's page through Playwright's events: same-origin requests in flight and
main-frame navigations. `PageActivity.settle` waits, within a cap, for the navigation an action started,
for those requests, then inside the page for its frame callbacks, animations and timers (settle.js),
again while that work starts new requests or a navigation. Apart from the sandbox, which owns one per
page and adds the harness's error handling around the page calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from iwrbench.sandbox.page_scripts import settle_then

SETTLE_ROUNDS = 8  # settle passes per wait: each one ends when the page is quiet or starts new requests


class PageActivity:
    """What the task's page is doing that a wait must see out, kept from the page's events."""

    def __init__(self, same_origin: Callable[[str], bool]):
        self._same_origin = same_origin
        self._inflight = 0
        self.idle = asyncio.Event()  # set while no same-origin request is in flight
        self.idle.set()
        self.navigations = 0
        self.navigated = asyncio.Event()  # set (and replaced) at every main-frame navigation

    def watch(self, page: Any) -> None:
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_done)
        page.on("requestfailed", self._on_request_done)
        page.on("framenavigated", self._on_navigated)

    def _on_request(self, request: Any) -> None:
        if self._same_origin(request.url):
            self._inflight += 1
            self.idle.clear()

    def _on_request_done(self, request: Any) -> None:
        if self._same_origin(request.url):
            self._inflight = max(0, self._inflight - 1)
            if self._inflight == 0:
                self.idle.set()

    def _on_navigated(self, frame: Any) -> None:
        if frame.parent_frame is None:
            self.navigations += 1
            self.navigated.set()
            self.navigated = asyncio.Event()

    async def settle(self, page: Any, evaluate: Callable[..., Awaitable[Any]], cap: float, *, navigated: bool,
                     script: str, arg: Any, step_timeout: float) -> tuple[str, Any]:
        """Wait up to `cap` seconds, then run `script` on `arg` in the page in the same round trip.
        `evaluate` is the sandbox's guarded page call. Returns how the wait ended ("settled", or "cap"
        when the page was still busy) and the script's value (guarded: it may be a marked error)."""
        deadline = time.monotonic() + cap
        navs = self.navigations - (1 if navigated else 0)
        both = settle_then(script)
        value: Any = None
        for _ in range(SETTLE_ROUNDS):
            if self.navigations != navs:
                navs = self.navigations
                with contextlib.suppress(Exception):
                    remain = max(0.05, deadline - time.monotonic())
                    await asyncio.wait_for(page.wait_for_load_state("load", timeout=remain * 1000),
                                           timeout=remain + 0.5)
            if not self.idle.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.idle.wait(), timeout=max(0.01, deadline - time.monotonic()))
            remain_ms = max(30.0, (deadline - time.monotonic()) * 1000)
            timeout = remain_ms / 1000 + step_timeout / 2
            why, value = await evaluate(both, [remain_ms, arg], timeout=timeout,
                                        what="waiting for the page to settle and reading it")
            if why == "navigating" and self.navigations == navs:
                # The page is being replaced but the new document has not arrived: wait for it (a
                # cancelled navigation ends the wait at the cap, and the page says so after 2 s).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.navigated.wait(), timeout=max(0.01, deadline - time.monotonic()))
            busy = not self.idle.is_set() or self.navigations != navs or why == "navigating"
            if why == "settled" and not busy:
                return "settled", value
            if time.monotonic() >= deadline:
                break
        return "cap", value
