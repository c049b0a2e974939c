"""The model report JSON (reports/<judge>/<run_slug>.json) as a typed, versioned record.

report.py builds the report as a dict and writes `ModelReport.model_validate(...)` of it, so a report on
disk always matches this model (and schemas/report.schema.json); report/board.py reads reports back
through it. `format` is the layout generation of the report (2: ci95, stderr, VFS_all, final_all,
epochs); `schema_version` the version of this model.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from iwrbench.records.base import Record, VersionedRecord, read_record
from iwrbench.records.manifest import Manifest
from iwrbench.report.rows import TaskRow
from iwrbench.scoring.scores import PARTS

REPORT_SCHEMA_VERSION = 3  # 1: first reports, 2: format 2 (intervals, epochs), 3: schema_version, typed
REPORT_FORMAT = 2  # 2: ci95, stderr, VFS_all, final_all, epochs (all additions)
REPORT_MARK = "iwrbench-model-report"


def _per_part(name: str, kind: Any, doc: str) -> type[Record]:
    model = create_model(name, __base__=Record, **{p: (kind, None) for p in PARTS})
    model.__doc__ = doc
    return model


PartMeans = _per_part("PartMeans", float | None, "One value per score part (scoring.PARTS); None: no task scored it.")
PartCounts = _per_part("PartCounts", int | None, "How many tasks scored each part.")
PartIntervals = _per_part("PartIntervals", list[float | None] | None,
                          "The 95% bootstrap interval [low, high] of each part's mean.")


class CategoryStats(PartMeans):  # type: ignore[misc, valid-type]
    n: int  # tasks of this category in the mean
    tasks: int
    ci95: PartIntervals  # type: ignore[valid-type]
    stderr: PartMeans  # type: ignore[valid-type]


class VerdictCounts(Record):
    pass_: int = Field(0, alias="pass")
    fail: int = 0
    undecided: int = 0
    error: int = 0

    model_config = {**Record.model_config, "populate_by_name": True, "serialize_by_alias": True}


class Counts(Record):
    tasks: int
    scored: int
    no_page: int
    errors: int
    missing: int
    undecided: int
    verdicts: VerdictCounts
    execution_only: int
    outside_selection: int
    epochs: int
    evaluations: int
    missing_epochs: int


class PromptFileUse(Record):
    name: str | None = None
    sha256: str
    tasks: int


class GenerationSummary(Record):
    protocols: dict[str, int]
    prompt_files: list[PromptFileUse]
    imported: int


class ErrorEntry(Record):
    task_id: str
    epoch: int
    error_kind: str | None = None
    error: str | None = None
    eval_json: str | None = None


class MissingEpoch(Record):
    task_id: str
    epoch: int


class EvaluationsInfo(Record):
    harness_versions: dict[str, int]
    first_finished_at: str | None = None
    last_finished_at: str | None = None


class ModelReport(VersionedRecord):
    schema_version: int = REPORT_SCHEMA_VERSION
    report: str = REPORT_MARK
    format: int = REPORT_FORMAT
    model: str
    model_slug: str
    variant: list[str]
    video_input: str
    run_slug: str
    label: str
    judge: str  # the judge folder
    assertion_judge: str
    agent: str
    generation: GenerationSummary
    complete: bool  # no errors, nothing missing
    mean: PartMeans  # type: ignore[valid-type]
    mean_n: PartCounts  # type: ignore[valid-type]
    ci95: PartIntervals  # type: ignore[valid-type]
    stderr: PartMeans  # type: ignore[valid-type]
    counts: Counts
    judges: dict[str, dict[str, int]]  # score part -> judge -> tasks
    by_category: dict[str, dict[str, CategoryStats]]  # category -> value -> statistics
    errors: list[ErrorEntry]
    missing: list[str]
    missing_epochs: list[MissingEpoch]
    manifest: Manifest
    evaluations: EvaluationsInfo
    notes: list[str]
    tasks: list[TaskRow]


def report_json(report: dict[str, Any]) -> dict[str, Any]:
    """The report as written: validated against ModelReport (a field it does not declare is an error)."""
    return ModelReport.model_validate(report).model_dump(mode="json")


def read_report(path: Any) -> ModelReport | None:
    """A model report file (None when the file is none: missing, another kind of JSON, unreadable)."""
    return read_record(ModelReport, path)
