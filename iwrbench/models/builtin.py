"""Offline built-in "models" that make a page from the task itself, deterministically and without a
prompt: references and floors for the scores.

    builtin/oracle      the task's own reference page (reference/index.html, referencing assets/NNN.png); a
                        multi-file reference (a third-party site: scripts, styles, other pages) is served
                        whole: every file of reference/ is copied beside index.html, the page unchanged
    builtin/screenshot  one static image of the initial state at the recording resolution: what a model
                        that reproduces the look but no interaction would get
    builtin/blank       an empty white page
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2

from iwrbench.data.tasks import Task
from iwrbench.media.frames import MediaError, bgr_to_png, first_frame
from iwrbench.models.base import ModelError, ModelRequest, ModelResponse

BUILTIN_KINDS = ("oracle", "screenshot", "blank")
SCREENSHOT_NAME = "screenshot.png"

BLANK_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title></title>
<style>html, body { margin: 0; padding: 0; background: #fff; }</style></head>
<body></body>
</html>
"""

SCREENSHOT_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title></title>
<style>html, body {{ margin: 0; padding: 0; background: #fff; }} img {{ display: block; }}</style></head>
<body><img src="assets/{name}" width="{width}" height="{height}" alt=""></body>
</html>
"""


class TaskDataError(Exception):
    """The task lacks what this model needs (a data problem, recorded as error_kind "data")."""


@dataclass
class BuiltinPage:
    html: str
    uses_task_assets: bool = False  # True: post-process like a model reply (rewrite refs, copy assets)
    generated: dict[str, bytes] = field(default_factory=dict)  # files written under assets/
    source: str = ""  # what the page was made from, for generation.json
    folder: Path | None = None  # a multi-file page: every file of this folder goes beside index.html


class BuiltinModel:
    """Has the Model protocol's name/provider, but answers no prompts: generation calls `build_page`."""

    provider = "builtin"

    def __init__(self, name: str, kind: str):
        if kind not in BUILTIN_KINDS:
            raise ValueError(f"unknown builtin {kind!r}")
        self.name = name
        self.kind = kind
        self.model_id = kind

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise ModelError(f"{self.name} builds pages from the task; it cannot answer prompts",
                         retryable=False, kind="client_error")

    async def aclose(self) -> None:
        return None

    def build_page(self, task: Task) -> BuiltinPage:
        if self.kind == "blank":
            return BuiltinPage(html=BLANK_HTML, source="blank")
        if self.kind == "oracle":
            ref = task.reference_page
            if ref is None:
                raise TaskDataError(f"task {task.id} ships no reference page ({task.folder}/reference/index.html)")
            try:
                html = ref.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TaskDataError(f"reference page {ref} cannot be read: {exc}") from None
            if any(p.name != "index.html" for p in ref.parent.iterdir()):
                return BuiltinPage(html=html, source=str(ref.parent.relative_to(task.folder)) + "/",
                                   folder=ref.parent)
            return BuiltinPage(html=html, uses_task_assets=True, source=str(ref.relative_to(task.folder)))
        bgr, source = self._initial_state(task)
        png = bgr_to_png(bgr, (task.width, task.height))
        html = SCREENSHOT_HTML.format(name=SCREENSHOT_NAME, width=task.width, height=task.height)
        return BuiltinPage(html=html, generated={SCREENSHOT_NAME: png}, source=source)

    @staticmethod
    def _initial_state(task: Task) -> tuple[object, str]:
        problems: list[str] = []
        if task.video is not None:
            try:
                return first_frame(task.video), f"{task.video.name} frame 0"
            except MediaError as exc:
                problems.append(str(exc))
        step0: Path | None = task.checkpoint(0)
        if step0 is not None:
            bgr = cv2.imread(str(step0), cv2.IMREAD_COLOR)
            if bgr is not None:
                return bgr, str(step0.relative_to(task.folder))
            problems.append(f"{step0} cannot be read")
        problems = problems or ["no video and no checkpoints/step_0.png"]
        raise TaskDataError(f"task {task.id}: no initial state to show: {'; '.join(problems)}")
