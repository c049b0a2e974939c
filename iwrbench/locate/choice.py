"""Ranking every element for a description and choosing one, or none when no match is clear.

`rank` scores all elements (scoring.py) with what only the whole page can tell: neighbours placed
by their boxes (spatial.py), references resolved to other elements, containers that merely hold
the quoted label, controls whose surroundings span several rows, sizes. `choose` then decides: an
ordinal among look-alikes, a position word among elements only their place tells apart, identical
twins, or a refusal when two different elements match about equally well.
"""

from __future__ import annotations

from collections.abc import Sequence

from iwrbench.locate.description import SPATIAL_RELATIONS, Query, parse_description
from iwrbench.locate.element import Element
from iwrbench.locate.protocol import Choice
from iwrbench.locate.scoring import Scored, has_word, label_fields, phrase_score, score_element
from iwrbench.locate.spatial import Anchor, AnchorSource, spatial_scores
from iwrbench.locate.words import STOP, normalize, tokens

MIN_SCORE = 3.0  # below this nothing matches the description well enough to act on
STRONG = 8.0  # a score only an element whose own label the description quotes or names reaches
MARGIN = 1.0  # the best must beat the runner-up by this much unless the two are equivalent


def reading_order(e: Element) -> tuple[float, float, int]:
    if e.bbox is None:
        return (float("inf"), float("inf"), e.index)
    x, y, _w, h = e.bbox
    return (round((y + h / 2) / 12.0), x, e.index)


def _equivalent(a: Element, b: Element) -> bool:
    """Two elements a user could not tell apart by the description: the same label and role, or the
    same label on an element and its own wrapper (a menu item and the div inside it). Elements without
    any label are never twins: nothing says they are the same thing."""
    la, lb = normalize(a.label()), normalize(b.label())
    if not la or la != lb:
        return False
    return a.kind == b.kind or _nested(a, b)


def _nested(a: Element, b: Element) -> bool:
    if a.bbox is None or b.bbox is None:
        return False
    def inside(x: tuple[float, float, float, float], y: tuple[float, float, float, float]) -> bool:
        return x[0] >= y[0] - 1 and x[1] >= y[1] - 1 and x[0] + x[2] <= y[0] + y[2] + 1 and x[1] + x[3] <= y[1] + y[3] + 1
    return inside(a.bbox, b.bbox) or inside(b.bbox, a.bbox)


def rank(action_type: str, description: str, elements: Sequence[Element], *,
         typed_text: str | None = None, anchors: AnchorSource = None, ignore: Sequence[str] = (),
         ) -> tuple[Query, list[Scored]]:
    q = parse_description(description, typed_text=typed_text, ignore=ignore)
    extent = (max((e.bbox[0] + e.bbox[2] for e in elements if e.bbox), default=1.0),
              max((e.bbox[1] + e.bbox[3] for e in elements if e.bbox), default=1.0))
    spatial: dict[tuple[str, str], dict[int, float]] = {}
    wanted = [(p, r) for p, r in q.context_quoted if r in SPATIAL_RELATIONS]
    if wanted and anchors is not None:
        found = list(anchors() if callable(anchors) else anchors)
        for phrase, relation in wanted:
            spatial[(phrase, relation)] = spatial_scores(phrase, relation, elements, found)
    for phrase, relation in q.context_refs:
        # Where "the new todo field" or "the draft" is: the element that clearly is it, and the texts
        # that name it ("Draft of 'X'", when the draft itself is no interactive element).
        ref = resolve_reference(phrase, elements)
        spots = [Anchor(phrase, ref.bbox)] if ref is not None and ref.bbox is not None else []
        if anchors is not None:
            want = [w for w in tokens(phrase) if w not in STOP]
            found = list(anchors() if callable(anchors) else anchors)
            named = [Anchor(phrase, a.bbox) for a in found if want and all(w in tokens(a.text) for w in want)]
            spots += named if len(named) <= 6 else []
        if spots:
            others = [e for e in elements if ref is None or e.index != ref.index]
            spatial[(phrase, relation)] = spatial_scores(phrase, relation, others, spots)
    present = frozenset(w for w in q.words if any(has_word(w, e) for e in elements))
    scored = [score_element(q, e, action_type, extent, spatial, present) for e in elements]
    scored = _inner_first(q, scored)
    scored = _rows_before_spans(q, scored)
    if q.size:
        scored = _by_size(q.size, scored)
    scored.sort(key=lambda s: (-s.score, not s.element.in_viewport, reading_order(s.element)))
    return q, scored


def _by_size(size: str, scored: list[Scored]) -> list[Scored]:
    """"The big text box" / "the small ×": among the elements that match best, the largest (smallest)
    gets 2 points, and so does any other within 10 % of its area; the rest nothing."""
    top = max((s.score for s in scored), default=0.0)
    near = [s for s in scored if s.score > top - 3.0 and s.element.bbox and s.element.bbox[2] * s.element.bbox[3] > 0]
    if len(near) < 2:
        return scored
    areas = {id(s): s.element.bbox[2] * s.element.bbox[3] for s in near}
    big, small = max(areas.values()), min(areas.values())
    out = []
    for s in scored:
        if id(s) in areas:
            share = areas[id(s)] / big if size == "large" else small / areas[id(s)]
            if share >= 0.9:
                s = Scored(s.element, round(s.score + 2.0, 3), s.why + f", {size} 2.0")
        out.append(s)
    return out


def resolve_reference(phrase: str, elements: Sequence[Element]) -> Element | None:
    """The element a reference in words names ("the new todo field"), when one matches it clearly."""
    q = parse_description(f"the {phrase}")
    if not (q.words or q.roles or q.named):
        return None
    extent = (1.0, 1.0)
    scored = sorted((score_element(q, e, "Click", extent) for e in elements), key=lambda x: -x.score)
    if not scored or scored[0].score < MIN_SCORE:
        return None
    if len(scored) > 1 and scored[1].score > scored[0].score - MARGIN:
        return None
    return scored[0].element


def _containers_last(scored: list[Scored], margin: float) -> list[Scored]:
    """Among the elements that match about equally well, one that holds another of them (a card
    around its icon, a list item around its link) is what the user did not name: it goes behind them."""
    if len(scored) < 2:
        return scored
    top = scored[0].score
    near = [s for s in scored if s.score > top - margin and s.element.bbox is not None]
    holders = {id(s) for s in near if any(o is not s and _box_inside(o.element.bbox, s.element.bbox) for o in near)}
    if not holders or len(holders) == len(near):
        return scored
    return [s for s in scored if id(s) not in holders] + [s for s in scored if id(s) in holders]


def _rows_before_spans(q: Query, scored: list[Scored]) -> list[Scored]:
    """"The checkbox of 'Feed the cat'": a control whose surroundings span several rows (the list's
    mark-all box, whose context is every todo) loses 3 points to the one whose own row names the
    phrase. A context spans rows when it holds most of the words that set another row of the same
    kind apart (that row's context, less the phrase and what every such context shares)."""
    phrases = [p for p, rel in q.context_quoted if rel not in SPATIAL_RELATIONS]
    if not phrases or len(scored) < 2:
        return scored
    around = {s.element.index: set(tokens(s.element.context)) for s in scored if s.element.context}
    said_by = {phrase: set(tokens(phrase)) for phrase in phrases}
    out = []
    for s in scored:
        e = s.element
        mine = around.get(e.index, set())
        for phrase in phrases:
            said = said_by[phrase]
            if not mine or not said <= mine:
                continue
            kin = [around[o.element.index] for o in scored
                   if o.element.index != e.index and o.element.kind == e.kind and o.element.index in around]
            others = [k for k in kin if not said <= k]
            if not others:
                continue
            shared = set.intersection(mine, *kin)
            if any(len(apart) >= 2 and 2 * len(apart & mine) >= len(apart)
                   for apart in ({t for t in k - said - shared if len(t) >= 3} for k in others)):
                s = Scored(e, round(s.score - 3.0, 3), s.why + ", spans other rows -3")
                break
        out.append(s)
    return out


def _inner_first(q: Query, scored: list[Scored]) -> list[Scored]:
    """A container whose text merely includes the quoted label (a results list, a card) loses 4 points
    to an element inside it whose own label is that quote: the user named the inner one."""
    if not q.quoted:
        return scored
    exact = [s.element for s in scored if any(phrase_score(p, label_fields(s.element)) >= 9.5 for p in q.quoted)]
    out = []
    for s in scored:
        e = s.element
        if e.bbox is not None and e not in exact and any(
                x.bbox is not None and x.index != e.index and _box_inside(x.bbox, e.bbox) for x in exact):
            s = Scored(e, round(s.score - 4.0, 3), s.why + ", holds the exact match -4")
        out.append(s)
    return out


def _box_inside(inner: tuple[float, float, float, float], outer: tuple[float, float, float, float]) -> bool:
    return (inner[0] >= outer[0] - 1 and inner[1] >= outer[1] - 1 and inner[0] + inner[2] <= outer[0] + outer[2] + 1
            and inner[1] + inner[3] <= outer[1] + outer[3] + 1 and inner[2] * inner[3] < outer[2] * outer[3])


def _look_alikes(group: list[Scored]) -> bool:
    """Elements a user tells apart only by where they are: the same tag, kind and label (none, often: a
    slider's handles) and about the same size. Classes are not compared: a focused or hovered one gains some."""
    first = group[0].element
    if first.bbox is None:
        return False
    for s in group[1:]:
        e = s.element
        if e.bbox is None or e.tag.lower() != first.tag.lower() or e.kind != first.kind \
                or normalize(e.label()) != normalize(first.label()):
            return False
        if any(abs(a - b) > 0.2 * max(a, b, 1.0) for a, b in zip(e.bbox[2:], first.bbox[2:], strict=True)):
            return False
    return True


AXES = {"left": (0, False), "right": (0, True), "top": (1, False), "bottom": (1, True)}


def _extreme_look_alike(positions: Sequence[str], group: list[Scored]) -> Scored | None:
    """"The left handle of the slider", "the up arrow in the top row": among look-alikes (nothing but
    their place tells them apart), the position word picks the one furthest that way,
    when it is clearly further than the others (a fifth of the spread between them)."""
    axis = next((AXES[p] for p in positions if p in AXES), None)
    if axis is None or not _look_alikes(group):
        return None
    dim, far = axis
    def centre(s: Scored) -> float:
        b = s.element.bbox
        assert b is not None
        return b[dim] + b[dim + 2] / 2
    ordered = sorted(group, key=centre, reverse=far)
    gap = abs(centre(ordered[0]) - centre(ordered[1]))
    spread = abs(centre(ordered[0]) - centre(ordered[-1]))
    return ordered[0] if gap > 2 and gap >= 0.2 * spread else None


def choose(action_type: str, description: str, elements: Sequence[Element], *,
           typed_text: str | None = None, min_score: float = MIN_SCORE, margin: float = MARGIN,
           anchors: AnchorSource = None, ignore: Sequence[str] = ()) -> Choice:
    """Pick the element a description names, or None when no match is clear (deterministic)."""
    if not elements:
        return Choice(None, "offline", reason="the page has no interactive elements", candidates=0)
    q, scored = rank(action_type, description, elements, typed_text=typed_text, anchors=anchors, ignore=ignore)
    scored = _containers_last(scored, margin)
    best = scored[0]
    alts = tuple(f"{s.element.summary(40)} {s.score:.1f}" for s in scored[:3])
    if best.score < min_score:
        return Choice(None, "offline", reason=f"no element matches the description well enough "
                                              f"(best score {best.score:.1f} < {min_score})",
                      score=best.score, candidates=len(elements), alternatives=alts)
    if q.ordinal is not None:
        group = [s for s in scored if s.score >= best.score - margin]
        # "the icon of the first card": the first of the best match's look-alikes; cards around them
        # and other kinds of elements are not counted.
        group = [s for s in group if not any(o is not s and o.element.bbox and s.element.bbox
                                             and _box_inside(o.element.bbox, s.element.bbox) for o in group)]
        alike = [s for s in group if s.element.kind == best.element.kind
                 and normalize(s.element.label()) == normalize(best.element.label())]
        group = alike if len(alike) > 1 else group
        group.sort(key=lambda s: reading_order(s.element))
        pick = q.ordinal - 1 if q.ordinal > 0 else len(group) + q.ordinal
        if len(group) == 1 and (q.quoted or q.named) and best.score >= STRONG:
            # "the third tab, 'Aenean lacinia'": the text names one element; the ordinal only says
            # where it sits among its kind.
            pick = 0
        if not 0 <= pick < len(group):
            return Choice(None, "offline", reason=f"description asks for item {q.ordinal} of {len(group)} matches",
                          score=best.score, candidates=len(elements), alternatives=alts)
        chosen = group[pick]
        return Choice(chosen.element, "offline", reason=f"{'last' if q.ordinal < 0 else q.ordinal} of "
                                                        f"{len(group)} matches; {chosen.why}",
                      score=chosen.score, candidates=len(elements),
                      runner_up=None, alternatives=alts)
    rivals = [s for s in scored[1:] if s.score > best.score - margin]
    # A container of the chosen element (its card, its list item) is no rival: it is the same click.
    rivals = [s for s in rivals if not (s.element.bbox and best.element.bbox
                                        and _box_inside(best.element.bbox, s.element.bbox))]
    distinct = [s for s in rivals if not _equivalent(s.element, best.element)]
    if distinct and q.positions:
        extreme = _extreme_look_alike(q.positions, [best, *rivals])
        if extreme is not None:
            return Choice(extreme.element, "offline", reason=f"the {q.positions[0]}most of {len(rivals) + 1} "
                                                              f"look-alikes; {extreme.why}",
                          score=extreme.score, candidates=len(elements), runner_up=best.score, alternatives=alts)
    if distinct:
        return Choice(None, "offline", reason=f"ambiguous: {len(distinct) + 1} elements match about equally well",
                      score=best.score, candidates=len(elements),
                      runner_up=distinct[0].score, alternatives=alts)
    runner = scored[1].score if len(scored) > 1 else None
    note = f"; {len(rivals)} identical twin(s), took the first in reading order" if rivals else ""
    return Choice(best.element, "offline", reason=best.why + note, score=best.score, candidates=len(elements),
                  runner_up=runner, alternatives=alts)
