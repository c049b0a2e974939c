"""The offline assertion judge's decision: a verdict and its reason from one step's Evidence.

Verdicts:
- pass       the candidate reproduces enough of the recorded change (OCR-tolerant word matching),
             or, for a change without words (a highlight, a chart), changed the same screen region;
- fail       the recording changed clearly and the candidate did not change, changed the opposite
             way, or lacks a literal the recording shows; a typed text that is in no field;
- undecided  the evidence is thin: no readable change in the recording and none in the candidate,
             a change elsewhere on the screen, or a partial match. Scoring counts undecided as
             "does not hold" (see scoring/scores.py), so clear cases must be, and are, decided.

Pure: tested on constructed evidence (the judge, assertion_offline.py, gathers it).
"""

from __future__ import annotations

import re

from iwrbench.data.tasks import Action
from iwrbench.judges.change import (
    Reproduction,
    TokenChange,
    cell_overlap,
    reproduction,
    same_relative_order,
    shifted,
)
from iwrbench.judges.offline_checks import glyph_noise
from iwrbench.judges.offline_evidence import (
    BIG_TEXT_CHANGE,
    CLEAR_PIXELS,
    CLEAR_WORDS,
    FAIL_RATIO,
    MAGNITUDE_FAIL,
    MAGNITUDE_PASS,
    PASS_RATIO,
    REGION_OVERLAP,
    Evidence,
)
from iwrbench.judges.text_similarity import normalise


def decide(ev: Evidence) -> tuple[str, str]:
    """(verdict, reason) from the evidence. Pure: tested on constructed evidence."""
    a = ev.action
    if ev.typed_missing:
        return "fail", f"no field took the typed text {a.text!r}"
    if a.type == "Press" and FOCUS_MOVES.search(a.logical_assertion or "") and not ev.focus_changed \
            and ev.gt is not None:
        # "The keyboard focus moves up to the 'Section 3' header": a key that moves the focus, and the
        # page's focus did not move (its focus ring may still redraw, which is no evidence).
        return "fail", "the assertion says the focus moves; the page's focus stayed where it was"
    if ev.typed_masked and not ev.literals_missing:
        # A password field: the recording shows dots (read by OCR as anything: 'o0000'), the page's
        # field holds the typed text. That is the change the action makes.
        return "pass", "the typed text is in a masked (password) field"

    text_rep = reproduction(ev.gt.words, ev.text.words, any_number=ev.random_numbers) if ev.gt else None
    screen_rep = reproduction(ev.gt.words, ev.screen.words, any_number=ev.random_numbers) \
        if (ev.gt and ev.screen) else None
    best: Reproduction | None = max((r for r in (text_rep, screen_rep) if r is not None), key=lambda r: r.ratio,
                                    default=None)
    moved = _moved_as_asked(a, ev.scrolled)
    lit = f"; the assertion's {len(ev.literals_expected)} shown literal(s) are present" if ev.literals_expected else ""

    if ev.gt is None:
        if ev.literals_missing:
            return "fail", f"the assertion names {ev.literals_missing[0]!r}; the page does not show it"
        # No checkpoint for this step (data numbered over flagged actions only). The next step that has
        # one is compared over the whole span, so a wrong change here is still caught there.
        if ev.candidate_still:
            return "undecided", "no recorded checkpoint for this step and the page did not change"
        return "pass", f"no recorded checkpoint for this step; the page changed{lit}"

    if ev.gt_order is not None and ev.gt.words.weight < CLEAR_WORDS and a.type != "Scroll":
        # The recording re-ordered lines (a dragged item, a sorted column): the words did not change.
        # Decided here only when the page shows at least two of those lines; else as before.
        moved = " / ".join(ev.gt_order[:3])
        if ev.order is not None and len(set(ev.order) & set(ev.gt_order)) >= 2:
            if same_relative_order(ev.order, ev.gt_order):
                return "pass", f"the page re-ordered its lines as the recording did ({moved} ...)"
            return "fail", f"the page re-ordered its lines differently ({' / '.join(ev.order[:3])} ...)"
        if ev.order is None and len(set(_lines(ev.text.after_text)) & set(ev.gt_order)) >= 2:
            return "fail", f"the recording re-ordered its lines ({moved} ...); the page's kept their order"
    gt_words = 0.0 if glyph_noise(ev.gt.words, a.logical_assertion) or ev.gt_words_unchanged_here \
        or ev.gt_glyphs_not_here else ev.gt.words.weight
    gt_px = ev.gt.pixels.fraction if ev.gt.pixels else 0.0
    if ev.literals_missing and not (ev.candidate_still and (gt_words >= CLEAR_WORDS or gt_px >= CLEAR_PIXELS)):
        shown = ", ".join(repr(x) for x in ev.literals_missing[:3])
        return "fail", f"the recording shows {shown} after this action; the page does not"
    gt_clear = gt_words >= CLEAR_WORDS or gt_px >= CLEAR_PIXELS
    # A changed number is a clear change on its own: counters, totals, a calculator's display.
    words_clear = gt_words >= CLEAR_WORDS or (gt_words >= 1 and ev.gt.words.has_number)
    if gt_words == 0 and not ev.gt.words.is_empty():
        why = "still on the page, unchanged in its text" if ev.gt_words_unchanged_here else "glyph noise"
        ev.notes.append(f"the recording's changed words are {why} ({ev.gt.words.sample()}): "
                        "judged as a change without words")

    if a.type == "Scroll":
        if ev.scrolled != (0.0, 0.0) and not moved:
            return "fail", f"asked to scroll {a.direction}, the page scrolled by {ev.scrolled[0]:+.0f}, {ev.scrolled[1]:+.0f}"
        if ev.candidate_still or not (moved or (ev.text.pixels and ev.text.pixels.fraction >= CLEAR_PIXELS)):
            if gt_clear:
                return "fail", "the recorded view moved; the page's view did not"
            return "pass", "neither the recorded view nor the page's moved (end of the page)"
        if best is not None and best.ratio >= PASS_RATIO:
            return "pass", f"scrolled {a.direction}; {best.summary}{lit}"
        if ev.screen is not None and best is not None and best.ratio < FAIL_RATIO and gt_words >= 3 * CLEAR_WORDS:
            return "undecided", f"scrolled {a.direction}, but the view shows other content ({best.summary})"
        if ev.literals_expected:
            return "pass", f"scrolled {a.direction} and shows the recorded text{lit}"
        return "pass", f"scrolled {a.direction} as recorded"

    if ev.candidate_still:
        if gt_clear:
            what = f"words changed: {ev.gt.words.sample()}" if words_clear else \
                f"{gt_px:.1%} of the screen changed"
            return "fail", f"the recording changed ({what}); the page did not change at all"
        if ev.literals_expected:
            return "pass", f"neither the recording nor the page changed visibly{lit}"
        return "undecided", "neither the recording nor the page changed visibly; nothing to compare"

    if words_clear:
        assert best is not None
        if best.ratio >= PASS_RATIO:
            return "pass", f"{best.summary}{lit}"
        region = _region(ev)
        cand_px = ev.text.pixels.fraction if ev.text.pixels else None
        if ev.random_numbers and _only_numbers(ev.gt.words) and _numbers_moved(ev) and (
                cand_px is None or cand_px >= MAGNITUDE_PASS * gt_px):
            # A game's board: which numbers change, and where, depends on where its random tiles fell.
            return "pass", f"numbers changed as in the recording ({best.summary}){lit}"
        if (best.ratio >= FAIL_RATIO and region is not None and region >= REGION_OVERLAP
                and _precision(ev) >= PASS_RATIO):
            # OCR reads struck-through or re-ordered text unevenly: part of the recorded change, in the
            # recorded place, and nothing the recording did not do.
            return "pass", f"{best.summary}, in the recorded region{lit}"
        if best.ratio < FAIL_RATIO:
            if best.contrary:
                return "fail", f"the page changed the opposite way: {' '.join(best.contrary[:4])}"
            if ev.text.words.is_empty() and (ev.screen is None or ev.screen.words.is_empty()):
                return "fail", f"none of the recorded text changes happened ({ev.gt.words.sample()})"
            return "fail", f"the page changed differently: {best.summary}"
        return "undecided", f"partial match: {best.summary}"

    # The recording's change has (almost) no words: a highlight, a tick, a chart, a colour.
    cand_words = max(ev.text.words.weight, ev.screen.words.weight if ev.screen else 0.0)
    if cand_words >= BIG_TEXT_CHANGE and _precision(ev) < FAIL_RATIO:
        return "fail", (f"the recording's text barely changed, the page's changed a lot "
                        f"({ev.text.words.sample() if ev.text.words.weight else ev.screen.words.sample()})")
    if best is not None and gt_words > 0 and best.ratio >= PASS_RATIO and (
            not ev.gt.pixels or gt_px < CLEAR_PIXELS or (_region(ev) or 0) >= REGION_OVERLAP):
        return "pass", f"{best.summary}{lit}"
    if gt_px >= CLEAR_PIXELS:
        cand_px = ev.text.pixels.fraction if ev.text.pixels else None
        region = _region(ev)
        if cand_px is None or region is None:
            return "undecided", "the recording changed without words; the page's screenshots are missing"
        if cand_px < MAGNITUDE_FAIL * gt_px and not (ev.inputs_changed and a.type == "Click"):
            return "fail", (f"the recording's screen changed by {gt_px:.1%}; the page's barely changed "
                            f"({cand_px:.2%})")
        if region >= REGION_OVERLAP and cand_px >= MAGNITUDE_PASS * gt_px:
            return "pass", f"the screen changed where the recording changed ({region:.0%} of that region){lit}"
        if ev.inputs_changed and a.type == "Click":
            return "pass", f"the form state changed ({', '.join(ev.inputs_changed[:2])}){lit}"
        return "undecided", f"the page changed, but not like the recording ({region:.0%} of its region)"
    mentioned = _mentioned_lines(ev)
    if mentioned:
        return "pass", f"the recording barely changed; the page now shows {mentioned[0]!r}, as the assertion says"
    if ev.literals_expected:
        return "pass", f"the recording barely changed; the page changed and{lit[1:]}"
    cand_px = ev.text.pixels.fraction if ev.text.pixels else None
    region = _region(ev)
    if gt_px > 0 and cand_px is not None and cand_px >= MAGNITUDE_PASS * gt_px and region is not None \
            and region >= REGION_OVERLAP:
        return "pass", f"a small change ({cand_px:.2%} of the screen) where the recording's ({gt_px:.2%}) was"
    return "undecided", "the recording barely changed visibly; nothing to compare the page's change with"


FOCUS_MOVES = re.compile(r"\bfocus(?:ed)?\b[^.;]{0,30}\b(?:moves?|goes|jumps|shifts|lands?|is now|passes)\b|"
                         r"\b(?:moves?|gets|receives|takes|has)\s+(?:the\s+)?(?:keyboard\s+)?focus\b", re.IGNORECASE)


def _lines(text: str) -> list[str]:
    return [x for x in (normalise(line) for line in text.replace("\t", "\n").splitlines()) if x]


def _only_numbers(change: TokenChange) -> bool:
    toks = set(change.appeared) | set(change.disappeared)
    return bool(toks) and all(t.isdigit() for t in toks)


def _numbers_moved(ev: Evidence) -> bool:
    """The page's numbers changed too: one appeared or disappeared on its text or on its screen."""
    return any(t.isdigit() for side in (ev.text, ev.screen) if side is not None
               for t in (*side.words.appeared, *side.words.disappeared))



def _mentioned_lines(ev: Evidence) -> list[str]:
    """Short new lines of the candidate's text that the assertion itself quotes ('shows 7+')."""
    said = f" {normalise(ev.action.logical_assertion)} "
    out = []
    for line in ev.text.new_lines:
        if 1 <= len(line) <= 40 and re.search(r"(?<![\w])" + re.escape(line) + r"(?![\w])", said):
            out.append(line)
    return out


def _precision(ev: Evidence) -> float:
    """Share of the candidate's own text change that the recording also shows (1.0 when it has none)."""
    assert ev.gt is not None
    shares = [reproduction(side.words, ev.gt.words, any_number=ev.random_numbers).ratio for side in (ev.text, ev.screen)
              if side is not None and not side.words.is_empty()]
    return max(shares, default=1.0)


def _region(ev: Evidence) -> float | None:
    """Share of the recording's changed region that the page changed too; on a page laid out differently,
    the region is first moved as the text lines around it moved."""
    if ev.gt is None or ev.gt.pixels is None or ev.text.pixels is None:
        return None
    here = cell_overlap(ev.gt.pixels, ev.text.pixels)
    if ev.gt_shift is None:
        return here
    return max(here, cell_overlap(shifted(ev.gt.pixels, *ev.gt_shift), ev.text.pixels))


def _moved_as_asked(a: Action, scrolled: tuple[float, float]) -> bool:
    dx, dy = scrolled
    return {"down": dy > 0, "up": dy < 0, "right": dx > 0, "left": dx < 0}.get(a.direction, dy != 0 or dx != 0)

