"""browser-use attached over CDP to the Chromium that Playwright drives: its DOM service's element list.

Only the session's CDP connection and DOM service are used, not its watchdogs: those would accept
`confirm()` dialogs, inject animations into blank tabs and change the viewport, which the sandbox owns.
Elements are indexed over the whole document (not only the viewport) so a target below the fold can be
scrolled into view. The nodes are read as Elements by browser_use_nodes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.request
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from iwrbench.locate.element import Element
from iwrbench.locate.spatial import Anchor
from iwrbench.perception.browser_use_nodes import (
    element_from_node,
    svg_listeners,
    tree_anchors,
    with_card_context,
)
from iwrbench.perception.perceived import LISTING_CAP, ElementRef
from iwrbench.sandbox.faults import PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox
from iwrbench.sandbox.scratch import prepare_process_env

log = logging.getLogger("iwrbench.perception")

# browser-use's DOM service costs grow fast with page size (20,000 elements: ~25 s, most of it in its
# paint-order pass). Above PAINT_ORDER_LIMIT elements that pass is skipped (above perception.py's
# BROWSER_USE_LIMIT the Playwright scan is used instead).
PAINT_ORDER_LIMIT = 1500


_browser_use_loaded = False


def _import_browser_use() -> None:
    global _browser_use_loaded
    import browser_use.actor.element  # noqa: F401
    import browser_use.browser.profile  # noqa: F401
    import browser_use.browser.session  # noqa: F401
    import browser_use.dom.service  # noqa: F401

    _browser_use_loaded = True


async def preload_browser_use() -> None:
    """Import the browser-use modules the view uses, in a thread: the first import takes ~0.5-1.5 s,
    during which the event loop goes on (serving a loading page, or starting Chromium). Its settings
    are put in the environment first, here in the event loop's thread."""
    if not _browser_use_loaded:
        prepare_process_env()
        await asyncio.to_thread(_import_browser_use)


# The browser's DevTools WebSocket URL, per Browser object. Given an http:// cdp_url, browser-use asks
# /json/version with a new httpx client on every connect, and each client builds two TLS contexts
# (~40-80 ms of CPU on the event loop, per task); handing it the ws:// URL skips that.
_WS_URLS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _fetch_ws_url(http_url: str, timeout: float) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    with opener.open(http_url.rstrip("/") + "/json/version", timeout=timeout) as resp:
        return str(json.loads(resp.read())["webSocketDebuggerUrl"])


async def devtools_ws_url(browser: Any, timeout: float = 5.0) -> str:
    """The browser-level DevTools WebSocket URL of `browser` (asked once per Browser object; a
    relaunched browser is a new object and is asked again)."""
    url = _WS_URLS.get(browser)
    if url is None:
        url = await asyncio.to_thread(_fetch_ws_url, browser.cdp_url, timeout)
        _WS_URLS[browser] = url
    return url


_LOCAL_SESSION: type | None = None
_SHARED_CLOUD_CLIENT: Any = None


def _shared_cloud_client() -> Any:
    global _SHARED_CLOUD_CLIENT
    if _SHARED_CLOUD_CLIENT is None:
        from browser_use.browser.cloud.cloud import CloudBrowserClient

        _SHARED_CLOUD_CLIENT = CloudBrowserClient()
    return _SHARED_CLOUD_CLIENT


def local_session_class() -> type:
    """browser-use's BrowserSession with one cloud client per process instead of one per session.

    Every BrowserSession builds a CloudBrowserClient, whose httpx client loads the CA bundle into a
    TLS context: ~50 ms of CPU on the event loop, per task, for a client that is never used here (the
    browser is local and the session is never stopped through browser-use's cloud path). The shared
    client is built once, so that code path still finds one.
    """
    global _LOCAL_SESSION
    if _LOCAL_SESSION is None:
        from browser_use.browser.session import BrowserSession
        from pydantic import PrivateAttr

        class LocalBrowserSession(BrowserSession):
            _cloud_browser_client: Any = PrivateAttr(default_factory=_shared_cloud_client)

        _LOCAL_SESSION = LocalBrowserSession
    return _LOCAL_SESSION


class BrowserUseView:
    """A browser-use session attached over CDP to one task's page (its DOM service only)."""

    def __init__(self, sandbox: PageSandbox):
        self.sandbox = sandbox
        self.session: Any = None
        self.error: str | None = None
        self.target_id: str | None = None
        self._dom: Any = None

    async def attach(self, timeout: float = 10.0) -> bool:
        """Connect to the browser and focus the task's page. False (with `error`) when it cannot."""
        try:
            await asyncio.wait_for(self._attach(), timeout=timeout)
            return True
        except (PageHung, PageCrashed):
            raise
        except Exception as exc:
            self.error = f"browser-use could not attach: {type(exc).__name__}: {str(exc)[:200]}"
            log.warning("%s", self.error)
            await self.close()
            return False

    async def _attach(self) -> None:
        prepare_process_env()
        await preload_browser_use()
        from browser_use.browser.profile import BrowserProfile
        from browser_use.dom.service import DomService

        scratch = self.sandbox.browser.scratch / "browser-use"
        target_id = self.target_id = await self.sandbox.target_id()
        # headless=False + no_viewport=True: browser-use must not emulate a viewport of its own; when
        # its CDP session ends, Chromium would drop Playwright's viewport with it.
        profile = BrowserProfile(cdp_url=await devtools_ws_url(self.sandbox.browser), enable_default_extensions=False,
                                 highlight_elements=False, headless=False, no_viewport=True,
                                 downloads_path=scratch / "downloads", user_data_dir=scratch / "unused-profile",
                                 cross_origin_iframes=False)
        self.session = local_session_class()(browser_profile=profile)
        await self.session.connect()
        # connect() queues tab/focus events for the browser's first tab: let them run, then focus ours.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.session.event_bus.wait_until_idle(timeout=2.0), timeout=3.0)
        await self.session.get_or_create_cdp_session(target_id, focus=True)
        self._dom = DomService(self.session, viewport_threshold=None, paint_order_filtering=True)

    @property
    def attached(self) -> bool:
        return self._dom is not None

    async def elements(self, viewport: tuple[float, float, float, float], timeout: float, dom_size: int = 0,
                       ) -> tuple[list[Element], dict[int, ElementRef], str, Callable[[], list[Anchor]]]:
        await self._refocus()
        self._dom.paint_order_filtering = dom_size <= PAINT_ORDER_LIMIT
        state, tree, _timing = await asyncio.wait_for(self._dom.get_serialized_dom_tree(), timeout=timeout)
        elements: list[Element] = []
        refs: dict[int, ElementRef] = {}
        nodes: dict[int, Any] = {}
        for index, node in state.selector_map.items():
            try:
                el = element_from_node(int(index), node, viewport)
            except (AttributeError, TypeError, ValueError) as exc:
                log.debug("skipping element %s: %s", index, exc)
                continue
            elements.append(el)
            nodes[el.index] = node
            refs[el.index] = ElementRef(backend_node_id=int(node.backend_node_id), session_id=node.session_id)
        elements = with_card_context(elements, nodes)
        listing = state.llm_representation()
        extra_lines = []
        for node in svg_listeners(tree, set(state.selector_map)):
            try:
                el = element_from_node(int(node.backend_node_id), node, viewport)
            except (AttributeError, TypeError, ValueError) as exc:
                log.debug("skipping svg element: %s", exc)
                continue
            el = replace(el, source="browser-use-tree")
            elements.append(el)
            refs[el.index] = ElementRef(backend_node_id=int(node.backend_node_id), session_id=node.session_id)
            extra_lines.append(f"[{el.index}]{el.summary(100)} (inside an SVG)")
        if extra_lines:
            listing += "\nClickable shapes inside SVG graphics:\n" + "\n".join(extra_lines)
        if len(listing) > LISTING_CAP:
            listing = listing[:LISTING_CAP] + "\n… (list cut)"
        return elements, refs, listing, lambda: tree_anchors(tree)

    async def _refocus(self) -> None:
        """connect() queues a focus change to the browser's first tab on its event bus; it may land
        after ours, so the session's focus is put back on the task's page before every look."""
        if self.target_id and self.session.agent_focus_target_id != self.target_id:
            await self.session.get_or_create_cdp_session(self.target_id, focus=True)

    async def click(self, ref: ElementRef, timeout: float) -> None:
        """browser-use's own click (CDP mouse events at the element, JS click as its fallback)."""
        from browser_use.actor.element import Element as ActorElement

        await self._refocus()
        el = ActorElement(self.session, ref.backend_node_id, session_id=ref.session_id)
        await asyncio.wait_for(el.click(), timeout=timeout)

    async def fill(self, ref: ElementRef, text: str, timeout: float) -> None:
        from browser_use.actor.element import Element as ActorElement

        await self._refocus()
        el = ActorElement(self.session, ref.backend_node_id, session_id=ref.session_id)
        await asyncio.wait_for(el.fill(text), timeout=timeout)

    async def close(self) -> None:
        """Disconnect (the browser stays up). Bounded: a hung page cannot hold this.

        `BrowserSession.stop()` keeps a CDP connection open when the profile says keep_alive (the
        default for a cdp_url), so the session is reset directly: its WebSocket closes and nothing
        of it outlives the task.
        """
        session, self.session, self._dom = self.session, None, None
        if session is None:
            return
        try:
            await asyncio.wait_for(session.reset(), timeout=5)
        except Exception as exc:
            log.debug("browser-use reset: %s", exc)
            client = getattr(session, "_cdp_client_root", None)
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), timeout=2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.event_bus.stop(clear=True, timeout=1), timeout=2)
