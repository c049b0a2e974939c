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

offline_decision.py says which verdict the evidence gives (pass, fail or undecided);
offline_checks.py holds the single facts read off texts, offline_evidence.py the record between them.

Checkpoint numbering: the change is measured from the nearest earlier checkpoint the data has (k-1
normally; further back when steps have no checkpoint), and the candidate's side over the same span.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Task
from iwrbench.judges.base import OFFLINE_SOURCE, action_of, not_executed, verdict
from iwrbench.judges.behind import run_behind
from iwrbench.judges.change import (
    PixelChange,
    assertion_literals,
    cell_overlap,
    layout_offset,
    literal_count,
    literal_present,
    numbers_diverged,
    pixel_change,
    reordered,
    reproduction,
    token_change,
)
from iwrbench.judges.ocr import OcrCache, OcrError
from iwrbench.judges.offline_checks import (
    CHECKBOX_VALUES,
    TYPED_MARK,
    changed_inputs,
    field_claims,
    glyphs_not_in_text,
    masked,
    new_lines,
    ocr_view_only,
    typed_text_present,
    viewport_side,
    visible_text,
)
from iwrbench.judges.offline_decision import decide
from iwrbench.judges.offline_evidence import LAYOUT_MOVED, PASS_RATIO, REGION_OVERLAP, Evidence, Side
from iwrbench.records.evaluation import Verdict
from iwrbench.replay.states import PageState, ReplayStep

log = logging.getLogger("iwrbench.judges.offline")


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


def _safe_pixels(before: Path | None, after: Path | None) -> PixelChange | None:
    if before is None or after is None:
        return None
    try:
        return pixel_change(Path(before), Path(after))
    except (OSError, ValueError) as exc:
        log.warning("cannot compare screenshots %s and %s: %s", before, after, exc)
        return None
