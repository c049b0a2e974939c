"""Records written to disk: generation.json, trace.json and eval.json. The field names are the output
contract (design.md); every field is declared, and each file carries its `schema_version`.

- A record of the current version accepts no undeclared field (a typo or an undeclared addition is an
  error, caught by the tests that validate every file the suite writes against `schemas/`).
- Open-ended facts go into a typed `details` map: the locator's and the sandbox's notes, whose keys grow
  with the replay (`LocatorInfo`, `SandboxRecord` sort undeclared keys there, so a new note never breaks
  a run), and, in a file written before `schema_version` existed, every field this version does not
  declare: such files still load (`parse_record`), nothing in them is lost.

The report JSON's and the run manifest's models live beside their writers (report_schema.py, manifest.py).
"""

from __future__ import annotations

import os
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, model_validator

VerdictValue = Literal["pass", "fail", "undecided", "error"]
TaskStatus = Literal["scored", "error"]
# Why a task could not be scored normally. `no_page` still scores 0 (the model's fault);
# `infrastructure` and `data` are not scored and are listed as errors.
ErrorKind = Literal["no_page", "infrastructure", "data"]
Details = dict[str, JsonValue]

# Files written before schema_version existed load as version 1.
LEGACY_VERSION = 1
GENERATION_SCHEMA_VERSION = 2
EVAL_SCHEMA_VERSION = 2
TRACE_SCHEMA_VERSION = 1
LEGACY = "legacy"  # validation context key: the file predates schema_version


def _is_legacy(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(LEGACY))


class Record(BaseModel):
    """Every field declared. In a legacy file, undeclared keys go to `details` where the model has one
    (else they are dropped: nested parts of old files had none worth keeping)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _legacy_extras(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not _is_legacy(info):
            return data
        return _sort_undeclared(cls, data)


def _sort_undeclared(cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its undeclared keys moved into `details` (kept only when the model has that field)."""
    fields = cls.model_fields
    extra = {k: v for k, v in data.items() if k not in fields}
    if not extra:
        return data
    out = {k: v for k, v in data.items() if k in fields}
    if "details" in fields:
        out["details"] = {**(data.get("details") or {}), **extra}
    return out


class OpenRecord(Record):
    """A part whose producer adds notes as it learns (the locator, the sandbox): keys this version does
    not declare are kept in `details`, so a new note never fails a run."""

    details: Details = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _open_extras(cls, data: Any) -> Any:
        return _sort_undeclared(cls, data) if isinstance(data, dict) else data


class VersionedRecord(Record):
    """A whole file. `details`: facts this version has no field for (a legacy file's extras)."""

    schema_version: int
    details: Details = Field(default_factory=dict)


R = TypeVar("R", bound=VersionedRecord)


def parse_record(cls: type[R], data: Any) -> R:
    """Validate a file's JSON as `cls`: a file without `schema_version` (written before it existed) loads
    as version 1, its undeclared fields kept in `details`. Raises pydantic.ValidationError."""
    if isinstance(data, dict) and "schema_version" not in data:
        return cls.model_validate({**data, "schema_version": LEGACY_VERSION}, context={LEGACY: True})
    return cls.model_validate(data)


# ---------------------------------------------------------------- generation.json


class PromptFileRef(Record):
    name: str
    sha256: str


class GenerationRecord(VersionedRecord):
    """generation.json: how one page was made (or why it was not)."""

    schema_version: int = GENERATION_SCHEMA_VERSION
    task_id: str
    model: str
    provider: str
    status: Literal["done", "failed"]
    epoch: int = 1
    protocol: str | None = None  # "harness" | "paper"; None for an imported page
    prompt_file: PromptFileRef | None = None
    video_input: str | None = None  # "frames" | "native" (remote models)
    prompt_hash: str | None = None
    frames_sent: int = 0
    images_sent: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    seconds: float = 0.0
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    error_kind: Literal["model", "infrastructure", "data"] | None = None
    assets_copied: list[str] = Field(default_factory=list)
    missing_assets: list[str] | None = None
    settings: Details = Field(default_factory=dict)  # the generation settings (GenerationSettings.public)
    # the request (remote models)
    model_id: str | None = None
    base_url: str | None = None
    image_bytes: int | None = None
    frame_times: list[float] | None = None  # seconds into the recording of each frame sent
    video: Details | None = None  # the recording as read (file, frames, fps, size)
    video_sent: Details | None = None  # native video: what was sent (sha256, bytes, type, fps, re-encoding)
    video_sent_as: str | None = None
    notes: list[str] | None = None
    # the reply (remote models)
    stop_reason: str | None = None
    model_seconds: float | None = None
    truncated: bool | None = None
    temperature_sent: bool | None = None  # whether the request carried a temperature
    cache_key: str | None = None
    iframes_removed: int | None = None
    external_refs: int | None = None  # references to other origins removed
    # built-in models
    source: str | None = None  # what the page was built from
    files_copied: int | None = None  # files of a multi-file page copied beside index.html
    # imported pages (utils/import_pages.py)
    imported_from: str | None = None
    imported_sha256: str | None = None
    source_layout: str | None = None
    harness_version: str = ""
    finished_at: str = ""


# ---------------------------------------------------------------- steps


class Verdict(Record):
    """A judge's structured answer about one logical assertion."""

    verdict: VerdictValue
    source: str  # which judge decided: "offline", "openai/gpt-4o", "replay" (not performed) ...
    reason: str = ""


class LocatorInfo(OpenRecord):
    """How the replay found what it acted on (agent.py, locator.py)."""

    method: str = ""  # "offline", "llm", "key", "key+offline", "scroll", "focused", "none"
    index: int | None = None  # browser-use element index
    score: float | None = None
    element: str = ""  # short description of the chosen element
    candidates: int = 0
    reason: str | None = None  # why this element, or why none
    runner_up: float | None = None
    alternatives: list[str] | None = None
    perception: str | None = None  # where the element list came from
    perception_notes: list[str] | None = None
    fallback: str | None = None  # how the action was done when the direct way failed
    key: str | None = None  # Press
    focus: str | None = None  # Press: "kept" | "moved"
    option: str | None = None  # Select: the option picked
    target: str | None = None  # Drag: where it was dropped
    direction: str | None = None  # Scroll
    delta: list[float] | None = None
    moved: bool | None = None
    how: str | None = None
    ground_truth_moved: bool | None = None
    note: str | None = None


class StepVisual(Record):
    checkpoint: str | None = None  # ground-truth file compared against
    ocr: float | None = None
    image: float | None = None
    low_level: float | None = None
    high_level: float | None = None
    high_level_source: str | None = None
    high_level_detail: Details | None = None  # the rubric's parts and reason, or its error
    image_metric: str | None = None
    image_parts: dict[str, int | float] | None = None
    errors: list[str] | None = None  # parts that could not be scored, and why
    compared_with: str | None = None  # a stand-in's candidate screenshot (StepRecord.visual_last_state)


class SettleInfo(Record):
    """How the wait after an action ended."""

    cap: float
    capped: bool  # the page was still busy at the cap
    seconds: float


class StepFacts(Record):
    """What the replay did for one action: facts only, no judgement (trace.json, and the base of
    eval.json's steps)."""

    index: int  # 1-based action index; the screenshot is step_<index>.png
    type: str
    description: str
    executed: bool = False
    attempted: bool = False
    screenshot: str | None = None
    locator: LocatorInfo = Field(default_factory=LocatorInfo)
    error: str | None = None  # why the action failed when it was tried
    not_reached: str | None = None  # why it was not tried (an earlier action failed, the page hung)
    timings: dict[str, float] = Field(default_factory=dict)
    settle: SettleInfo | None = None


class StepRecord(StepFacts):
    """One step of eval.json: the replay's facts and the judges' decisions."""

    assertion: Verdict
    visual: StepVisual | None = None
    # A flagged checkpoint this step has no screenshot of (never reached): scored against the page's last
    # captured state instead. Counts in VFS_all / final_all only, never in VFS.
    visual_last_state: StepVisual | None = None


class Scores(Record):
    IFS: float | None = None
    VFS: float | None = None
    low_level: float | None = None
    high_level: float | None = None
    final: float | None = None
    ocr: float | None = None
    image: float | None = None
    VFS_all: float | None = None  # every flagged checkpoint counts (see scoring.py); null in older files
    final_all: float | None = None  # 0.7 * IFS + 0.3 * VFS_all


class SandboxRecord(OpenRecord):
    """What the page tried that the sandbox stopped or noticed, and the replay's phases: the page
    sandbox counts into one of these as the page runs (browser.PageSandbox.log)."""

    blocked_requests: int = 0
    blocked_samples: list[str] = Field(default_factory=list)
    navigations_blocked: int = 0
    websockets_blocked: int = 0
    proxy_attempts: int = 0
    proxy_samples: list[str] = Field(default_factory=list)
    browser_service_attempts: int = 0
    dialogs: list[dict[str, str]] = Field(default_factory=list)
    dialog_count: int = 0
    popups: int = 0
    popup_samples: list[str] = Field(default_factory=list)
    page_errors: list[str] = Field(default_factory=list)
    page_error_count: int = 0
    missing_files: list[str] = Field(default_factory=list)
    denied_paths: list[str] = Field(default_factory=list)
    page_missing: bool = False
    requests_served: int = 0
    hung: str | None = None
    crashed: bool = False
    context_resets: int = 0  # evaluations retried because the page replaced its document under them
    isolated_reads: int = 0  # harness scripts the page broke, run again in an isolated world
    script_errors: list[str] = Field(default_factory=list)  # what broke them
    phases: dict[str, float] = Field(default_factory=dict)  # seconds: open, load, initial, close
    perception_notes: list[str] = Field(default_factory=list)


class PageOrigin(Record):
    """What made the page, from its generation.json: eval.json and the reports say it."""

    protocol: str | None = None
    prompt_file: PromptFileRef | None = None
    imported_from: str | None = None
    imported_sha256: str | None = None


class Classification(Record):
    domain: str = ""
    sub_domain: str = ""
    visual_complexity: str = ""
    interaction_complexity: str = ""


class JudgeMap(Record):
    """Which judge produced which score: reports print this so no number hides its source."""

    locator: str | None = None
    assertion: str | None = None
    visual_low: str | None = None
    visual_high: str | None = None
    ocr_engine: str | None = None
    image_metric: str | None = None


class RejudgeInfo(Record):
    """An evaluation judged again from a stored trace (evaluate.py --rejudge), without a browser."""

    trace: str  # the trace's path, relative to the page folder
    replayed_at: str = ""  # when that replay finished


# ---------------------------------------------------------------- eval.json


class EvalRecord(VersionedRecord):
    """eval.json: one task's evaluation under one judge folder."""

    schema_version: int = EVAL_SCHEMA_VERSION
    task_id: str
    model: str
    judge: str  # judge slug: "offline" or the judge model's slug
    agent: str | None = None  # slug of what picked elements ("offline" or a model); None (older files): the judge
    epoch: int = 1
    run_slug: str | None = None  # the page folder's name (layout.run_slug); None in older files
    variant: list[str] | None = None  # run-slug tags (layout.variant_tags); None: the default run
    video_input: str | None = None  # "native" pages were made from the video itself
    generation: PageOrigin = Field(default_factory=PageOrigin)
    status: TaskStatus = "scored"
    total_steps: int
    success_steps: int = 0
    steps: list[StepRecord] = Field(default_factory=list)
    initial: StepVisual | None = None  # visual scores of step 0 (the initial state)
    initial_screenshot: str | None = None
    scores: Scores = Field(default_factory=Scores)
    error: str | None = None
    error_kind: ErrorKind | None = None
    judges: JudgeMap = Field(default_factory=JudgeMap)
    verdict_counts: dict[str, int] = Field(default_factory=dict)
    sandbox: SandboxRecord = Field(default_factory=SandboxRecord)
    classification: Classification = Field(default_factory=Classification)
    source_website: str | None = None
    rejudged: RejudgeInfo | None = None  # set when judged again from a stored trace
    seconds: float = 0.0
    harness_version: str = ""
    finished_at: str = ""


def read_record(cls: type[R], path: str | os.PathLike) -> R | None:
    """The record in the file at `path`, or None when the file is missing, unreadable or not a `cls`."""
    from pydantic import ValidationError

    from iwrbench.fsutil import read_json

    data = read_json(path)
    if data is None:
        return None
    try:
        return parse_record(cls, data)
    except ValidationError:
        return None
