"""What the model is sent for one task: the inputs taken from the task (frames sampled from the
recording and contact sheets of the assets, within the image budget; or the recording itself under
`--video-input native`), and the model request built from them under the settings' protocol and
instructions. CPU-bound and free of I/O beyond reading the task: the per-task run calls it in a thread.

The model sees the recording as still frames (`video_input` "frames", the default and the published
protocol) or as the video itself ("native", for models that take video: iwrbench/media/video_clip.py);
native pages go to their own run slug (`<model_slug>--video`), so the two are never averaged together.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Task
from iwrbench.generation.prompt import (
    ASSET_PLACEHOLDER,
    build_request,
    build_video_request,
    paper_instructions,
)
from iwrbench.generation.protocol import (
    PAPER_ASSET_BASE,
    build_paper_request,
    encode_paper_sheet,
    paper_frame_budget,
    read_paper_frames,
)
from iwrbench.generation.settings import GenerationSettings
from iwrbench.media.frames import allocate, encode_frame, encode_image_file, sample_video
from iwrbench.media.video_clip import VideoClip, prepare_clip
from iwrbench.models.base import ImagePart, ModelRequest
from iwrbench.models.builtin import TaskDataError


@dataclass
class Inputs:
    frames: list[tuple[float, ImagePart]]
    sheets: list[ImagePart]
    video: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def image_bytes(self) -> int:
        return sum(len(p.data) for _, p in self.frames) + sum(len(p.data) for p in self.sheets)


def _contact_sheets(task: Task, notes: list[str], scratch: Path) -> list[Path]:
    sheets = task.contact_sheets()
    if sheets or not task.asset_files():
        return sheets
    from iwrbench.media.contact_sheet import make_contact_sheets  # only for tasks shipped without sheets

    notes.append("task has no contact sheets: made them from assets/")
    return [path for path, _names in make_contact_sheets(task.asset_files(), scratch)]


def prepare_inputs(task: Task, settings: GenerationSettings) -> Inputs:
    """Sample the video and encode frames and contact sheets within the image budget (CPU-bound)."""
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    notes: list[str] = []
    side = settings.model.image_side
    with tempfile.TemporaryDirectory(prefix="iwrbench-sheets-") as scratch:
        sheet_paths = _contact_sheets(task, notes, Path(scratch))
        max_frames, n_sheets = allocate(settings.max_frames, len(sheet_paths), settings.model.max_images)
        if n_sheets < len(sheet_paths):
            notes.append(f"image budget {settings.model.max_images}: sent {n_sheets} of {len(sheet_paths)} "
                         "contact sheets")
        sheets = [encode_image_file(p, side) for p in sheet_paths[:n_sheets]]
    if max_frames < 1:
        raise TaskDataError(f"image budget {settings.model.max_images} leaves no room for a frame")
    sampled = sample_video(task.video, fps=settings.fps, max_frames=max_frames,
                           encode=lambda bgr: encode_frame(bgr, side))
    notes.extend(sampled.notes)
    frames = [(f.time, ImagePart(f.payload.data, f.payload.media_type, label=f"frame {f.index}"))
              for f in sampled.frames]
    info = sampled.info
    video = {"file": task.video.name, "frames": info.frame_count, "fps": round(info.fps, 3),
             "width": info.width, "height": info.height, "decoded": sampled.decoded}
    return Inputs(frames=frames, sheets=sheets, video=video, notes=notes)


def prepare_request(task: Task, settings: GenerationSettings) -> tuple[ModelRequest, Inputs]:
    """The whole frames request for one task under the settings' protocol and instructions (CPU-bound)."""
    if settings.protocol == "paper":
        return _paper_request(task, settings)
    inputs = prepare_inputs(task, settings)
    text = None
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, settings.fps, len(inputs.frames),
                                                            len(inputs.sheets), ASSET_PLACEHOLDER))
    request = build_request(width=task.width, height=task.height, fps=settings.fps, frames=inputs.frames,
                            sheets=inputs.sheets, max_tokens=settings.model.max_tokens,
                            temperature=settings.model.temperature, timeout=settings.model.timeout,
                            instructions_text=text)
    return request, inputs


def _prompt_fields(task: Task, fps: float, frames: int, sheets: int, assets_base: str) -> dict[str, Any]:
    return {"width": task.width, "height": task.height, "resolution": f"{task.width}x{task.height}",
            "fps": f"{fps:g}", "frames": frames, "sheets": sheets, "assets_base": assets_base}


def _paper_request(task: Task, settings: GenerationSettings) -> tuple[ModelRequest, Inputs]:
    """--protocol paper: the published code's request (iwrbench.protocol, docs/protocol.md)."""
    config = settings.paper
    if config is None:
        raise ValueError("--protocol paper without the published config of the model")
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    sheet_paths = task.contact_sheets()
    notes = [] if sheet_paths else ["task has no contact sheets: the published protocol sends none"]
    sheets = [encode_paper_sheet(p, config.max_single_image_size) for p in sheet_paths]
    got = read_paper_frames(task.video, paper_frame_budget(config, len(sheets)), config.max_single_image_size)
    notes += got.notes
    frames = [(t, ImagePart(p.data, p.media_type, label=f"frame {i}"))
              for i, t, p in zip(got.indices, got.times, got.frames, strict=True)]
    inputs = Inputs(frames=frames, sheets=sheets, notes=notes,
                    video={"file": task.video.name, "frames": got.frame_count, "fps": round(got.fps, 3),
                           "width": got.width, "height": got.height, "decoded": got.decoded})
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, config.video_fps, len(frames), len(sheets),
                                                            PAPER_ASSET_BASE))
    else:
        text = paper_instructions(width=task.width, height=task.height, sheets=len(sheets))
    return build_paper_request(text, sheets, [p for _, p in frames], config), inputs


def prepare_native(task: Task, settings: GenerationSettings) -> tuple[VideoClip, list[ImagePart], list[str]]:
    """The recording itself within the video limits, and the contact sheets as images (CPU-bound)."""
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="iwrbench-sheets-") as scratch:
        paths = _contact_sheets(task, notes, Path(scratch))
        n = min(len(paths), settings.model.max_images)
        if n < len(paths):
            notes.append(f"image budget {settings.model.max_images}: sent {n} of {len(paths)} contact sheets")
        sheets = [encode_image_file(p, settings.model.image_side) for p in paths[:n]]
    return prepare_clip(task.video, settings.video), sheets, notes


def native_request(task: Task, settings: GenerationSettings, clip: VideoClip, sheets: list[ImagePart]) -> ModelRequest:
    """The whole native-video request for one task, from what prepare_native returned."""
    text = None
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, clip.fps, clip.frames, len(sheets),
                                                            ASSET_PLACEHOLDER))
    return build_video_request(width=task.width, height=task.height, video=clip.part(f"task {task.id}"),
                               duration=clip.frames / clip.fps if clip.fps > 0 else None, sheets=sheets,
                               max_tokens=settings.model.max_tokens, temperature=settings.model.temperature,
                               timeout=settings.model.timeout, instructions_text=text)
