"""browser-use's DOM nodes read as locator Elements: text, context, landmark, look-alikes' cards, anchors.

Pure functions over browser-use's EnhancedDOMTreeNode tree (no browser, no CDP): browser_use_view.py
asks browser-use for the tree and hands its nodes here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from iwrbench.locate.element import Element, is_editable
from iwrbench.locate.spatial import Anchor
from iwrbench.perception.perceived import intersects

KEEP_ATTRIBUTES = ("id", "class", "name", "type", "placeholder", "title", "alt", "value", "href", "src", "role",
                   "aria-label", "aria-selected", "aria-expanded", "aria-checked", "aria-pressed", "aria-current",
                   "contenteditable", "for", "tabindex", "onclick", "data-testid", "label")
LANDMARK_TAGS = {"header": "header", "nav": "nav", "footer": "footer", "aside": "aside", "main": "main",
                 "form": "form", "dialog": "dialog"}
LANDMARK_ROLES = {"banner": "header", "navigation": "nav", "contentinfo": "footer", "complementary": "aside",
                  "main": "main", "form": "form", "dialog": "dialog", "alertdialog": "dialog", "search": "form"}
TEXT_CAP = 300
CONTEXT_CAP = 300


def _collapse(text: str, cap: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= cap else text[: cap - 1] + "…"


NO_TEXT = frozenset({"script", "style", "noscript", "template", "head"})  # elements whose text is never shown


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
        if name in NO_TEXT:
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
                   bbox=bbox, in_viewport=intersects(bbox, viewport),
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


def _walk(root: Any, *, frames: bool = False, skip: frozenset[str] = frozenset()) -> Iterator[tuple[Any, int]]:
    """(node, node type) of the element, document and fragment nodes under `root`, depth-first in document
    order; the subtrees of elements named in `skip` are not entered. A node's children are taken after
    the caller has seen it, so a caller that stops early walks no further."""
    stack = [root]
    while stack:
        n = stack.pop()
        kind = getattr(n.node_type, "value", n.node_type)
        if kind not in (1, 9, 11) or (n.node_name or "").lower() in skip:
            continue
        yield n, kind
        stack.extend(reversed(_children(n, frames=frames)))


ANCHOR_CAP = 4000
SVG_SHAPES = {"path", "rect", "g", "circle", "ellipse", "line", "polyline", "polygon", "use", "image", "text"}


def svg_listeners(root: Any, indexed: set[int], cap: int = 500) -> list[Any]:
    """SVG shapes with their own click listener. browser-use's serializer drops every SVG child as
    decorative; a chart whose bars are clickable needs them back (same tree, same node ids)."""
    out: list[Any] = []
    for n, kind in _walk(root):
        if len(out) >= cap:
            break
        if (kind == 1 and n.has_js_click_listener and (n.node_name or "").lower() in SVG_SHAPES
                and n.backend_node_id not in indexed and n.is_visible is not False
                and n.absolute_position is not None and n.absolute_position.width > 0):
            out.append(n)
    return out


def tree_anchors(root: Any, cap: int = ANCHOR_CAP) -> list[Anchor]:
    """Elements whose own text (direct text children) is short, with their document boxes."""
    out: list[Anchor] = []
    for n, kind in _walk(root, frames=True, skip=NO_TEXT):
        if len(out) >= cap:
            break
        if kind == 1 and n.is_visible is not False:
            own = " ".join((c.node_value or "").strip() for c in (n.children_nodes or ())
                           if getattr(c.node_type, "value", c.node_type) == 3 and (c.node_value or "").strip())
            rect = n.absolute_position
            if own and len(own) <= 80 and rect is not None and rect.width > 0 and rect.height > 0:
                out.append(Anchor(_collapse(own, 80), (float(rect.x), float(rect.y), float(rect.width),
                                                       float(rect.height))))
    return out
