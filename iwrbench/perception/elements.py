"""The agent's view of the page: browser-use's indexed interactive elements.

browser-use is attached over CDP to the same Chromium that Playwright drives, and its DOM service
builds the element list (DOM + accessibility tree + layout snapshot, paint-order filtered) exactly
as its agent sees it. Only the session's CDP connection and DOM service are used, not its
watchdogs: those would accept `confirm()` dialogs, inject animations into blank tabs and change
the viewport, which the sandbox owns. Elements are indexed over the whole document (not only the
viewport) so a target below the fold can be scrolled into view.

When browser-use cannot attach or answer in time on a responsive page, a Playwright-side scan of
the document builds the same descriptors; which one was used is recorded per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.request
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from iwrbench.locate.element import Element, is_editable
from iwrbench.locate.spatial import Anchor
from iwrbench.sandbox.faults import PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox
from iwrbench.sandbox.scratch import prepare_process_env

log = logging.getLogger("iwrbench.perception")

KEEP_ATTRIBUTES = ("id", "class", "name", "type", "placeholder", "title", "alt", "value", "href", "src", "role",
                   "aria-label", "aria-selected", "aria-expanded", "aria-checked", "aria-pressed", "aria-current",
                   "contenteditable", "for", "tabindex", "onclick", "data-testid", "label")
LANDMARK_TAGS = {"header": "header", "nav": "nav", "footer": "footer", "aside": "aside", "main": "main",
                 "form": "form", "dialog": "dialog"}
LANDMARK_ROLES = {"banner": "header", "navigation": "nav", "contentinfo": "footer", "complementary": "aside",
                  "main": "main", "form": "form", "dialog": "dialog", "alertdialog": "dialog", "search": "form"}
# browser-use's DOM service costs grow fast with page size (20,000 elements: ~25 s, most of it in its
# paint-order pass). Above PAINT_ORDER_LIMIT elements that pass is skipped; above BROWSER_USE_LIMIT
# the Playwright scan (~2 s there) is used instead, and the step records why.
PAINT_ORDER_LIMIT = 1500
BROWSER_USE_LIMIT = 6000
TEXT_CAP = 300
CONTEXT_CAP = 300
LISTING_CAP = 40_000


@dataclass
class ElementRef:
    """How to reach a perceived element again: a browser-use node id or a Playwright handle."""

    backend_node_id: int | None = None
    session_id: str | None = None
    scan: Any = None  # JSHandle of the scan's array (Playwright scan)
    scan_index: int | None = None


@dataclass
class Perceived:
    """One look at the page."""

    elements: list[Element]
    refs: dict[int, ElementRef]
    listing: str  # the indexed element list as a model sees it
    source: str  # "browser-use" | "playwright-scan"
    seconds: float
    notes: list[str] = field(default_factory=list)  # why browser-use was not used, if it was not
    anchor_source: Callable[[], list[Anchor]] | None = None
    _anchors: list[Anchor] | None = None

    def anchors(self) -> list[Anchor]:
        """Short visible texts with their boxes, computed on first use (only spatial descriptions need them)."""
        if self._anchors is None:
            self._anchors = self.anchor_source() if self.anchor_source else []
        return self._anchors

    def ref(self, index: int) -> ElementRef | None:
        return self.refs.get(index)


def _collapse(text: str, cap: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= cap else text[: cap - 1] + "…"


# ---------------------------------------------------------------- browser-use nodes -> Element


def _node_text(node: Any, cap: int, *, visible_only: bool = True) -> str:
    """Visible text under a node, collected depth-first until `cap` characters (cheap on huge trees).
    With `visible_only` False, hidden text too (a card's title hidden in a thumbnail view still says
    which card it is), and image alt texts."""
    out: list[str] = []
    size = 0
    stack = [node]
    while stack and size < cap:
        n = stack.pop()
        kind = getattr(n.node_type, "value", n.node_type)
        if kind == 3:  # text node
            value = (n.node_value or "").strip()
            if value:
                out.append(value)
                size += len(value) + 1
            continue
        if kind not in (1, 11, 9):  # element, fragment, document
            continue
        name = (n.node_name or "").lower()
        if name in ("script", "style", "noscript", "template", "head"):
            continue
        if visible_only and kind == 1 and n is not node and getattr(n, "is_visible", None) is False:
            continue  # text a user cannot see (display: none, visibility: hidden) names nothing
        if not visible_only and name == "img":
            alt = ((n.attributes or {}).get("alt") or "").strip()
            if alt:
                out.append(alt)
                size += len(alt) + 1
        stack.extend(reversed(_children(n)))
    return _collapse(" ".join(out), cap)


def _context(node: Any, own: str) -> str:
    """Text of the nearest enclosing row/item that says more than the element itself."""
    parent = node.parent_node
    for _ in range(4):
        if parent is None:
            return ""
        text = _node_text(parent, CONTEXT_CAP + 50)
        if len(text) > len(own):
            return "" if len(text) > CONTEXT_CAP else text
        parent = parent.parent_node
    return ""


def _landmark(node: Any) -> str:
    parent = node.parent_node
    for _ in range(40):
        if parent is None:
            return ""
        name = (parent.node_name or "").lower()
        if name in LANDMARK_TAGS:
            return LANDMARK_TAGS[name]
        role = (parent.attributes or {}).get("role", "").lower() if hasattr(parent, "attributes") else ""
        if role in LANDMARK_ROLES:
            return LANDMARK_ROLES[role]
        parent = parent.parent_node
    return ""


def element_from_node(index: int, node: Any, viewport: tuple[float, float, float, float]) -> Element:
    """A browser-use EnhancedDOMTreeNode as a locator Element."""
    raw_attrs = dict(node.attributes or {})
    attrs = {k: _collapse(v, 200) for k, v in raw_attrs.items() if k in KEEP_ATTRIBUTES or k.startswith("aria-")}
    ax = node.ax_node
    role = (ax.role if ax and ax.role else "") or raw_attrs.get("role", "")
    name = _collapse(ax.name, 200) if ax and ax.name else ""
    tag = (node.node_name or "").lower()
    snap = node.snapshot_node
    value = getattr(snap, "input_value", None) if snap is not None else None
    if value is not None and tag in ("input", "textarea"):
        attrs["value"] = _collapse(value, 200)
    rect = node.absolute_position or (snap.bounds if snap is not None else None)
    bbox = (float(rect.x), float(rect.y), float(rect.width), float(rect.height)) if rect is not None else None
    text = _node_text(node, TEXT_CAP)
    editable = is_editable(tag, raw_attrs, str(role or "")) or (tag in ("iframe", "frame") and _editable_frame(node))
    return Element(index=int(index), tag=tag, role=str(role or ""), name=name, text=text, attributes=attrs,
                   bbox=bbox, in_viewport=_intersects(bbox, viewport),
                   editable=editable,
                   scrollable=bool(getattr(node, "is_scrollable", False)),
                   context=_context(node, text), landmark=_landmark(node), source="browser-use")


CARD_CAP = 600  # characters of a card's text kept as a twin's context


def twin_key(e: Element) -> tuple[str, str, str]:
    """What makes two elements look the same to a user: kind, label, and (for unlabeled icons) class."""
    label = " ".join(e.label().lower().split())
    return e.kind, label, "" if label else e.attributes.get("class", "")


def with_card_context(elements: list[Element], nodes: dict[int, Any]) -> list[Element]:
    """Elements that look alike (several 'Add to cart' buttons, a delete icon per row) get as context the
    text of their own card or row: the largest ancestor that holds no other look-alike, with its
    section's heading. That is what "the 'Add to cart' button on the Desk Lamp card" or "the '...'
    result" points at, however long the card's text."""
    groups: dict[tuple[str, str, str], list[Element]] = {}
    for e in elements:
        groups.setdefault(twin_key(e), []).append(e)
    cards: dict[int, str] = {}
    for kin in groups.values():
        if len(kin) < 2 or len(kin) > 400:
            continue
        chains: dict[int, list[Any]] = {}
        below: dict[int, int] = {}  # id(ancestor) -> how many of the kind it holds
        for e in kin:
            chain, n = [], getattr(nodes.get(e.index), "parent_node", None)
            for _ in range(60):
                if n is None:
                    break
                chain.append(n)
                n = n.parent_node
            chains[e.index] = chain
            for a in chain:
                below[id(a)] = below.get(id(a), 0) + 1
        for e in kin:
            card = None
            for a in chains[e.index]:
                if below[id(a)] > 1:
                    break
                card = a
            if card is None:
                continue
            text = _node_text(card, CARD_CAP, visible_only=False)
            heading = _section_heading(card)
            if heading and heading not in text:
                text = f"{heading} {text}"  # "the 'X' result": look-alikes told apart by their section too
            if len(text) > len(e.text):
                cards[e.index] = text
    return [replace(e, context=cards[e.index]) if e.index in cards else e for e in elements]


HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _is_heading(n: Any) -> bool:
    if getattr(getattr(n, "node_type", None), "value", getattr(n, "node_type", None)) != 1:
        return False
    return (n.node_name or "").lower() in HEADINGS or (n.attributes or {}).get("role") == "heading"


def _section_heading(node: Any, levels: int = 8) -> str:
    """The text of the nearest heading before `node` in its section: walking up, the last heading among
    an ancestor's children that come before the branch holding `node` (or inside those children)."""
    child, parent = node, getattr(node, "parent_node", None)
    for _ in range(levels):
        if parent is None:
            return ""
        found = ""
        for sibling in _children(parent):
            if sibling is child:
                break
            if _is_heading(sibling):
                found = _node_text(sibling, 120)
            else:
                inner = [n for n in _children(sibling) if _is_heading(n)]
                if inner:
                    found = _node_text(inner[-1], 120)
        if found:
            return found
        child, parent = parent, parent.parent_node
    return ""


def _editable_frame(node: Any) -> bool:
    """A same-origin iframe whose document is a rich-text editor (its body or root contenteditable):
    typing goes into the frame, as a user clicking into the editor would."""
    doc = getattr(node, "content_document", None)
    stack = list(_children(doc)) if doc is not None else []
    for _ in range(6):  # #document > html > body: a few levels down at most
        nxt = []
        for n in stack:
            if (n.node_name or "").lower() in ("html", "body"):
                ce = ((n.attributes or {}).get("contenteditable") or "").lower()
                if ce in ("", "true", "plaintext-only") and "contenteditable" in (n.attributes or {}):
                    return True
                nxt.extend(_children(n))
        stack = nxt
    return False


def _children(n: Any, *, frames: bool = False) -> list[Any]:
    """A node's children in document order for a walk: shadow roots first, then the light DOM, then
    (with `frames`) an iframe's document."""
    children = list(n.shadow_roots or ()) + list(n.children_nodes or ())
    if frames and getattr(n, "content_document", None) is not None:
        children.append(n.content_document)
    return children


ANCHOR_CAP = 4000
SVG_SHAPES = {"path", "rect", "g", "circle", "ellipse", "line", "polyline", "polygon", "use", "image", "text"}


def svg_listeners(root: Any, indexed: set[int], cap: int = 500) -> list[Any]:
    """SVG shapes with their own click listener. browser-use's serializer drops every SVG child as
    decorative; a chart whose bars are clickable needs them back (same tree, same node ids)."""
    out: list[Any] = []
    stack = [root]
    while stack and len(out) < cap:
        n = stack.pop()
        kind = getattr(n.node_type, "value", n.node_type)
        if kind not in (1, 9, 11):
            continue
        if (kind == 1 and n.has_js_click_listener and (n.node_name or "").lower() in SVG_SHAPES
                and n.backend_node_id not in indexed and n.is_visible is not False
                and n.absolute_position is not None and n.absolute_position.width > 0):
            out.append(n)
        stack.extend(reversed(_children(n)))
    return out



def tree_anchors(root: Any, cap: int = ANCHOR_CAP) -> list[Anchor]:
    """Elements whose own text (direct text children) is short, with their document boxes."""
    out: list[Anchor] = []
    stack = [root]
    while stack and len(out) < cap:
        n = stack.pop()
        kind = getattr(n.node_type, "value", n.node_type)
        if kind not in (1, 9, 11):
            continue
        name = (n.node_name or "").lower()
        if name in ("script", "style", "noscript", "template", "head"):
            continue
        if kind == 1 and n.is_visible is not False:
            own = " ".join((c.node_value or "").strip() for c in (n.children_nodes or ())
                           if getattr(c.node_type, "value", c.node_type) == 3 and (c.node_value or "").strip())
            rect = n.absolute_position
            if own and len(own) <= 80 and rect is not None and rect.width > 0 and rect.height > 0:
                out.append(Anchor(_collapse(own, 80), (float(rect.x), float(rect.y), float(rect.width),
                                                       float(rect.height))))
        stack.extend(reversed(_children(n, frames=True)))
    return out


def _intersects(bbox: tuple[float, float, float, float] | None, vp: tuple[float, float, float, float]) -> bool:
    if bbox is None:
        return False
    x, y, w, h = bbox
    vx, vy, vw, vh = vp
    return x < vx + vw and x + max(w, 1) > vx and y < vy + vh and y + max(h, 1) > vy


# ---------------------------------------------------------------- browser-use attachment


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


# ---------------------------------------------------------------- Playwright-side scan (fallback)

SCAN_SCRIPT = """
([limit, hints]) => {
  const sel = 'a[href],button,input:not([type=hidden]),select,textarea,summary,label,[role],[onclick],' +
              '[tabindex]:not([tabindex="-1"]),[contenteditable]:not([contenteditable=false]),img[alt],svg[aria-label]';
  const all = Array.from(document.querySelectorAll(sel));
  let checked = 0;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (++checked > 5000) break;
    if (!el.matches(sel) && getComputedStyle(el).cursor === 'pointer' &&
        !(el.parentElement && getComputedStyle(el.parentElement).cursor === 'pointer')) all.push(el);
  }
  // On a huge page the cap bites: elements whose text holds a phrase of the description come first,
  // then what is on screen, then the rest in document order.
  const low = hints.map(h => h.toLowerCase()).filter(h => h);
  const label = el => ((el.getAttribute('aria-label') || '') + ' ' + (el.getAttribute('placeholder') || '') + ' ' +
                       (el.getAttribute('title') || '') + ' ' + (el.textContent || '').slice(0, 300)).toLowerCase();
  const onScreen = el => { const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; };
  const first = [], second = [], rest = [];
  for (const el of all) {
    if (low.length && low.some(h => label(el).includes(h))) first.push(el);
    else if (second.length < limit && onScreen(el)) second.push(el);
    else if (rest.length < limit) rest.push(el);
  }
  const found = first.concat(second, rest);
  const txt = (el, cap) => ((el.innerText !== undefined ? el.innerText : el.textContent) || '')
      .replace(/\\s+/g, ' ').trim().slice(0, cap);
  const landmarks = {HEADER:'header', NAV:'nav', FOOTER:'footer', ASIDE:'aside', MAIN:'main', FORM:'form', DIALOG:'dialog'};
  const roles = {banner:'header', navigation:'nav', contentinfo:'footer', complementary:'aside', main:'main',
                 form:'form', dialog:'dialog', alertdialog:'dialog', search:'form'};
  const keep = ['id','class','name','type','placeholder','title','alt','value','href','src','role','aria-label',
                'aria-selected','aria-expanded','aria-checked','aria-pressed','aria-current','contenteditable',
                'for','tabindex','onclick','data-testid'];
  const out = []; const els = [];
  for (const el of found) {
    if (out.length >= limit) break;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none' || Number(cs.opacity) === 0) continue;
    const attrs = {};
    for (const k of keep) { const v = el.getAttribute(k); if (v !== null) attrs[k] = String(v).slice(0, 200); }
    if ((el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.value) attrs.value = String(el.value).slice(0, 200);
    let name = el.getAttribute('aria-label') || '';
    if (!name && el.labels && el.labels.length) name = txt(el.labels[0], 200);
    if (!name) name = el.getAttribute('alt') || el.getAttribute('title') || '';
    const own = txt(el, 300);
    if (!name && ['BUTTON','A','SUMMARY','OPTION','LABEL'].includes(el.tagName)) name = own.slice(0, 200);
    let context = '', p = el.parentElement;
    for (let i = 0; i < 4 && p; i++, p = p.parentElement) {
      const t = txt(p, 400);
      if (t.length > own.length) { context = t.length > 300 ? '' : t; break; }
    }
    let landmark = '';
    for (let a = el.parentElement, i = 0; a && i < 40; a = a.parentElement, i++) {
      if (landmarks[a.tagName]) { landmark = landmarks[a.tagName]; break; }
      const ro = (a.getAttribute('role') || '').toLowerCase();
      if (roles[ro]) { landmark = roles[ro]; break; }
    }
    const scrollable = (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(cs.overflowY)) ||
                       (el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(cs.overflowX));
    out.push({tag: el.tagName.toLowerCase(), role: (el.getAttribute('role') || ''), name, text: own, attrs,
              bbox: [r.left + scrollX, r.top + scrollY, r.width, r.height], editable: !!el.isContentEditable,
              context, landmark, scrollable});
    els.push(el);
  }
  const anchors = [];
  let walked = 0;
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (++walked > 20000 || anchors.length >= 4000) break;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(el.tagName)) continue;
    let own = '';
    for (const c of el.childNodes) if (c.nodeType === 3) own += c.nodeValue;
    own = own.replace(/\\s+/g, ' ').trim();
    if (!own || own.length > 80) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    anchors.push([own, r.left + scrollX, r.top + scrollY, r.width, r.height]);
  }
  return {out, els, anchors};
}
"""


async def scan_page(sandbox: PageSandbox, viewport: tuple[float, float, float, float], *,
                    limit: int = 3000, hints: list[str] | None = None,
                    ) -> tuple[list[Element], dict[int, ElementRef], str, list[Anchor]]:
    """The Playwright-side element scan over the whole document (fallback perception). `hints`
    (phrases of the description) keep matching elements in the list when the page is huge."""
    handle = await sandbox.call("element scan", sandbox.page.evaluate_handle(SCAN_SCRIPT, [limit, hints or []]))
    data = await sandbox.call("element scan", handle.evaluate("r => r.out"))
    raw_anchors = await sandbox.call("element scan", handle.evaluate("r => r.anchors"))
    anchors = [Anchor(str(a[0]), (float(a[1]), float(a[2]), float(a[3]), float(a[4]))) for a in raw_anchors]
    arr = await sandbox.call("element scan", handle.get_property("els"))
    elements: list[Element] = []
    refs: dict[int, ElementRef] = {}
    lines = []
    for i, d in enumerate(data):
        attrs = dict(d.get("attrs") or {})
        tag = str(d.get("tag") or "")
        bbox = tuple(float(v) for v in d.get("bbox") or ()) or None
        el = Element(index=i + 1, tag=tag, role=str(d.get("role") or ""), name=str(d.get("name") or ""),
                     text=str(d.get("text") or ""), attributes=attrs, bbox=bbox,  # type: ignore[arg-type]
                     in_viewport=_intersects(bbox, viewport),  # type: ignore[arg-type]
                     editable=bool(d.get("editable")) or is_editable(tag, attrs, str(d.get("role") or "")),
                     scrollable=bool(d.get("scrollable")), context=str(d.get("context") or ""),
                     landmark=str(d.get("landmark") or ""), source="playwright-scan")
        elements.append(el)
        refs[el.index] = ElementRef(scan=arr, scan_index=i)
        lines.append(f"[{el.index}]{el.summary(100)}" + ("" if el.in_viewport else " (off-screen)"))
    listing = "\n".join(lines)
    if len(listing) > LISTING_CAP:
        listing = listing[:LISTING_CAP] + "\n… (list cut)"
    return elements, refs, listing, anchors


# ---------------------------------------------------------------- the perception front door


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
