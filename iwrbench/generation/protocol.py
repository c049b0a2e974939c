"""`generate.py --protocol paper`: the generation request the published code sends, rebuilt from facts.

The facts and the published source lines they come from are in docs/protocol.md; in short:
- per-model settings chosen by the first key of the published API_CONFIG contained in the model's
  name (PAPER_CONFIGS, in the published order), else its "default";
- frames: 1 fps from frame 0 while the video lasts at most `max_frames` seconds, else `max_frames`
  frames at an even spacing of (frame count / max_frames); the last frame is not forced;
  max_frames = min(max_video_frames, max_images - number of contact sheets);
- frames JPEG-encoded at their recorded size (quality 95, OpenCV's default); contact sheets sent as
  their files; both scaled to a longest side of `max_single_image_size` where the config sets one;
- one user message: the instructions, then every contact sheet (sorted by name), then the frames,
  no captions; temperature 0; the config's max_tokens and timeout.
The instructions stay this harness's own (or the user's --prompt-file): the published prompt's text
is not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from iwrbench.generation.page_refs import ASSET_PLACEHOLDERS
from iwrbench.media.frames import MediaError, probe_video
from iwrbench.models.base import ImagePart, ModelRequest, TextPart

PROTOCOLS = ("harness", "paper")
PAPER_ASSET_BASE = ASSET_PLACEHOLDERS[0]  # the base path the published prompt asks for
PAPER_JPEG_QUALITY = 95  # cv2.imwrite's default for .jpg, which the published code uses
PAPER_FPS = 1.0


@dataclass(frozen=True)
class PaperConfig:
    """One entry of the published API_CONFIG."""

    key: str
    max_tokens: int
    max_images: int
    max_video_frames: int
    timeout: float
    max_single_image_size: int | None = None
    video_fps: float = PAPER_FPS
    temperature: float = 0.0

    def public(self) -> dict[str, Any]:
        return asdict(self)


# In the published order: the first key contained in the lower-cased model name wins.
PAPER_CONFIGS: tuple[PaperConfig, ...] = (
    PaperConfig("claude", max_tokens=16384, max_images=70, max_video_frames=64, timeout=300,
                max_single_image_size=1000),
    PaperConfig("glm", max_tokens=16384, max_images=20, max_video_frames=20, timeout=600),
    PaperConfig("qwen", max_tokens=4096, max_images=20, max_video_frames=20, timeout=300),
    PaperConfig("gpt-4o-2024-05-13", max_tokens=4096, max_images=70, max_video_frames=64, timeout=600),
    PaperConfig("gpt-5", max_tokens=16384, max_images=70, max_video_frames=64, timeout=600),
    PaperConfig("doubao-seed-1-6-thinking-250615", max_tokens=16384, max_images=70, max_video_frames=64, timeout=600),
    PaperConfig("gpt-4.1-2025-04-14", max_tokens=16384, max_images=70, max_video_frames=64, timeout=600),
)
PAPER_DEFAULT = PaperConfig("default", max_tokens=16384, max_images=70, max_video_frames=64, timeout=300)


def paper_config(model_id: str) -> PaperConfig:
    """The published config for a model: matched on the provider's model id (`gpt-5-2025-08-07`)."""
    name = model_id.lower()
    return next((c for c in PAPER_CONFIGS if c.key in name), PAPER_DEFAULT)


def paper_frame_budget(config: PaperConfig, n_sheets: int) -> int:
    """Frames the published code asks for: min(max_video_frames, max_images - sheets), 0 if none fit."""
    room = config.max_images - n_sheets
    return min(config.max_video_frames, room) if room > 0 else 0


def paper_frame_indices(frame_count: int, video_fps: float, max_frames: int, fps: float = PAPER_FPS) -> list[int]:
    """Frame numbers the published extraction reads (see the module docstring)."""
    if frame_count <= 0 or video_fps <= 0 or max_frames <= 0:
        return []
    duration = frame_count / video_fps
    if duration > max_frames:
        interval, count = frame_count / max_frames, max_frames
    else:
        interval, count = video_fps / fps, int(duration * fps)
    out: list[int] = []
    for i in range(count):
        index = int(i * interval)
        if index >= frame_count:
            break
        out.append(index)
    return out


def _scaled(bgr: np.ndarray, max_side: int | None) -> np.ndarray:
    """The published resize: the longer side (width when w > h, else height) to `max_side`, the
    other side truncated, INTER_AREA; never enlarged."""
    if not max_side:
        return bgr
    h, w = bgr.shape[:2]
    if w > h:
        ratio = max_side / w
        size = (max_side, int(h * ratio))
    else:
        ratio = max_side / h
        size = (int(w * ratio), max_side)
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if ratio < 1.0 else bgr


def encode_paper_frame(bgr: np.ndarray, max_side: int | None) -> ImagePart:
    ok, buf = cv2.imencode(".jpg", _scaled(bgr, max_side), [cv2.IMWRITE_JPEG_QUALITY, PAPER_JPEG_QUALITY])
    if not ok:
        raise MediaError("frame could not be JPEG-encoded")
    return ImagePart(buf.tobytes(), "image/jpeg")


MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def encode_paper_sheet(path: Path, max_side: int | None) -> ImagePart:
    """A contact sheet as its file's bytes; re-encoded (same format) only when it must be scaled."""
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "image/png")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"contact sheet {path} cannot be read: {exc}") from None
    if not max_side:
        return ImagePart(data, media_type, label=path.name)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaError(f"contact sheet {path} is not a readable image")
    scaled = _scaled(bgr, max_side)
    if scaled is bgr:
        return ImagePart(data, media_type, label=path.name)
    ok, buf = cv2.imencode(path.suffix.lower() if path.suffix.lower() in MEDIA_TYPES else ".png", scaled)
    if not ok:
        raise MediaError(f"contact sheet {path} could not be re-encoded")
    return ImagePart(buf.tobytes(), media_type, label=path.name)


@dataclass
class PaperFrames:
    indices: list[int]  # frame numbers sent
    times: list[float]
    frames: list[ImagePart]
    frame_count: int
    fps: float
    width: int
    height: int
    decoded: int = 0
    notes: list[str] = field(default_factory=list)


def read_paper_frames(video: Path, max_frames: int, max_side: int | None,
                      encode: Callable[[np.ndarray, int | None], ImagePart] = encode_paper_frame) -> PaperFrames:
    """The published frame choice, decoded in one front-to-back pass (no seeking) up to the last one."""
    info = probe_video(video)
    if info.frame_count <= 0 or info.fps <= 0:
        raise MediaError(f"video {video}: frame count or rate unknown, and the published protocol samples by "
                         "them (use --protocol harness)")
    wanted = paper_frame_indices(info.frame_count, info.fps, max_frames)
    out = PaperFrames([], [], [], info.frame_count, info.fps, info.width, info.height)
    if not wanted:
        out.notes.append(f"the published protocol takes no frame here ({info.frame_count} frames at "
                         f"{info.fps:g} fps, budget {max_frames})")
        return out
    todo = set(wanted)
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    try:
        idx = -1
        while todo and cap.grab():
            idx += 1
            out.decoded += 1
            if idx in todo:
                ok, bgr = cap.retrieve()
                if ok:
                    out.indices.append(idx)
                    out.times.append(round(idx / info.fps, 3))
                    out.frames.append(encode(bgr, max_side))
                todo.discard(idx)
    finally:
        cap.release()
    if todo:
        out.notes.append(f"{len(todo)} planned frame(s) could not be decoded (the container reported "
                         f"{info.frame_count} frames)")
    return out


def build_paper_request(text: str, sheets: list[ImagePart], frames: list[ImagePart],
                        config: PaperConfig) -> ModelRequest:
    """One user message: the instructions, the contact sheets, the frames; no captions."""
    return ModelRequest(parts=(TextPart(text), *sheets, *frames), system=None, max_tokens=config.max_tokens,
                        temperature=config.temperature, timeout=float(config.timeout), purpose="generate")
