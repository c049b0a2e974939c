"""evaluate.py --rejudge: judge and score again from stored replay traces, without a browser.

Trying a new judge model, or a judge fix, costs no browser run: each task's trace.json (what the replay
recorded, trace.py) and its screenshots are read back, and the same TaskEvaluator as a live evaluation
judges the assertions and scores the visuals. The replay's agent stays as recorded: the traces are those
the agent named by `--agent` (default: the offline locator) replayed, found in any judge folder of the
page; the results go to the judge folder of the judge given and that agent (`offline`, or
`<judge>+agent-<agent>`), with the trace and screenshots linked in so that folder stands on its own.

Every selected task is judged again (the judges' replies come from the response cache where they were
asked before, so a rerun after an interruption costs little); a task with no usable trace is an error
of its own, and an eval.json already in the folder is then kept as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from iwrbench import layout
from iwrbench.data.tasks import Task
from iwrbench.evaluation.run import (
    EvalSettings,
    RunSummary,
    TaskEvaluator,
    TaskOutcome,
    data_problem,
    error_record,
    no_page_record,
    page_problem,
    timestamp,
)
from iwrbench.fsutil import atomic_link_or_copy, atomic_write_json, remove_stale_temp
from iwrbench.records.evaluation import EvalRecord, RejudgeInfo
from iwrbench.records.trace import Trace, page_sha256, read_trace, replay_of, screenshots_of

log = logging.getLogger("iwrbench.rejudge")


@dataclass
class Found:
    """A stored trace to judge again, or why there is none."""

    trace: Trace | None
    folder: Path | None  # the judge folder it was found in
    problem: str = ""


def find_trace(eval_root: Path, *, task_id: str, model: str, run_slug: str, epoch: int, agent: str,
               page: Path) -> Found:
    """The newest trace under `eval_root` (a page's eval/ folder) of a replay by `agent` (a slug) of the
    page as it is now."""
    best: tuple[str, Trace, Path] | None = None
    problems: list[str] = []
    current = page_sha256(page)
    for folder in sorted(eval_root.iterdir()) if eval_root.is_dir() else ():
        path = folder / layout.TRACE_FILE
        if not path.is_file() or layout.parse_evaluator_slug(folder.name)[1] != agent:
            continue
        try:
            trace = read_trace(path)
        except ValidationError as exc:
            problems.append(f"{path} is not a replay trace ({exc.error_count()} problems)")
            continue
        if trace is None:
            problems.append(f"{path} cannot be read")
            continue
        if (trace.task_id, trace.model, trace.run_slug, trace.epoch, trace.agent) != (task_id, model, run_slug,
                                                                                     epoch, agent):
            problems.append(f"{path} is the trace of another evaluation (task {trace.task_id}, {trace.run_slug}, "
                            f"agent {trace.agent})")
            continue
        if trace.page_sha256 != current:
            problems.append(f"{path} is a replay of an earlier version of the page; evaluate it again "
                            "without --rejudge")
            continue
        if best is None or trace.finished_at > best[0]:
            best = (trace.finished_at, trace, folder)
    if best is not None:
        return Found(best[1], best[2])
    why = "; ".join(problems) or (f"no stored replay trace by agent {agent!r} under {eval_root}: evaluate "
                                  "without --rejudge first")
    return Found(None, None, why)


def bring_over(found: Found, dest: Path) -> None:
    """Link the trace and its screenshots into the judge folder being written (a no-op when it is the
    folder the trace was found in)."""
    assert found.trace is not None and found.folder is not None
    if found.folder.resolve() == dest.resolve():
        return
    for name in [layout.TRACE_FILE, *screenshots_of(found.trace)]:
        src = found.folder / name
        if src.is_file():
            atomic_link_or_copy(src, dest / name)


async def run_rejudge(tasks: list[Task], result: Path, model: str, settings: EvalSettings, *,
                      progress: Callable[[TaskOutcome], None] | None = None, epoch: int = 1) -> RunSummary:
    """Judge every task's stored replay of `model`'s pages at `epoch` again; writes eval.json per task into
    `settings.folder`. Never starts a browser; never raises for a single task."""
    from iwrbench.evaluation.parts import build_judge_parts

    started = time.monotonic()
    summary = RunSummary()
    agent = layout.judge_slug(settings.agent_model)
    run_slug = layout.run_slug(model, settings.variant, epoch)
    parts = build_judge_parts(settings)
    evaluator = TaskEvaluator(settings, parts.assertion_judge, parts.visual_scorer)
    slots = asyncio.Semaphore(max(1, settings.workers))

    def finish(task: Task, rec: EvalRecord | None, message: str = "") -> None:
        if rec is not None:
            rec.finished_at = timestamp()
            atomic_write_json(settings.eval_dir(result, task.id, model, epoch) / layout.EVAL_FILE,
                              rec.model_dump(mode="json"))
            outcome = TaskOutcome(task.id, rec.status, rec, rec.error or "")
        else:
            outcome = TaskOutcome(task.id, "error", None, message)
        summary.outcomes.append(outcome)
        if progress:
            progress(outcome)

    async def one(task: Task) -> None:
        t0 = time.monotonic()
        dest = settings.eval_dir(result, task.id, model, epoch)
        remove_stale_temp(dest)
        problem = data_problem(task)
        if problem:
            return finish(task, error_record(task, model, settings, "data", problem, result, epoch))
        page_issue = page_problem(task, result, model, settings.variant, epoch)
        if page_issue:
            kind, why = page_issue
            rec = no_page_record(task, model, settings, why, result, epoch) if kind == "no_page" else \
                error_record(task, model, settings, kind, why, result, epoch)
            return finish(task, rec)
        page_dir = settings.page_dir(result, task.id, model, epoch)
        found = find_trace(page_dir / layout.EVAL_FOLDER, task_id=task.id, model=model, run_slug=run_slug, epoch=epoch,
                           agent=agent, page=page_dir / layout.PAGE_FILE)
        if found.trace is None:
            if (dest / layout.EVAL_FILE).is_file():  # what is there stays: this run has nothing better
                return finish(task, None, f"{found.problem} (the eval.json there is kept)")
            return finish(task, error_record(task, model, settings, "infrastructure", found.problem, result, epoch))
        async with slots:
            try:
                bring_over(found, dest)
                rec = await evaluator.evaluate(task, model, replay_of(found.trace, dest), None, result, epoch)
            except Exception as exc:  # one task's failure must not end the run
                log.error("task %s: judging again crashed", task.id, exc_info=exc)
                rec = error_record(task, model, settings, "infrastructure",
                                   f"judging again crashed: {type(exc).__name__}: {exc}"[:500], result, epoch)
        rec.rejudged = RejudgeInfo(trace=(found.folder / layout.TRACE_FILE).relative_to(page_dir).as_posix(),
                                   replayed_at=found.trace.finished_at)
        rec.seconds = round(time.monotonic() - t0, 3)
        finish(task, rec)

    try:
        await asyncio.gather(*(one(t) for t in tasks))
    finally:
        await parts.aclose()
    summary.seconds = time.monotonic() - started
    return summary
