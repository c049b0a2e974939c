"""Browsers shared by the evaluation's workers: `browsers` Chromiums for `workers` tasks replaying at once.

A worker replays one task at a time in a fresh context of its browser; several workers may share one
browser (contexts are isolated from each other: cookies, storage, pages). One Chromium per worker costs
a browser process, a GPU process and their memory per worker; with a model judge most workers wait on
the network, so fewer browsers hold the same number of tasks in flight (docs/performance.md, "Scale").

Worker n uses browser n % count. A browser found dead is relaunched by the first worker that needs it;
a worker whose task broke its browser discards it only if it is still the one in use (another worker
may have relaunched it meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is imported only when a browser is launched (evaluate.py's manifest needs none)
    from iwrbench.sandbox.browser import Browser

log = logging.getLogger("iwrbench.evaluate")

WORKERS_PER_BROWSER = 4


def default_browsers(workers: int) -> int:
    """One browser per WORKERS_PER_BROWSER workers (at least one)."""
    return max(1, math.ceil(workers / WORKERS_PER_BROWSER))


class SharedBrowsers:
    def __init__(self, count: int):
        if count < 1:
            raise ValueError("at least one browser")
        self.count = count
        self._browsers: list[Browser | None] = [None] * count
        self._locks = [asyncio.Lock() for _ in range(count)]
        self.launched = 0

    async def get(self, worker: int) -> Browser:
        """The live browser of this worker's slot, launched (again) when there is none."""
        from iwrbench.sandbox.browser import Browser

        slot = worker % self.count
        async with self._locks[slot]:
            browser = self._browsers[slot]
            if browser is None or not browser.is_alive():
                if browser is not None:
                    await _close_quietly(browser)
                self._browsers[slot] = None
                browser = await Browser.launch(name=f"browser{slot}")
                self._browsers[slot] = browser
                self.launched += 1
            return browser

    async def discard(self, worker: int, browser: Browser | None) -> None:
        """A task broke `browser` (or found it broken): close it unless it was already replaced."""
        if browser is None:
            return
        slot = worker % self.count
        async with self._locks[slot]:
            if self._browsers[slot] is browser:
                self._browsers[slot] = None
        await _close_quietly(browser)

    async def close(self) -> None:
        browsers, self._browsers = self._browsers, [None] * self.count
        await asyncio.gather(*(_close_quietly(b) for b in browsers if b is not None))


async def _close_quietly(browser: Browser) -> None:
    """Close a browser that may be broken; a failure to close is logged, never raised."""
    try:
        await asyncio.wait_for(browser.close(), timeout=10)
    except Exception as exc:
        log.warning("closing a broken browser failed: %s", exc)
