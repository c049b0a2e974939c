"""Rows of the reports: finding eval.json files, reading each into a task row (per epoch), combining a
task's epochs, and collecting every run of one judge folder.

A page folder is named by its run slug (layout.py); `<run_slug>@epoch-<e>` folders are epochs of the run
`<run_slug>`, grouped into one ModelResult. Different variant tags are different runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from iwrbench.data.tasks import Task
from iwrbench.fsutil import read_json
from iwrbench.judges.base import EXECUTION_SOURCE
from iwrbench.layout import (
    AGENT_SEP,
    EPOCH_SEP,
    EVAL_FILE,
    EVAL_FOLDER,
    REPORTS_FOLDER,
    model_slug,
    parse_run_slug,
)
from iwrbench.layout import judge_slug as slug_of_judge
from iwrbench.records.base import Record, parse_record
from iwrbench.records.evaluation import Classification, EvalRecord
from iwrbench.scoring.scores import PARTS, classify, counted_scores

log = logging.getLogger("iwrbench.report")

VERDICTS = ("pass", "fail", "undecided", "error")
CheckpointMode = Literal["auto", "link", "copy"]  # how index.html shows ground-truth images (report_html)


class PartScores(Record):
    """The score parts (scoring.PARTS) of one task or evaluation, 0-100, None where not scored."""

    IFS: float | None = None
    VFS: float | None = None
    final: float | None = None
    low_level: float | None = None
    high_level: float | None = None
    ocr: float | None = None
    image: float | None = None
    VFS_all: float | None = None
    final_all: float | None = None


class EpochRow(PartScores):
    """One epoch of a task (a report row's `per_epoch`)."""

    epoch: int
    status: Literal["scored", "error", "missing"]
    counted: bool
    error_kind: str | None = None
    eval_json: str | None = None


class TaskRow(PartScores):
    """One task of one model under one judge: what the json `tasks` list and the csv hold. The row of an
    evaluation is per epoch; the task's row combines its epochs (`combine_epochs`)."""

    task_id: str
    status: Literal["scored", "error", "missing"]
    counted: bool  # in the mean: scored tasks and tasks with no page (scored 0)
    error: str | None = None
    error_kind: str | None = None
    success_steps: int | None = None
    total_steps: int | None = None
    undecided: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    execution_only: int = 0  # steps passed on execution alone: the data gives them no assertion
    domain: str = ""
    sub_domain: str = ""
    visual_complexity: str = ""
    interaction_complexity: str = ""
    source_website: str = ""
    judges: dict[str, str | None] = Field(default_factory=dict)
    seconds: float | None = None
    harness_version: str | None = None
    finished_at: str | None = None
    eval_json: str | None = None  # relative to --result
    page: str | None = None  # the generated page, relative to --result, when it exists
    epoch: int = 1  # the epoch this row's details come from
    epochs: int = 0  # counted epochs (evaluations in the mean) of this task
    per_epoch: list[EpochRow] = Field(default_factory=list)  # each epoch's status and scores (>1 epoch)


@dataclass
class ModelResult:
    """Everything known about one run (a run slug) under one judge; the html report reads the records too."""

    slug: str
    name: str
    rows: list[TaskRow]
    records: dict[tuple[str, int], EvalRecord]  # (task id, epoch) -> record
    eval_dirs: dict[tuple[str, int], Path]
    epochs: list[int] = field(default_factory=lambda: [1])
    epoch_rows: dict[str, dict[int, TaskRow]] = field(default_factory=dict)
    outside_selection: int = 0
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> tuple[str, ...]:
        try:
            return parse_run_slug(self.slug).variant
        except ValueError:
            return ()

    @property
    def label(self) -> str:
        """The model's name, and its variant tags when it has any: `google/gemini-2.5-pro [video]`."""
        return f"{self.name} [{', '.join(self.variant)}]" if self.variant else self.name


# ---------------------------------------------------------------- discovery

Found = dict[str, dict[str, dict[str, dict[int, Path]]]]


def split_folder(name: str) -> tuple[str, int]:
    """A page folder's name -> (run slug without the epoch, epoch). A name that is not a run slug is its
    own run (its eval.json then says which model it is, and a mismatch is reported)."""
    try:
        parsed = parse_run_slug(name)
    except ValueError:
        return name, 1
    return (name.rpartition(EPOCH_SEP)[0] if parsed.epoch > 1 else name), parsed.epoch


def epoch_folder(run: str, epoch: int) -> str:
    return run if epoch == 1 else f"{run}{EPOCH_SEP}{epoch}"


def discover(result: Path) -> Found:
    """{judge_slug: {run_slug: {task_id: {epoch: eval.json}}}} for every eval.json under --result."""
    found: Found = {}
    if not result.is_dir():
        return found
    for task_dir in sorted(result.iterdir()):
        if not task_dir.is_dir() or task_dir.name == REPORTS_FOLDER or task_dir.name.startswith("."):
            continue
        for model_dir in sorted(task_dir.iterdir()):
            eval_root = model_dir / EVAL_FOLDER
            if not eval_root.is_dir():
                continue
            run, epoch = split_folder(model_dir.name)
            for judge_dir in sorted(eval_root.iterdir()):
                path = judge_dir / EVAL_FILE
                if path.is_file():
                    found.setdefault(judge_dir.name, {}).setdefault(run, {}).setdefault(
                        task_dir.name, {})[epoch] = path
    return found


def task_sort_key(task_id: str) -> tuple[int, int, str]:
    return (0, int(task_id), "") if task_id.isdigit() else (1, 0, task_id)


# ---------------------------------------------------------------- one task


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def load_record(path: Path, *, task_id: str, model_folder: str, judge_folder: str) -> tuple[EvalRecord | None, str]:
    """The eval.json as a record (a file written before schema_version existed loads too), or None and
    the reason it cannot be used in this report. `model_folder` is the run slug (the page folder's name
    without its epoch)."""
    data = read_json(path)
    if not isinstance(data, dict):
        return None, "eval.json is unreadable or not a JSON object"
    try:
        rec = parse_record(EvalRecord, data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
        return None, f"eval.json does not match the schema: {where}: {first.get('msg', '')}"
    judge_s = slug_of_judge(rec.judge)
    folder_of_record = evaluator_slug_of(judge_s, rec.agent)
    if folder_of_record != judge_folder:
        who = f"judge {rec.judge!r}" + (f" and agent {rec.agent!r}" if folder_of_record != judge_s else "")
        return None, f"eval.json says {who} but is stored under {judge_folder!r}: not mixed in"
    if str(rec.task_id) != task_id:
        return None, f"eval.json says task {rec.task_id!r} but is stored under task {task_id!r}"
    try:  # the folder is the run slug: the model's slug, then the variant tags the record names
        folder = parse_run_slug(model_folder)
        same = folder.epoch == 1 and (folder.model, folder.variant) == (
            model_slug(rec.model), tuple(rec.variant or ()))
    except (ValueError, TypeError):
        same = False
    if not same:
        return None, f"eval.json says model {rec.model!r} but is stored under {model_folder!r}"
    return rec, ""


def evaluator_slug_of(judge_s: str, agent_s: str | None) -> str:
    """The judge folder an eval.json belongs in, from its judge and agent slugs (agent None: the judge)."""
    if agent_s is None or agent_s == judge_s:
        return judge_s
    return f"{judge_s}{AGENT_SEP}{agent_s}"


def verdict_counts(rec: EvalRecord) -> dict[str, int]:
    if rec.steps:
        counts = Counter(s.assertion.verdict for s in rec.steps)
    else:
        counts = Counter({k: int(v) for k, v in rec.verdict_counts.items() if isinstance(v, int | float)})
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def _classification(task: Task | None, rec: EvalRecord | None) -> dict[str, str]:
    if task is not None:
        c = task.classification
        return {"domain": c.domain, "sub_domain": c.sub_domain, "visual_complexity": c.visual_complexity,
                "interaction_complexity": c.interaction_complexity}
    return rec.classification.model_dump() if rec is not None else Classification().model_dump()


def make_row(result: Path, task_id: str, model_folder: str, judge_folder: str, path: Path | None,
             task: Task | None, epoch: int = 1) -> tuple[TaskRow, EvalRecord | None]:
    """The report row of one task's evaluation at `epoch` (and its record when usable)."""
    page = result / task_id / epoch_folder(model_folder, epoch) / "index.html"
    page_rel = page.relative_to(result).as_posix() if page.is_file() else None
    website = task.source_website if task is not None else ""
    if path is None:
        row = TaskRow(task_id=task_id, status="missing", counted=False, page=page_rel, epoch=epoch,
                      source_website=website, error="no eval.json", **_classification(task, None))
        return row, None
    rec, problem = load_record(path, task_id=task_id, model_folder=model_folder, judge_folder=judge_folder)
    eval_rel = path.relative_to(result).as_posix()
    if rec is None:
        log.warning("report: %s: %s", path, problem)
        row = TaskRow(task_id=task_id, status="error", counted=False, error=problem, error_kind="infrastructure",
                      eval_json=eval_rel, page=page_rel, source_website=website, epoch=epoch,
                      **_classification(task, None))
        return row, None
    status, counted = classify(rec)
    scores = {p: _round(v) for p, v in counted_scores(rec).items() if p in PARTS}
    verdicts = verdict_counts(rec)
    row = TaskRow(task_id=task_id, status=status, counted=counted, **scores, error=rec.error,
                  error_kind=rec.error_kind, success_steps=rec.success_steps, total_steps=rec.total_steps,
                  undecided=verdicts["undecided"], verdicts=verdicts, judges=rec.judges.model_dump(),
                  execution_only=sum(s.assertion.source == EXECUTION_SOURCE for s in rec.steps),
                  seconds=rec.seconds, harness_version=rec.harness_version or None,
                  finished_at=rec.finished_at or None, eval_json=eval_rel, page=page_rel,
                  source_website=website or rec.source_website or "",
                  epoch=epoch, epochs=int(counted), **_classification(task, rec))
    return row, rec


def _mean_or_none(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return _round(sum(vals) / len(vals)) if vals else None


def combine_epochs(rows: dict[int, TaskRow]) -> TaskRow:
    """One task's row over its epochs: scores are the means over the counted epochs; the details (steps
    ok, judges, page) are those of the first counted epoch (else the first error, else missing)."""
    if len(rows) == 1:
        return next(iter(rows.values()))
    ordered = [rows[e] for e in sorted(rows)]
    counted = [r for r in ordered if r.counted]
    base = counted[0] if counted else next((r for r in ordered if r.status == "error"), ordered[0])
    scores = {p: _mean_or_none([getattr(r, p) for r in counted]) for p in PARTS} if counted else \
        {p: None for p in PARTS}
    verdicts = Counter()
    for r in counted:
        verdicts.update(r.verdicts)
    all_no_page = bool(counted) and all(r.error_kind == "no_page" for r in counted)
    some_problem = base.error if not counted else (base.error if all_no_page else None)
    per_epoch = [EpochRow(epoch=r.epoch, status=r.status, counted=r.counted, error_kind=r.error_kind,
                          **{p: getattr(r, p) for p in PARTS}, eval_json=r.eval_json)
                 for r in ordered if r.status != "missing"]
    return base.model_copy(update=dict(
        **scores, counted=bool(counted), status="scored" if counted else base.status, error=some_problem,
        error_kind=("no_page" if all_no_page else None) if counted else base.error_kind,
        verdicts={v: int(verdicts.get(v, 0)) for v in VERDICTS} if counted else base.verdicts,
        undecided=int(verdicts.get("undecided", 0)) if counted else base.undecided,
        execution_only=sum(r.execution_only for r in counted), epochs=len(counted), per_epoch=per_epoch))


def _run_name(records: dict[tuple[str, int], EvalRecord], run: str) -> str:
    """The model's name as its records give it (the run slug when there is no record)."""
    names = Counter(rec.model for rec in records.values())
    return names.most_common(1)[0][0] if names else run


def collect_judge(result: Path, judge: str, models: dict[str, dict[str, dict[int, Path]]],
                  tasks: list[Task] | None) -> list[ModelResult]:
    """Rows for every run under one judge, over the task list (or the union of evaluated tasks)."""
    by_id = {t.id: t for t in tasks} if tasks is not None else {}
    if tasks is not None:
        order = [t.id for t in tasks]
    else:
        order = sorted({tid for paths in models.values() for tid in paths}, key=task_sort_key)
    selected = set(order)
    out: list[ModelResult] = []
    for run in sorted(models):
        paths = models[run]
        epochs = list(range(1, max((e for tid in paths if tid in selected for e in paths[tid]), default=1) + 1))
        rows: list[TaskRow] = []
        epoch_rows: dict[str, dict[int, TaskRow]] = {}
        records: dict[tuple[str, int], EvalRecord] = {}
        for tid in order:
            found = paths.get(tid, {})
            per: dict[int, TaskRow] = {}
            for e in (sorted(found) if found else [1]):
                row, rec = make_row(result, tid, run, judge, found.get(e), by_id.get(tid), e)
                per[e] = row
                if rec is not None:
                    records[(tid, e)] = rec
            epoch_rows[tid] = per
            rows.append(combine_epochs(per))
        outside = sum(1 for tid in paths if tid not in selected)
        out.append(ModelResult(slug=run, name=_run_name(records, run), rows=rows, records=records,
                               eval_dirs={(tid, e): p.parent for tid, eps in paths.items() for e, p in eps.items()},
                               epochs=epochs, epoch_rows=epoch_rows, outside_selection=outside))
    return out


