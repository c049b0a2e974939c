"""What one look at the page yields: the elements, how to reach each again, and the listing a model reads.

Both ways of looking (browser-use's element list, browser_use_view.py; the Playwright scan, page_scan.py)
produce these, so they live apart from either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from iwrbench.locate.element import Element
from iwrbench.locate.spatial import Anchor

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


def intersects(bbox: tuple[float, float, float, float] | None, vp: tuple[float, float, float, float]) -> bool:
    if bbox is None:
        return False
    x, y, w, h = bbox
    vx, vy, vw, vh = vp
    return x < vx + vw and x + max(w, 1) > vx and y < vy + vh and y + max(h, 1) > vy
