"""The offline assertion judge: did the candidate page change the way the recording changed?

No model reads the assertion. The judge compares two changes across the action:
- the recording's: words that appear or disappear between the ground-truth checkpoints before and
  after the action (OCR, cached once per dataset), and where the screen changed;
- the candidate's: words that appear or disappear in its visible text and form values
  (document.body.innerText plus input values), and where its screenshot changed. When that text
  is not conclusive (a scroll or a re-sorted table, which innerText cannot see) the words on the
  candidate's screen are compared too: first the text the DOM shows in the viewport (a few ms), and
  only when that is not conclusive either (text drawn on a canvas or in an image) its screenshots
  read by OCR (about a second a picture), so both sides are compared in the same terms.
It also checks the assertion's own literals (quoted strings, amounts): those the recording shows after
the action must be shown by the candidate.

Verdicts:
- pass       the candidate reproduces enough of the recorded change (OCR-tolerant word matching),
             or, for a change without words (a highlight, a chart), changed the same screen region;
- fail       the recording changed clearly and the candidate did not change, changed the opposite
             way, or lacks a literal the recording shows; a typed text that is in no field;
- undecided  the evidence is thin: no readable change in the recording and none in the candidate,
             a change elsewhere on the screen, or a partial match. Scoring counts undecided as
             "does not hold" (see scoring.py), so clear cases must be, and are, decided.

Checkpoint numbering: the change is measured from the nearest earlier checkpoint the data has (k-1
normally; further back when steps have no checkpoint), and the candidate's side over the same span.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Action, Task
from iwrbench.judges.base import OFFLINE_SOURCE, action_of, not_executed, verdict
from iwrbench.judges.behind import run_behind
from iwrbench.judges.change import (
    PixelChange,
    Reproduction,
    TokenChange,
    assertion_literals,
    cell_overlap,
    layout_offset,
    literal_count,
    literal_present,
    numbers_diverged,
    pixel_change,
    reordered,
    reproduction,
    same_relative_order,
    shifted,
    token_change,
)
from iwrbench.judges.ocr import OcrCache, OcrError
from iwrbench.judges.text_similarity import normalise, token_counts, tokens
from iwrbench.records.evaluation import Verdict
from iwrbench.replay.states import PageState, ReplayStep

log = logging.getLogger("iwrbench.judges.offline")

PASS_RATIO = 0.5  # share of the recorded change the candidate must reproduce
FAIL_RATIO = 0.2  # below this (with a clear recorded change) the candidate did something else
CLEAR_WORDS = 2.0  # weight of changed words that makes a recorded change "clear"
CLEAR_PIXELS = 0.002  # share of changed pixels that makes a wordless change "clear"
TINY_PIXELS = 0.0003  # below this the candidate's screen did not change
REGION_OVERLAP = 0.3  # share of the recorded change region the candidate must also change
LAYOUT_MOVED = 0.02  # a layout offset below this share of the screen is no move (OCR boxes jitter)
MAGNITUDE_PASS = 0.25  # a wordless change must be at least this share of the recorded one ...
BIG_TEXT_CHANGE = 8.0  # changed-word weight that is a different page state, not a highlight
MAGNITUDE_FAIL = 0.1  # ... and below this share it is no change (a focus ring, a hover)
CHECKBOX_VALUES = {"checked", "unchecked"}
TYPED_MARK = "[typed]"  # js/page_state.js marks a masked password field that holds the typed text
MASKED = re.compile(r"\u2022*( \[typed\])?")


@dataclass
class Side:
    """One side's change across the action."""

    words: TokenChange
    pixels: PixelChange | None = None
    after_text: str = ""  # everything the side shows after the action, for literal checks
    new_lines: list[str] = field(default_factory=list)  # normalised lines that appeared
    before_text: str = ""


@dataclass
class Evidence:
    action: Action
    gt: Side | None  # None: the data has no checkpoint pair for this step
    gt_span: tuple[int, int] | None
    text: Side  # candidate: innerText + form values
    screen: Side | None = None  # candidate: the words on its screen (only when needed), read from ...
    screen_source: str = ""  # ... the DOM ("viewport text") or its screenshots ("screenshots by OCR")
    inputs_changed: list[str] = field(default_factory=list)
    scrolled: tuple[float, float] = (0.0, 0.0)
    focus_changed: bool = False
    literals_expected: list[str] = field(default_factory=list)  # literals the recording shows after
    literals_missing: list[str] = field(default_factory=list)  # ... that the candidate does not show
    typed_missing: bool = False
    random_numbers: bool = False  # the recording's numbers are the page's random state (numbers_diverged)
    typed_masked: bool = False  # a Type whose text went into a masked (password) field
    # every word the recording's OCR saw change is in the page's text before and after, as often: OCR
    # lost or found text whose contrast changed (a field greyed out), not text that changed
    gt_words_unchanged_here: bool = False
    gt_glyphs_not_here: bool = False  # glyphs_not_in_text: the recorded change is OCR of icons, not text
    gt_order: list[str] | None = None  # the recording's lines in their new order, when only their order changed
    # how far the page's layout moved the recording's changed region (shares of the screen), when the
    # change is elsewhere on the page than on the recording (layout_offset of the lines near it)
    gt_shift: tuple[float, float] | None = None
    order: list[str] | None = None  # the page's, likewise
    notes: list[str] = field(default_factory=list)

    @property
    def candidate_still(self) -> bool:
        """Nothing at all moved on the candidate: text, fields, scroll, focus and pixels. A change of
        pixels below TINY_PIXELS still counts when the recording's own change was as small (a spinner
        greyed out, a thin outline) and the page's is of the same order."""
        px = self.text.pixels
        gt_px = self.gt.pixels.fraction if self.gt is not None and self.gt.pixels is not None else 0.0
        small_alike = px is not None and 0 < gt_px < CLEAR_PIXELS and px.fraction >= MAGNITUDE_PASS * gt_px > 0
        return (self.text.words.is_empty() and not self.inputs_changed and self.scrolled == (0.0, 0.0)
                and not self.focus_changed and (px is None or px.fraction < TINY_PIXELS) and not small_alike)


# ---------------------------------------------------------------- candidate text


FIELD_CLAIM = re.compile(
    r"\b(?:field|input|(?:text|search|input|edit|entry|combo)[ -]?box|textarea|search bar|editor)\b(?:(?!\band\b|\bbut\b)[^.;,]){0,40}?\b(?:now\s+)?"
    r"(?:reads|shows|contains|displays|holds|says|is set to|is filled with)\s+(?:the\s+(?:text|value)\s+)?"
    r"['\"\u2018\u201c]([^'\"\u2019\u201d]{1,120})['\"\u2019\u201d]", re.IGNORECASE)


def field_claims(assertion: str) -> list[str]:
    """Values the assertion says a form field holds: "the search box reads 'laptop'" -> ['laptop']."""
    return [m.group(1).strip() for m in FIELD_CLAIM.finditer(assertion or "") if m.group(1).strip()]


def masked(value: str) -> bool:
    """A password field's value as the replay records it: bullets, and '[typed]' when it holds the text
    the action typed."""
    return bool(MASKED.fullmatch(value))


def visible_text(state: PageState) -> str:
    """innerText plus the values shown in text fields (checkbox states and masked passwords are not
    words on screen)."""
    values = [v for v in state.inputs.values() if v and v not in CHECKBOX_VALUES and not masked(v)]
    return "\n".join([state.text, *values])


def new_lines(before: str, after: str) -> list[str]:
    """Normalised non-empty lines of `after` that `before` does not have (as many times)."""
    had = Counter(normalise(x) for x in before.splitlines())
    out = []
    for line in after.splitlines():
        key = normalise(line)
        if not key:
            continue
        if had[key] > 0:
            had[key] -= 1
        else:
            out.append(key)
    return out


def changed_inputs(before: PageState, after: PageState) -> list[str]:
    keys = set(before.inputs) | set(after.inputs)
    return sorted(k for k in keys if before.inputs.get(k, "") != after.inputs.get(k, ""))


def typed_text_present(action: Action, before: PageState, after: PageState) -> bool:
    """A Type action's text must now be in a field whose value changed (or newly in editable text)."""
    want = normalise(action.text or "")
    if not want:
        return True
    changed = [after.inputs.get(k, "") for k in changed_inputs(before, after)]
    if any(want in normalise(v) or (masked(v) and v.endswith(TYPED_MARK)) for v in changed):
        return True
    return normalise(after.text).count(want) > normalise(before.text).count(want)


# ---------------------------------------------------------------- the decision


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


def ocr_view_only(change: TokenChange, before: str, after: str, assertion: str) -> bool:
    """The recorded change is only words the page shows unchanged, before and after: OCR of a greyed-out
    or re-coloured text, not a change of the text (an assertion that names them, "still shows 6", is
    then true of the page as it is)."""
    toks = set(change.appeared) | set(change.disappeared)
    if not toks:
        return False
    cb, ca = token_counts(before), token_counts(after)
    return all(cb.get(t, 0) > 0 and cb.get(t) == ca.get(t) for t in toks)


def glyphs_not_in_text(change: TokenChange, before: str, after: str, assertion: str) -> bool:
    """The recorded change is only one- and two-character tokens (digits too) that the assertion does
    not mention and that the page's own text never shows, before or after: OCR reading a radio button's
    ring as '1' and its filled dot as '4', not a counter (a counter's digits are text on the page)."""
    toks = set(change.appeared) | set(change.disappeared)
    if not toks or any(len(t) > 2 for t in toks) or toks & set(tokens(assertion or "")):
        return False
    seen = token_counts(before) + token_counts(after)
    return not any(seen.get(t) for t in toks)


def glyph_noise(change: TokenChange, assertion: str) -> bool:
    """The recorded change is only one- and two-character tokens the assertion does not mention:
    OCR reading a toolbar's icons a little differently once one is highlighted ('-u -1'), not words
    that appeared or went away."""
    toks = set(change.appeared) | set(change.disappeared)
    said = set(tokens(assertion or ""))
    # A number alone is a real change (a counter, a total); letters read off icons are not.
    return (bool(toks) and all(len(t) <= 2 for t in toks) and any(not t.isdigit() for t in toks)
            and not toks & said)


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


# ---------------------------------------------------------------- the judge


class OfflineAssertionJudge:
    """Deterministic judge from the data alone. Share one instance across tasks (it keeps the last
    few tasks' page states to measure changes over steps that have no checkpoint of their own)."""

    source = OFFLINE_SOURCE

    def __init__(self, ocr: OcrCache | None = None, *, remember_tasks: int = 16):
        self.ocr = ocr or OcrCache()
        self._states: OrderedDict[str, dict[int, PageState]] = OrderedDict()
        self._remember = remember_tasks

    # -- memory of earlier states (the state before action i, per task)

    def note(self, task: Task, step: ReplayStep) -> None:
        states = self._states.setdefault(task.id, {})
        if step.record.index == 1:
            states.clear()
        states[step.record.index] = step.before
        self._states.move_to_end(task.id)
        while len(self._states) > self._remember:
            self._states.popitem(last=False)

    def _state_after(self, task: Task, index: int, fallback: PageState) -> PageState:
        """The candidate's state after action `index` (0 = initial), if this judge saw it."""
        return self._states.get(task.id, {}).get(index + 1, fallback)

    # -- ground truth

    @staticmethod
    def gt_span(task: Task, k: int) -> tuple[int, int] | None:
        """(j, k): checkpoints to compare for action k; j is the nearest earlier one the data has."""
        if task.checkpoint(k) is None:
            return None
        for j in range(k - 1, -1, -1):
            if task.checkpoint(j) is not None:
                return j, k
        return None

    async def _read(self, path: Path | None) -> str | None:
        if path is None or not Path(path).is_file():
            return None
        try:
            return (await self.ocr.aread(path)).text
        except OcrError as exc:
            log.warning("OCR failed on %s: %s", path, exc)
            return None

    async def judge(self, task: Task, step: ReplayStep) -> Verdict:
        self.note(task, step)
        early = not_executed(step)
        if early is not None:
            return early
        ev = await self.evidence(task, step)
        value, reason = decide(ev)
        if ev.notes:
            reason = f"{reason} [{'; '.join(ev.notes)}]"
        return verdict(value, self.source, reason)

    async def evidence(self, task: Task, step: ReplayStep) -> Evidence:
        action = action_of(task, step)
        after = step.after
        assert after is not None
        span = self.gt_span(task, action.index)
        start = self._state_after(task, span[0], step.before) if span and span[0] < action.index - 1 \
            else step.before
        notes: list[str] = []
        if span and span[0] < action.index - 1:
            notes.append(f"compared over actions {span[0] + 1}-{action.index}: no checkpoint in between")

        cand_pixels = await run_behind(_safe_pixels, start.screenshot, after.screenshot)
        text_side = Side(token_change(visible_text(start), visible_text(after)), cand_pixels, visible_text(after),
                         new_lines(visible_text(start), visible_text(after)))
        ev = Evidence(action=action, gt=None, gt_span=span, text=text_side,
                      inputs_changed=changed_inputs(start, after),
                      scrolled=(after.scroll[0] - start.scroll[0], after.scroll[1] - start.scroll[1]),
                      focus_changed=start.focused != after.focused, notes=notes)
        if action.type == "Type":
            ev.typed_missing = not typed_text_present(action, start, after)
            ev.typed_masked = any(masked(after.inputs.get(k, "")) and after.inputs.get(k, "").endswith(TYPED_MARK)
                                  for k in changed_inputs(start, after))

        gt_before_text = gt_after_text = None
        if span is not None:
            gb, ga = task.checkpoint(span[0]), task.checkpoint(span[1])
            gt_before_text, gt_after_text = await asyncio.gather(self._read(gb), self._read(ga))
            if gt_before_text is not None and gt_after_text is not None:
                gt_pixels = await run_behind(_safe_pixels, gb, ga)
                ev.gt = Side(token_change(gt_before_text, gt_after_text, ocr_noise=True), gt_pixels, gt_after_text)
                shown_before = start.screen_text if start.screen_text is not None else visible_text(start)
                ev.random_numbers = numbers_diverged(gt_before_text, shown_before)
                ev.gt_words_unchanged_here = ocr_view_only(ev.gt.words, visible_text(start), visible_text(after),
                                                           action.logical_assertion)
                ev.gt_glyphs_not_here = glyphs_not_in_text(ev.gt.words, visible_text(start), visible_text(after),
                                                           action.logical_assertion)
                ev.gt_order = reordered(gt_before_text, gt_after_text)
                ev.gt_shift = await self._layout_shift(ev, ga, after)
                if ev.gt_order is not None:
                    ev.order = reordered(visible_text(start).replace("\t", "\n"),
                                         visible_text(after).replace("\t", "\n"))
                if ev.random_numbers:
                    notes.append("the page's numbers differ from the recording's before this action: "
                                 "changed numbers are compared by kind, not value")
            else:
                notes.append("a recorded checkpoint could not be read")
                ev.gt_span = None

        literals = assertion_literals(action.logical_assertion)
        # A literal the recording shows more often after the action than before (newly shown, or a
        # total that equals a price already on the page) must be shown more often here too; being
        # present proves nothing then. Counted in innerText (plus field values for Type: typed text
        # lives there) or in the page's OCR; a scroll changes no innerText, so there presence counts.
        grown: set[str] = set()
        if ev.gt is not None:
            literals = [lit for lit in literals if literal_present(lit, ev.gt.after_text)]
            grown = {lit for lit in literals
                     if literal_count(lit, gt_before_text or "") < literal_count(lit, ev.gt.after_text)}
        ev.literals_expected = literals
        counted = (lambda st: visible_text(st)) if action.type == "Type" else (lambda st: st.text)

        def shown(lit: str, before_text: str, after_text: str, *, counts: bool = True) -> bool:
            if counts and lit in grown:
                return literal_count(lit, after_text) > literal_count(lit, before_text)
            return literal_present(lit, after_text)

        missing = [lit for lit in literals
                   if not shown(lit, counted(start), counted(after), counts=action.type != "Scroll")]
        def unseen(screen: Side) -> list[str]:
            return [lit for lit in missing if not shown(lit, screen.before_text, screen.after_text)]

        if self._needs_screen(ev, missing):
            viewport = viewport_side(start, after)
            if viewport is not None and self._conclusive(ev, viewport, unseen(viewport)):
                ev.screen, ev.screen_source = viewport, "viewport text"
            else:
                ocr = await self._candidate_ocr(start, after)
                if ocr is not None:
                    ev.screen, ev.screen_source = ocr, "screenshots by OCR"
            if ev.screen is not None:
                missing = unseen(ev.screen)
                notes.append(f"words on screen read from its {ev.screen_source}")
        # "The demo field reads 'JavaScript'": a value the assertion puts in a field must be in one of
        # the page's fields; the same words elsewhere on the page (help text, a list) are no evidence.
        if after.inputs:
            values = [v for v in after.inputs.values() if v and v not in CHECKBOX_VALUES and not masked(v)]
            for lit in field_claims(action.logical_assertion):
                if lit not in missing and not any(literal_present(lit, v) for v in values):
                    missing.append(lit)
                    notes.append(f"the assertion puts {lit!r} in a field; no field of the page holds it")
        ev.literals_missing = missing
        return ev

    @staticmethod
    def _conclusive(ev: Evidence, screen: Side, missing: list[str]) -> bool:
        """A reading of the screen settles the step when it shows every literal still missing and
        reproduces enough of the recorded words; otherwise OCR is asked too."""
        return not missing and (ev.gt is None or ev.gt.words.weight == 0
                                or reproduction(ev.gt.words, screen.words, any_number=ev.random_numbers).ratio
                                >= PASS_RATIO)

    def _needs_screen(self, ev: Evidence, missing: list[str]) -> bool:
        """Read the words on the candidate's screen only when the cheap text evidence is not conclusive."""
        if ev.typed_missing:
            return False
        if ev.candidate_still and not missing:
            return False
        if missing:
            return True
        if ev.gt is None:
            return False
        if ev.action.type == "Scroll":
            return True
        rep = reproduction(ev.gt.words, ev.text.words, any_number=ev.random_numbers)
        return ev.gt.words.weight > 0 and rep.ratio < PASS_RATIO

    async def _layout_shift(self, ev: Evidence, gt_after: Path | None, after: PageState) -> tuple[float, float] | None:
        """When the page changed, but not where the recording did: how far its layout moved the lines
        around the recorded change (OCR of both after-screens, cached). None when the regions agree
        already, or nothing ties the two layouts together."""
        gp, cp = ev.gt.pixels if ev.gt else None, ev.text.pixels
        if gp is None or cp is None or cp.fraction <= 0 or gp.box is None or gt_after is None \
                or after.screenshot is None or cell_overlap(gp, cp) >= REGION_OVERLAP:
            return None
        try:
            ref, cand = await asyncio.gather(self.ocr.aread(gt_after), self.ocr.aread(after.screenshot))
        except OcrError as exc:
            log.warning("OCR failed while aligning layouts: %s", exc)
            return None
        def lines(r: Any) -> list[tuple[str, tuple[float, float, float, float]]]:
            w, h = max(1, r.width), max(1, r.height)
            return [(ln.text, (ln.box[0] / w, ln.box[1] / h, ln.box[2] / w, ln.box[3] / h)) for ln in r.lines]
        offset = layout_offset(lines(ref), lines(cand), gp.box)
        if offset is None or (abs(offset[0]) < LAYOUT_MOVED and abs(offset[1]) < LAYOUT_MOVED):
            return None
        ev.notes.append(f"the page's layout moves the recorded change by {offset[0]:+.0%}, {offset[1]:+.0%} "
                        f"of the screen (lines around it)")
        return offset

    async def _candidate_ocr(self, start: PageState, after: PageState) -> Side | None:
        """The candidate's screenshots read by OCR (cached by pixels), compared like the recording's."""
        b, a = await asyncio.gather(self._read(start.screenshot), self._read(after.screenshot))
        if b is None or a is None:
            return None
        return Side(token_change(b, a, ocr_noise=True), None, a, before_text=b)


def viewport_side(start: PageState, after: PageState) -> Side | None:
    """The change of the text the DOM shows in the viewport (None when a state has not read it).
    Exact text on both sides, so no OCR-noise matching; literal checks see it as they see OCR."""
    if start.screen_text is None or after.screen_text is None:
        return None
    return Side(token_change(start.screen_text, after.screen_text), None, after.screen_text,
                before_text=start.screen_text)


def _safe_pixels(before: Path | None, after: Path | None) -> PixelChange | None:
    if before is None or after is None:
        return None
    try:
        return pixel_change(Path(before), Path(after))
    except (OSError, ValueError) as exc:
        log.warning("cannot compare screenshots %s and %s: %s", before, after, exc)
        return None


