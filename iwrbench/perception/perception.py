"""The agent's view of the page: browser-use's indexed interactive elements, or the Playwright scan.

browser-use is attached over CDP to the same Chromium that Playwright drives, and its DOM service
builds the element list (DOM + accessibility tree + layout snapshot, paint-order filtered) exactly
as its agent sees it (browser_use_view.py). When browser-use cannot attach or answer in time on a
responsive page, a Playwright-side scan of the document builds the same descriptors (page_scan.py);
which one was used is recorded per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from iwrbench.perception.browser_use_view import BrowserUseView
from iwrbench.perception.page_scan import scan_page
from iwrbench.perception.perceived import ElementRef, Perceived
from iwrbench.sandbox.faults import PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox

# browser-use's DOM service costs grow fast with page size (20,000 elements: ~25 s, most of it in its
# paint-order pass, which browser_use_view.py skips above PAINT_ORDER_LIMIT). Above BROWSER_USE_LIMIT
# the Playwright scan (~2 s there) is used instead, and the step records why.
BROWSER_USE_LIMIT = 6000


class Perception:
    """browser-use first; the Playwright scan when browser-use is unavailable on a live page."""

    def __init__(self, sandbox: PageSandbox, *, use_browser_use: bool = True):
        self.sandbox = sandbox
        self.view = BrowserUseView(sandbox) if use_browser_use else None
        self._attach: asyncio.Future[bool] | None = None
        self._attach_noted = False
        self.notes: list[str] = []

    def start(self, timeout: float = 15.0) -> None:
        """Attach browser-use in the background (it overlaps the page's load; ~0.1-0.3 s)."""
        if self.view is not None and self._attach is None:
            self._attach = asyncio.ensure_future(self.view.attach(timeout=timeout))

    async def _attached(self, timeout: float) -> bool:
        self.start(timeout)
        assert self._attach is not None
        return await self._attach

    async def look(self, viewport: tuple[float, float, float, float], *, timeout: float,
                   dom_size: int = 0, hints: list[str] | None = None) -> Perceived:
        start = time.monotonic()
        notes: list[str] = []
        if dom_size > BROWSER_USE_LIMIT:
            notes.append(f"the page has {dom_size} elements: browser-use's element list would take too long")
        elif self.view is not None and not await self._attached(max(timeout, 10.0)) and not self._attach_noted:
            self._attach_noted = True
            notes.append(self.view.error or "browser-use could not attach")
        if self.view is not None and self.view.attached and dom_size <= BROWSER_USE_LIMIT:
            try:
                elements, refs, listing, anchors = await self.view.elements(viewport, timeout=timeout,
                                                                            dom_size=dom_size)
                return Perceived(elements, refs, listing, "browser-use", time.monotonic() - start, notes,
                                 anchor_source=anchors)
            except TimeoutError:
                self.sandbox.check()
                if not await self.sandbox.responsive(timeout=3.0):
                    self.sandbox.log.hung = self.sandbox.log.hung or "perception: the page stopped responding"
                    raise PageHung("reading the page's elements: the page stopped responding") from None
                notes.append(f"browser-use gave no element list within {timeout:.0f}s")
            except (PageHung, PageCrashed):
                raise
            except Exception as exc:
                self.sandbox.check()
                notes.append(f"browser-use failed: {type(exc).__name__}: {str(exc)[:200]}")
        remaining = max(2.0, timeout - (time.monotonic() - start))
        try:
            elements, refs, listing, found = await asyncio.wait_for(
                scan_page(self.sandbox, viewport, hints=hints), timeout=remaining + 1)
        except TimeoutError:
            raise PageHung(f"reading the page's elements: no answer within {remaining:.0f}s") from None
        self.notes.extend(notes)
        return Perceived(elements, refs, listing, "playwright-scan", time.monotonic() - start, notes,
                         _anchors=found)

    async def handle(self, ref: ElementRef) -> Any | None:
        """A Playwright ElementHandle for a perceived element, or None when it is gone."""
        if ref.scan is not None and ref.scan_index is not None:
            h = await self.sandbox.call("element handle", ref.scan.evaluate_handle("(a, i) => a[i]", ref.scan_index))
            return h.as_element()
        if ref.backend_node_id is not None:
            return await self.sandbox.handle_for_node(ref.backend_node_id)
        return None

    @property
    def can_fallback(self) -> bool:
        return self.view is not None and self.view.attached

    async def close(self) -> None:
        if self._attach is not None and not self._attach.done():
            self._attach.cancel()
        if self._attach is not None:
            with contextlib.suppress(BaseException):  # its outcome no longer matters: the task is over
                await self._attach
        if self.view is not None:
            await self.view.close()
