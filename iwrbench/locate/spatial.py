"""Where elements sit relative to a visible text: "next to 'Milk'", "the bar above 'Dec'".

An `Anchor` is a short visible text with its box; `spatial_scores` rates every element by how
well it sits in a relation (near, above, below, left, right) to the anchors that read a phrase.
Box geometry only, apart from the description and the scoring rules that use its figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iwrbench.locate.element import Element
from iwrbench.locate.scoring import phrase_score
from iwrbench.locate.words import normalize


@dataclass(frozen=True)
class Anchor:
    """A short piece of visible text and its box (document coordinates): what "next to 'Milk'" or
    "the bar above 'Dec'" points at when the neighbour is not itself interactive."""

    text: str
    bbox: tuple[float, float, float, float]


AnchorSource = Sequence[Anchor] | Callable[[], Sequence[Anchor]] | None


def _gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float], relation: str) -> float:
    """Distance between two boxes; misalignment across the relation's axis counts double."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = max(0.0, bx - (ax + aw), ax - (bx + bw))
    dy = max(0.0, by - (ay + ah), ay - (by + bh))
    if relation in ("above", "below"):
        dx *= 2
    elif relation in ("left", "right"):
        dy *= 2
    return (dx * dx + dy * dy) ** 0.5


def _direction_ok(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> bool:
    ex, ey = e[0] + e[2] / 2, e[1] + e[3] / 2
    ax, ay = a[0] + a[2] / 2, a[1] + a[3] / 2
    return {"above": ey < ay, "below": ey > ay, "left": ex < ax, "right": ex > ax}.get(relation, True)


def spatial_scores(phrase: str, relation: str, elements: Sequence[Element], anchors: Sequence[Anchor],
                   ) -> dict[int, float]:
    """Score (0-7) how well each element sits `relation` of visible text `phrase`; the nearest gets 7."""
    q = normalize(phrase)
    spots = [a.bbox for a in anchors if normalize(a.text) == q]
    if not spots:
        spots = [a.bbox for a in anchors if phrase_score(phrase, [normalize(a.text)]) >= 8.5]
    if not spots:
        return {}
    dist: dict[int, float] = {}
    for e in elements:
        if e.bbox is None:
            continue
        ds = [_gap(e.bbox, a, relation) * _off_line(e.bbox, a, relation) for a in spots
              if _direction_ok(e.bbox, a, relation) and not _contains(e.bbox, a) and _aligned(e.bbox, a, relation)]
        if ds:
            dist[e.index] = min(ds)
    if not dist:
        return {}
    if relation in ("near", "left", "right"):
        # Something on the text's own line is what "next to" / "left of" means; only without one does an
        # element above or below it count (a field under its label).
        on_line = {e.index for e in elements if e.index in dist and e.bbox is not None
                   and any(_off_line(e.bbox, a, "near") == 1.0 for a in spots)}
        if on_line:
            dist = {i: d for i, d in dist.items() if i in on_line}
    best = min(dist.values())
    return {i: round(7.0 * (best + 20.0) / (d + 20.0), 3) for i, d in dist.items()}


def _aligned(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> bool:
    """Whether an element can be said to sit `relation` of a text: beside it on its line (near, left,
    right) or in its column (above, below), or else right against it. The checkbox of the next row is
    not "next to 'Walk the dog'", even when the one beside it is missing."""
    ex, ey, ew, eh = e
    ax, ay, aw, ah = a
    tol = 0.5 * min(eh, ah)
    same_line = ey < ay + ah - tol and ey + eh > ay + tol
    same_column = ex < ax + aw and ex + ew > ax
    close = _gap(e, a, "near") <= 0.5 * max(eh, ah)
    if relation in ("above", "below"):
        return same_column or close
    if relation in ("left", "right"):
        return same_line or close
    return same_line or close or (same_column and _gap(e, a, "near") <= 1.5 * max(eh, ah))


def _off_line(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> float:
    """"Next to" reads along a line: an element above or below the text counts as three times as far."""
    if relation != "near":
        return 1.0
    tol = 0.5 * min(e[3], a[3])
    return 1.0 if e[1] < a[1] + a[3] - tol and e[1] + e[3] > a[1] + tol else 3.0


def _contains(outer: tuple[float, float, float, float], inner: tuple[float, float, float, float]) -> bool:
    """A box around the anchor (a whole card) is not "next to" it."""
    ox, oy, ow, oh = outer
    ix, iy, iw, ih = inner
    return ox <= ix and oy <= iy and ox + ow >= ix + iw and oy + oh >= iy + ih and ow * oh > 4 * iw * ih
