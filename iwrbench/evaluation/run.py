"""The evaluate.py runner: for each task, replay the page, judge each step, score visuals, write eval.json.

One Chromium per worker, a fresh context per task, a hard timeout per task. Classification of outcomes:
- scored: the page was replayed and judged (a page that does nothing scores low, as it should);
- no_page: the model produced no page -> scored 0 and counted;
- error (infrastructure / data): the harness, the judge or the data broke -> not scored, listed, retried on rerun.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from iwrbench import __version__, layout
from iwrbench.data.tasks import Task
from iwrbench.errors import InfrastructureError
from iwrbench.evaluation.settings import JUDGED_BEHIND, EvalSettings, RunSummary, TaskOutcome
from iwrbench.fsutil import atomic_write_json, remove_stale_temp
from iwrbench.judges.base import EXECUTION_SOURCE, not_executed
from iwrbench.records.base import read_record
from iwrbench.records.evaluation import (
    Classification,
    EvalRecord,
    JudgeMap,
    PageOrigin,
    SandboxRecord,
    StepRecord,
    StepVisual,
    Verdict,
)
from iwrbench.records.generation import GenerationRecord
from iwrbench.records.trace import build_trace, write_trace
from iwrbench.replay.states import ReplayResult, ReplayStep
from iwrbench.scoring.scores import compute_scores, no_page_scores, no_page_steps, task_error, verdict_counts

log = logging.getLogger("iwrbench.evaluate")


def is_finished(path: Path, force: bool) -> bool:
    """A finished eval.json is skipped on rerun; an errored or unreadable one is redone."""
    if force:
        return False
    rec = read_record(EvalRecord, path)
    return rec is not None and rec.status == "scored"


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _base_record(task: Task, model: str, settings: EvalSettings, result: Path | None = None,
                 epoch: int = 1) -> EvalRecord:
    cls = task.classification
    page_dir = settings.page_dir(result, task.id, model, epoch) if result is not None else None
    return EvalRecord(
        task_id=task.id, model=model, judge=layout.judge_slug(settings.judge),
        agent=layout.judge_slug(settings.agent_model), epoch=epoch,
        run_slug=layout.run_slug(model, settings.variant, epoch),
        generation=page_origin(page_dir) if page_dir is not None else PageOrigin(),
        total_steps=len(task.actions),
        classification=Classification(domain=cls.domain, sub_domain=cls.sub_domain,
                                      visual_complexity=cls.visual_complexity,
                                      interaction_complexity=cls.interaction_complexity),
        source_website=task.source_website or None,
        judges=judge_map(settings), harness_version=__version__,
        variant=list(settings.variant) if settings.variant else None,
        video_input=layout.video_input_of(settings.variant) if settings.variant else None,
    )


def page_origin(page_dir: Path) -> PageOrigin:
    """What made the page (protocol, prompt file, or the file it was imported from), from its
    generation.json, so eval.json and the reports say it."""
    gen = read_record(GenerationRecord, page_dir / layout.GENERATION_FILE)
    if gen is None:
        return PageOrigin()
    return PageOrigin(protocol=gen.protocol, prompt_file=gen.prompt_file, imported_from=gen.imported_from,
                      imported_sha256=gen.imported_sha256)


def judge_map(settings: EvalSettings) -> JudgeMap:
    """Which judge produced which score: reports print this so no number hides its source."""
    from iwrbench.judges.image_similarity import image_metric_label
    from iwrbench.judges.ocr import ENGINE_ID

    llm = settings.judge
    return JudgeMap(
        locator=settings.agent_model or "offline",
        assertion=llm or "offline",
        visual_low=f"ocr+{settings.image_metric}" if settings.visual else None,
        visual_high=llm if (llm and settings.visual) else None,
        ocr_engine=ENGINE_ID if settings.visual else None,
        image_metric=image_metric_label(settings.image_metric) if settings.visual else None,
    )


def no_page_record(task: Task, model: str, settings: EvalSettings, why: str,
                   result: Path | None = None, epoch: int = 1) -> EvalRecord:
    """The model produced no page: every action fails, every score is 0, and the task is counted."""
    rec = _base_record(task, model, settings, result, epoch)
    rec.steps = no_page_steps(((a.index, a.type, a.description) for a in task.actions), why)
    rec.scores = no_page_scores(high_level=bool(settings.judge and settings.visual))
    rec.error, rec.error_kind = why, "no_page"
    return rec


def error_record(task: Task, model: str, settings: EvalSettings, kind: str, why: str,
                 result: Path | None = None, epoch: int = 1) -> EvalRecord:
    rec = _base_record(task, model, settings, result, epoch)
    rec.status, rec.error, rec.error_kind = "error", why, kind
    return rec


def page_problem(task: Task, result: Path, model: str, variant: tuple[str, ...] = (),
                 epoch: int = 1) -> tuple[str, str] | None:
    """(kind, reason) when there is no page to replay: `no_page` (model's fault) or `infrastructure`."""
    page = layout.page_path(result, task.id, model, variant, epoch)
    gen = read_record(GenerationRecord, layout.generation_path(result, task.id, model, variant, epoch))
    failed = gen is not None and gen.status == "failed"
    if failed and gen.error_kind in ("infrastructure", "data"):
        return gen.error_kind, f"generation failed ({gen.error_kind}): {gen.error}"
    if not page.is_file():
        if failed:
            return "no_page", f"generation failed: {gen.error}"
        return "no_page", f"no generated page at {page}"
    return None


def data_problem(task: Task) -> str | None:
    """Evaluation needs ground-truth checkpoints; a task without them, or with one that is not a
    readable image, cannot be scored fairly (its VFS would silently lose steps)."""
    if task.replay_errors:
        return "; ".join(task.replay_errors)
    if task.checkpoint_numbering == "missing" or task.checkpoint(0) is None:
        return "; ".join(task.data_errors) or f"{task.where}: no ground-truth checkpoints"
    for k, path in sorted(task.checkpoints.items()):
        why = unreadable_image(path)
        if why:
            return f"{task.where}: checkpoint {path} (state after action {k}) is not a readable image: {why}"
    return None


def unreadable_image(path: Path) -> str | None:
    """Why an image file cannot be used (empty, not an image, truncated), or None. Checks the
    file's structure without decoding it (about a millisecond)."""
    from PIL import Image

    try:
        if path.stat().st_size == 0:
            return "the file is empty"
        with Image.open(path) as img:
            img.verify()
    except Exception as exc:  # PIL raises many types for a bad file; each is a reason, not a crash
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


Judged = tuple[Verdict, StepVisual | None]  # a step's assertion verdict and its visual scores


class TaskEvaluator:
    """Judges and scores one replayed task from what the replay recorded (its ReplayResult, or the same
    read back from trace.json). Holds the judges and visual scorer shared across tasks."""

    def __init__(self, settings: EvalSettings, assertion_judge, visual_scorer):
        self.settings = settings
        self.assertion_judge = assertion_judge
        self.visual_scorer = visual_scorer

    async def verdict(self, task: Task, step: ReplayStep) -> Verdict:
        if not step.record.executed or step.after is None:
            return not_executed(step)
        action = task.actions[step.record.index - 1]
        if not action.has_assertion:
            # The data gives no logical assertion for this action: nothing to judge, so the step holds
            # when it was performed, and says so (reports count these steps apart).
            note = getattr(self.assertion_judge, "note", None)
            if note is not None:
                note(task, step)  # the offline judge measures later spans from this step's state
            return Verdict(verdict="pass", source=EXECUTION_SOURCE,
                           reason="no logical assertion in the data: judged on execution alone")
        try:
            return await self.assertion_judge.judge(task, step)
        except Exception as exc:  # a judge crash is an infrastructure error, never a pass
            log.warning("task %s step %d: assertion judge failed: %s", task.id, step.record.index, exc)
            return Verdict(verdict="error", source=layout.judge_slug(self.settings.judge),
                           reason=f"judge failed: {type(exc).__name__}: {exc}"[:300])

    async def judge_and_score(self, task: Task, step: ReplayStep) -> Judged:
        """One step: its assertion verdict, then its visual scores when it was performed and is flagged."""
        verdict = await self.verdict(task, step)
        action = task.actions[step.record.index - 1]
        visual = None
        if step.record.executed and action.visual_evaluation_flag and step.after is not None:
            visual = await self.score_visual(task, action.index, step.after.screenshot)
        return verdict, visual

    async def judge_steps(self, task: Task, steps: list[ReplayStep],
                          early: StepJudging | None = None) -> dict[int, Judged]:
        """Every step judged, by action index: those `early` already started are awaited, the rest done now."""
        judged = await early.finish() if early is not None else {}
        for step in steps:
            if step.record.index not in judged:
                judged[step.record.index] = await self.judge_and_score(task, step)
        return judged

    async def score_stand_ins(self, task: Task, steps: list[ReplayStep],
                              judged: dict[int, Judged]) -> dict[int, StepVisual]:
        """Every flagged step without a visual of its own (never reached, or no screenshot) is scored
        against the page's last captured state before it, for VFS_all only (scoring/scores.py)."""
        async def one(step: ReplayStep) -> tuple[int, StepVisual | None]:
            shot = step.before.screenshot if step.before is not None else None
            visual = await self.score_visual(task, step.record.index, shot)
            if visual is None or shot is None:
                return step.record.index, None
            return step.record.index, visual.model_copy(update={"compared_with": shot.name})

        got = await asyncio.gather(*(one(s) for s in steps if judged[s.record.index][1] is None
                                     and task.actions[s.record.index - 1].visual_evaluation_flag))
        return {k: v for k, v in got if v is not None}

    async def score_visual(self, task: Task, k: int, screenshot: Path | None) -> StepVisual | None:
        gt = task.checkpoint(k)
        if not self.settings.visual or gt is None or screenshot is None or not screenshot.is_file():
            return None
        return await self.visual_scorer.score(screenshot, gt)

    async def evaluate(self, task: Task, model: str, replay: ReplayResult,
                       early: StepJudging | None = None, result: Path | None = None, epoch: int = 1) -> EvalRecord:
        rec = _base_record(task, model, self.settings, result, epoch)
        rec.sandbox = SandboxRecord.model_validate(replay.sandbox)
        if replay.error:  # the caller cancels what `early` started
            rec.status, rec.error, rec.error_kind = "error", f"replay failed: {replay.error}", "infrastructure"
            return rec
        judged = await self.judge_steps(task, replay.steps, early)
        rec.initial_screenshot = replay.initial.screenshot.name if replay.initial.screenshot else None
        rec.initial = await self.score_visual(task, 0, replay.initial.screenshot)
        stand_ins = await self.score_stand_ins(task, replay.steps, judged)
        rec.steps = [StepRecord(**s.record.model_dump(), assertion=judged[s.record.index][0],
                                visual=judged[s.record.index][1], visual_last_state=stand_ins.get(s.record.index))
                     for s in replay.steps]
        rec.scores, rec.success_steps = compute_scores(rec.steps, rec.initial, len(task.actions), has_page=True)
        rec.verdict_counts = verdict_counts(rec.steps)
        broken = task_error(rec.steps, rec.initial)
        if broken:
            rec.status, rec.error_kind, rec.error = "error", "infrastructure", broken
        return rec


@dataclass
class Replayed:
    """A task replayed, its steps' judging under way."""

    replay: ReplayResult
    early: StepJudging


class StepJudging:
    """Steps judged and scored while the replay goes on. Each step's job is a task started in replay
    order (the offline judge notes each step's state before its first await, so it sees them in order);
    the heavy parts (decoding, OCR, SSIM) run in threads, beside Chromium's work on the next action."""

    def __init__(self, evaluator: TaskEvaluator, task: Task):
        self.evaluator, self.task = evaluator, task
        self.jobs: dict[int, asyncio.Task[Judged]] = {}

    def __call__(self, step: ReplayStep) -> None:
        self.jobs[step.record.index] = asyncio.ensure_future(self.evaluator.judge_and_score(self.task, step))

    async def finish(self) -> dict[int, Judged]:
        """Wait for every started judging; what each judged step got, by action index."""
        done = await asyncio.gather(*self.jobs.values()) if self.jobs else []
        return dict(zip(self.jobs, done, strict=True))

    def cancel(self) -> None:
        """Stop what is still running; a finished job's failure is read here (the task's outcome
        already says what went wrong), so asyncio does not report it again as never retrieved."""
        for job in self.jobs.values():
            if not job.done():
                job.cancel()
            elif not job.cancelled():
                job.exception()


async def run_evaluation(tasks: list[Task], result: Path, model: str, settings: EvalSettings,
                         *, progress: Callable[[TaskOutcome], None] | None = None, epoch: int = 1) -> RunSummary:
    """Evaluate every task's page of `epoch` (layout.py: epoch 1 is the contract path) with
    `settings.workers` browsers. Writes eval.json per task; never raises for a single task's failure."""
    from iwrbench.evaluation.parts import build_parts
    from iwrbench.perception.browser_use_view import preload_browser_use
    from iwrbench.replay.agent import replay_task
    from iwrbench.sandbox.browser_share import SharedBrowsers, default_browsers

    started = time.monotonic()
    summary = RunSummary()
    todo: list[Task] = []
    for task in tasks:
        path = settings.eval_dir(result, task.id, model, epoch) / layout.EVAL_FILE
        remove_stale_temp(path.parent)  # left by a run killed mid-write; this task's folder is ours now
        if is_finished(path, settings.force):
            summary.outcomes.append(TaskOutcome(task.id, "skipped", message="already evaluated"))
            if progress:
                progress(summary.outcomes[-1])
        else:
            # The replay about to run replaces the one recorded: a trace of an earlier replay must never
            # be judged again as if it were of the page as it is now.
            (path.parent / layout.TRACE_FILE).unlink(missing_ok=True)
            todo.append(task)
    if not todo:
        summary.seconds = time.monotonic() - started
        return summary

    parts = build_parts(settings)
    locator = parts.locator
    evaluator = TaskEvaluator(settings, parts.assertion_judge, parts.visual_scorer)
    queue: asyncio.Queue[Task] = asyncio.Queue()
    for task in todo:
        queue.put_nowait(task)

    def finish(task: Task, rec: EvalRecord) -> None:
        rec.finished_at = timestamp()
        atomic_write_json(settings.eval_dir(result, task.id, model, epoch) / layout.EVAL_FILE, rec.model_dump(mode="json"))
        outcome = TaskOutcome(task.id, rec.status, rec, rec.error or "")
        summary.outcomes.append(outcome)
        if progress:
            progress(outcome)

    async def replay_one(browser, task: Task) -> EvalRecord | Replayed:
        """Replay a task (its steps judged as they are captured), or the record of why it cannot be."""
        problem = data_problem(task)
        if problem:
            return error_record(task, model, settings, "data", problem, result, epoch)
        page_issue = page_problem(task, result, model, settings.variant, epoch)
        if page_issue:
            kind, why = page_issue
            if kind == "no_page":
                return no_page_record(task, model, settings, why, result, epoch)
            return error_record(task, model, settings, kind, why, result, epoch)
        out_dir = settings.eval_dir(result, task.id, model, epoch)
        out_dir.mkdir(parents=True, exist_ok=True)
        page_dir = settings.page_dir(result, task.id, model, epoch)
        early = StepJudging(evaluator, task)
        try:
            replay = await replay_task(browser, task, page_dir, out_dir, locator=locator, on_step=early,
                                       step_timeout=settings.step_timeout, load_timeout=settings.load_timeout)
        except BaseException:
            early.cancel()  # a hard timeout or a crash: judging this task's steps stops with it
            raise
        write_trace(out_dir, build_trace(replay, task_id=task.id, model=model, epoch=epoch,
                                         run_slug=layout.run_slug(model, settings.variant, epoch),
                                         agent=layout.judge_slug(settings.agent_model), page=page_dir / layout.PAGE_FILE))
        return Replayed(replay, early)

    def failed(task: Task, exc: BaseException, cap: float) -> EvalRecord:
        """The record of a task whose replay or judging broke: an infrastructure error, never a score."""
        if isinstance(exc, TimeoutError):
            return error_record(task, model, settings, "infrastructure",
                                f"task exceeded its hard timeout of {cap:.0f}s", result, epoch)
        if isinstance(exc, InfrastructureError):  # a known fault (Chromium died): one line
            log.warning("task %s: %s", task.id, exc)
        else:  # a harness bug: the traceback is what a fix needs
            log.error("task %s: evaluation crashed", task.id, exc_info=exc)
        return error_record(task, model, settings, "infrastructure",
                            f"evaluation crashed: {type(exc).__name__}: {exc}"[:500], result, epoch)

    async def judge_one(task: Task, replayed: Replayed, t0: float, cap: float) -> None:
        """Finish judging a replayed task and write its eval.json, within what is left of its hard cap."""
        try:
            rec = await asyncio.wait_for(evaluator.evaluate(task, model, replayed.replay, replayed.early, result,
                                                            epoch),
                                         timeout=max(0.001, t0 + cap - time.monotonic()))
            rec.seconds = round(time.monotonic() - t0, 3)
        except Exception as exc:  # one task's failure must not end the run
            rec = failed(task, exc, cap)
        finally:
            replayed.early.cancel()
        finish(task, rec)

    async def worker(n: int) -> None:
        """Replays tasks one after another, each in a fresh context of its (shared) Chromium. A task's
        judging ends while the next tasks replay (at most JUDGED_BEHIND tasks judging behind), so the
        browser does not wait for the OCR of a task that needed much of it."""
        behind: list[asyncio.Task[None]] = []
        try:
            while not queue.empty():
                task = queue.get_nowait()
                t0, cap = time.monotonic(), settings.task_cap(task)
                browser = None
                try:
                    browser = await browsers.get(n)
                    got = await asyncio.wait_for(replay_one(browser, task), timeout=cap)
                except Exception as exc:  # one task's crash must not end the run
                    finish(task, failed(task, exc, cap))
                    if browser is None or not await browser.ping():  # other workers' contexts may live in it
                        await browsers.discard(n, browser)
                    continue
                if isinstance(got, EvalRecord):
                    got.seconds = round(time.monotonic() - t0, 3)
                    finish(task, got)
                    continue
                while len(behind) >= JUDGED_BEHIND:
                    await behind.pop(0)  # the oldest; writing its eval.json failing ends the worker
                behind.append(asyncio.ensure_future(judge_one(task, got, t0, cap)))
        except asyncio.CancelledError:  # interrupted: the judging behind stops too; its task is redone on rerun
            for job in behind:
                job.cancel()
            raise
        finally:
            if behind:
                await asyncio.wait(behind)
                for job in behind:
                    if not job.cancelled() and job.exception() is not None:
                        raise job.exception()  # writing its eval.json failed: as if this worker had written it

    # browser-use's first import (~0.5-1.5 s) runs in a thread while Chromium starts, not in the first task.
    # (Loading the OCR engine the same way was measured to slow runs: see docs/performance.md.)
    preload = asyncio.ensure_future(preload_browser_use())
    workers = min(settings.workers, len(todo))
    browsers = SharedBrowsers(min(workers, settings.browsers or default_browsers(workers)))
    try:
        await asyncio.gather(*(worker(i) for i in range(workers)))
    finally:
        await browsers.close()
        with contextlib.suppress(Exception):  # a failed import shows where it is used: browser-use's attach
            await preload
        summary.model_calls = parts.gate_summary()
        summary.ocr = parts.ocr_summary()
        for line in (summary.model_calls, summary.ocr):
            if line:
                log.info("%s", line)
        await parts.aclose()
    summary.seconds = time.monotonic() - started
    return summary
