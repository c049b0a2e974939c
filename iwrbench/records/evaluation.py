"""eval.json and its parts: per step the facts, verdict and visual scores; the scores; the sandbox log."""

from __future__ import annotations

from pydantic import Field

from iwrbench.records.base import (
    EVAL_SCHEMA_VERSION,
    Details,
    ErrorKind,
    OpenRecord,
    Record,
    TaskStatus,
    VerdictValue,
    VersionedRecord,
)
from iwrbench.records.generation import PromptFileRef

# ---------------------------------------------------------------- steps


class Verdict(Record):
    """A judge's structured answer about one logical assertion."""

    verdict: VerdictValue
    source: str  # which judge decided: "offline", "openai/gpt-4o", "replay" (not performed) ...
    reason: str = ""


class LocatorInfo(OpenRecord):
    """How the replay found what it acted on (replay/element_finder.py, locate/)."""

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
    VFS_all: float | None = None  # every flagged checkpoint counts (see scoring/scores.py); null in older files
    final_all: float | None = None  # 0.7 * IFS + 0.3 * VFS_all


class SandboxRecord(OpenRecord):
    """What the page tried that the sandbox stopped or noticed, and the replay's phases: the page
    sandbox counts into one of these as the page runs (sandbox/page_sandbox.PageSandbox.log)."""

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


