"""The Playwright-side element scan: the fallback when browser-use cannot attach or answer in time.

It builds the same Element descriptors as browser-use's list (js/element_scan.js, run in the page) and
keeps a handle on the scanned elements so each can be reached again.
"""

from __future__ import annotations

from pathlib import Path

from iwrbench.locate.element import Element, is_editable
from iwrbench.locate.spatial import Anchor
from iwrbench.perception.perceived import LISTING_CAP, ElementRef, intersects
from iwrbench.sandbox.page_sandbox import PageSandbox

SCAN_SCRIPT = (Path(__file__).parent / "js" / "element_scan.js").read_text(encoding="utf-8")


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
                     in_viewport=intersects(bbox, viewport),  # type: ignore[arg-type]
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
