"""IFS, VFS and Final as pure functions of the judged steps (design.md). All scores are 0-100.

IFS    = 100 * (actions executed with their assertion holding, counted from the first action up to
         the first one that does not) / (all actions of the task).
         Policy for verdicts other than pass: "fail" and "undecided" both end the prefix, so an
         assertion the offline judge cannot confirm never counts as holding (conservative; the
         judge decides clear cases and the report counts the undecided ones). An "error" verdict
         (the judge broke) inside the scored prefix makes the whole task an infrastructure error:
         see `judge_error`; it is never a pass and never the model's failure.
VFS    = mean of the available parts: 0.5 * low_level + 0.5 * high_level, or low_level alone when
         no high-level judge ran (offline). Per part, the mean over step 0 and every flagged step
         that was reached (each compared with the checkpoint of the same step).
low    = mean of the steps' low_level = mean(OCR similarity, image similarity).
Final  = 0.7 * IFS + 0.3 * VFS.
VFS_all   = VFS over step 0 and EVERY flagged step: one with no screenshot of its own (the replay never
            reached it) is compared with the page's last captured state (its `visual_last_state`).
            VFS averages over what a page reaches, so a static picture of the first frame that reaches
            nothing but step 0 scores as if it were right throughout; VFS_all scores what it shows at each
            checkpoint. Kept beside VFS, never instead: VFS is the published metric.
final_all = 0.7 * IFS + 0.3 * VFS_all. None when a rubric judge failed on a stand-in comparison (the
            published scores do not depend on those extra calls).
A part that was not scored is None, never 0.

Which evaluations count (one rule for the evaluator and the reports):
- a task with no page (the model made none) scores 0 on every part its judges produce, every action
  failing (`no_page_steps`, `no_page_scores`), and is counted in the means;
- a task whose replay, judge or data broke is an error (`task_error`, `classify`): not scored, listed,
  retried on rerun; never a 0 and never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from iwrbench.records.evaluation import EvalRecord, Scores, StepRecord, StepVisual, Verdict

IFS_WEIGHT, VFS_WEIGHT = 0.7, 0.3  # Final = 0.7 * IFS + 0.3 * VFS (the paper's weights)
LOW_LEVEL_PARTS = ("ocr", "image")  # low_level = mean of these, whichever were scored (judges/visual.py)
NO_PAGE_SOURCE = "replay"  # the verdict's source for actions of a task without a page
PARTS = ("IFS", "VFS", "low_level", "high_level", "final", "ocr", "image", "VFS_all", "final_all")
ALL_PARTS = ("VFS_all", "final_all")  # absent from files written before them: never filled with 0


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def holds(step: StepRecord) -> bool:
    return step.executed and step.assertion.verdict == "pass"


def success_steps(steps: Sequence[StepRecord]) -> int:
    """Actions executed with their assertion holding, from the first up to the first that does not."""
    n = 0
    for step in sorted(steps, key=lambda s: s.index):
        if not holds(step):
            break
        n += 1
    return n


def first_break(steps: Sequence[StepRecord]) -> StepRecord | None:
    """The step that ends the scored prefix (None when every action holds)."""
    return next((s for s in sorted(steps, key=lambda s: s.index) if not holds(s)), None)


def judge_error(steps: Sequence[StepRecord], initial: StepVisual | None = None) -> str | None:
    """Why the task cannot be scored because a judge broke, or None.

    - an assertion verdict "error" at the step that ends the prefix (errors after a genuine failure
      do not change the score and are only counted);
    - a high-level (rubric) score that was attempted and failed on any scored visual: VFS would
      otherwise silently mix steps with and without it.
    """
    brk = first_break(steps)
    if brk is not None and brk.assertion.verdict == "error":
        return f"the assertion judge failed on action {brk.index}: {brk.assertion.reason}"
    visuals = ([("step 0", initial)] if initial is not None else []) + [
        (f"action {s.index}", s.visual) for s in steps if s.visual is not None]
    for where, v in visuals:
        if v.high_level_source and v.high_level is None:
            why = (v.high_level_detail or {}).get("error", "no score")
            return f"the rubric judge failed on {where}: {why}"
    return None


def task_error(steps: Sequence[StepRecord], initial: StepVisual | None = None) -> str | None:
    """Why a judged task is an infrastructure error (a judge broke), or None when it is scored."""
    broken = judge_error(steps, initial)
    return f"{broken}; rerun to retry" if broken else None


def visuals_scored(steps: Sequence[StepRecord], initial: StepVisual | None) -> list[StepVisual]:
    """Step 0 and every step that carries visual scores (flagged and reached)."""
    out = [initial] if initial is not None else []
    out += [s.visual for s in sorted(steps, key=lambda s: s.index) if s.visual is not None]
    return out


def visuals_all(steps: Sequence[StepRecord], initial: StepVisual | None) -> list[StepVisual]:
    """`visuals_scored` plus the stand-ins of flagged steps that have no visual of their own."""
    return visuals_scored(steps, initial) + [
        s.visual_last_state for s in sorted(steps, key=lambda s: s.index)
        if s.visual is None and s.visual_last_state is not None]


def _vfs_of(vis: Sequence[StepVisual]) -> float | None:
    return vfs(_mean(v.low_level for v in vis), _mean(v.high_level for v in vis))


def vfs(low_level: float | None, high_level: float | None) -> float | None:
    """Mean of the available parts (both -> 0.5/0.5; offline -> low_level alone)."""
    return _mean([low_level, high_level])


def final(ifs_score: float | None, vfs_score: float | None) -> float | None:
    if ifs_score is None or vfs_score is None:
        return None
    return IFS_WEIGHT * ifs_score + VFS_WEIGHT * vfs_score


def vfs_basis(scores: Scores) -> str:
    """How VFS was formed, for the record's `judges` map and the reports."""
    if scores.high_level is not None and scores.low_level is not None:
        return "0.5*low_level + 0.5*high_level"
    if scores.low_level is not None:
        return "low_level only (no high-level judge)"
    if scores.high_level is not None:
        return "high_level only (no low-level score)"
    return "not scored"


def no_page_steps(actions: Iterable[tuple[int, str, str]], why: str) -> list[StepRecord]:
    """A task without a page: every action (index, type, description) fails, none was performed."""
    return [StepRecord(index=index, type=kind, description=description,
                       assertion=Verdict(verdict="fail", source=NO_PAGE_SOURCE, reason=f"no page: {why}"))
            for index, kind, description in actions]


def no_page_scores(*, high_level: bool = False) -> Scores:
    """A task without a generated page: 0 everywhere (high_level 0 when a rubric judge is in use)."""
    return Scores(IFS=0.0, VFS=0.0, low_level=0.0, high_level=0.0 if high_level else None, final=0.0,
                  ocr=0.0, image=0.0, VFS_all=0.0, final_all=0.0)


def compute_scores(steps: Sequence[StepRecord], initial: StepVisual | None, total_steps: int, *,
                   has_page: bool, high_level: bool = False) -> tuple[Scores, int]:
    """(Scores, success_steps) of one task. `high_level` only matters without a page (0 vs None)."""
    if not has_page:
        return no_page_scores(high_level=high_level), 0
    n = success_steps(steps)
    ifs_score = 100.0 * n / total_steps if total_steps > 0 else None
    if ifs_score is None:
        raise ValueError("a task has at least one action")
    vis = visuals_scored(steps, initial)
    low = _mean(v.low_level for v in vis)
    high = _mean(v.high_level for v in vis)
    vfs_score = vfs(low, high)
    stand_ins = [s.visual_last_state for s in steps if s.visual is None and s.visual_last_state is not None]
    rubric_failed = any(v.high_level_source and v.high_level is None for v in stand_ins)
    vfs_all = None if rubric_failed else _vfs_of(visuals_all(steps, initial))
    scores = Scores(IFS=_round(ifs_score), VFS=_round(vfs_score), low_level=_round(low), high_level=_round(high),
                    final=_round(final(ifs_score, vfs_score)), ocr=_round(_mean(v.ocr for v in vis)),
                    image=_round(_mean(v.image for v in vis)), VFS_all=_round(vfs_all),
                    final_all=_round(final(ifs_score, vfs_all)))
    return scores, n


def verdict_counts(steps: Sequence[StepRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.assertion.verdict] = counts.get(s.assertion.verdict, 0) + 1
    return counts


def classify(rec: EvalRecord) -> tuple[Literal["scored", "error"], bool]:
    """(status, counted) of an evaluation: a missing page is the model's failure (0, counted); a broken
    run is not counted."""
    if rec.error_kind == "no_page":
        return "scored", True
    if rec.status == "error" or rec.error_kind in ("infrastructure", "data"):
        return "error", False
    return "scored", True


def counted_scores(rec: EvalRecord) -> dict[str, float | None]:
    """The scores an evaluation contributes to the means. A task with no page scores 0 on every part its
    judges produce (high_level only where a rubric judge ran), in files of any version; VFS_all and
    final_all stay null in files written before them."""
    scores = {p: getattr(rec.scores, p) for p in PARTS}
    if rec.error_kind == "no_page":
        high_judged = bool(rec.judges.visual_high)
        for p in PARTS:
            if scores[p] is None and p not in ALL_PARTS and (p != "high_level" or high_judged):
                scores[p] = 0.0
    return scores
