"""Records written to disk: generation.json and eval.json. The field names are the output contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VerdictValue = Literal["pass", "fail", "undecided", "error"]
TaskStatus = Literal["scored", "error"]
# Why a task could not be scored normally. `no_page` still scores 0 (the model's fault);
# `infrastructure` and `data` are not scored and are listed as errors.
ErrorKind = Literal["no_page", "infrastructure", "data"]


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class GenerationRecord(Record):
    task_id: str
    model: str
    provider: str
    status: Literal["done", "failed"]
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
    settings: dict[str, Any] = Field(default_factory=dict)
    harness_version: str = ""
    finished_at: str = ""


class Verdict(Record):
    """A judge's structured answer about one logical assertion."""

    verdict: VerdictValue
    source: str  # which judge decided: "offline", "openai/gpt-4o", "replay" (not reached) ...
    reason: str = ""


class LocatorInfo(Record):
    method: str = ""  # "offline", "llm", "key", "scroll", "none"
    index: int | None = None  # browser-use element index
    score: float | None = None
    element: str = ""  # short description of the chosen element
    candidates: int = 0


class StepVisual(Record):
    checkpoint: str | None = None  # ground-truth file compared against
    ocr: float | None = None
    image: float | None = None
    low_level: float | None = None
    high_level: float | None = None
    high_level_source: str | None = None
    high_level_detail: dict[str, Any] | None = None
    compared_with: str | None = None  # a stand-in's candidate screenshot (StepRecord.visual_last_state)


class StepRecord(Record):
    index: int  # 1-based action index; the screenshot is step_<index>.png
    type: str
    description: str
    executed: bool = False
    attempted: bool = False
    assertion: Verdict
    screenshot: str | None = None
    locator: LocatorInfo = Field(default_factory=LocatorInfo)
    visual: StepVisual | None = None
    # A flagged checkpoint this step has no screenshot of (never reached): scored against the page's last
    # captured state instead. Counts in VFS_all / final_all only, never in VFS.
    visual_last_state: StepVisual | None = None
    error: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    # how the wait after the action ended: {"cap": s, "capped": the page was still busy at the cap, "seconds"}
    settle: dict[str, Any] | None = None


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


class EvalRecord(Record):
    task_id: str
    model: str
    judge: str  # judge slug: "offline" or the judge model's slug
    agent: str | None = None  # slug of what picked elements ("offline" or a model); None (older files): the judge
    generation: dict[str, Any] = Field(default_factory=dict)  # protocol, prompt_file, imported_from of the page
    status: TaskStatus = "scored"
    total_steps: int
    success_steps: int = 0
    steps: list[StepRecord] = Field(default_factory=list)
    initial: StepVisual | None = None  # visual scores of step 0 (the initial state)
    initial_screenshot: str | None = None
    scores: Scores = Field(default_factory=Scores)
    error: str | None = None
    error_kind: ErrorKind | None = None
    judges: dict[str, str | None] = Field(default_factory=dict)  # which judge produced which score
    verdict_counts: dict[str, int] = Field(default_factory=dict)
    sandbox: dict[str, Any] = Field(default_factory=dict)  # blocked requests, dialogs, pop-ups
    classification: dict[str, str] = Field(default_factory=dict)
    seconds: float = 0.0
    harness_version: str = ""
    finished_at: str = ""
