"""Model inputs from a task's media: frames sampled from the video, images encoded within a budget.

Frames are decoded in ONE sequential pass (grab every frame, convert only the ones we keep): seeking
per frame restarts decoding at the previous keyframe each time, which on long-GOP recordings costs a
multiple of a full pass (bench/frame_sampling.py measures both). Each kept frame is scaled down and
JPEG-encoded as soon as it is decoded, so a task holds at most `max_frames` small JPEGs in memory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import cv2
import numpy as np
from PIL import Image

from iwrbench.models.base import ImagePart

T = TypeVar("T")

FRAME_JPEG_QUALITY = 90
SHEET_PNG_LIMIT = 1_500_000  # a contact sheet larger than this as PNG is sent as JPEG instead
SANE_FPS = (1.0, 240.0)


class MediaError(Exception):
    """The video or an image cannot be read (a data problem of the task, not of the model)."""


@dataclass(frozen=True)
class VideoInfo:
    frame_count: int  # as the container reports it; 0 when unknown
    fps: float  # 0.0 when unknown
    width: int
    height: int

    @property
    def duration(self) -> float | None:
        return self.frame_count / self.fps if self.frame_count > 0 and self.fps > 0 else None


@dataclass(frozen=True)
class SampledFrame(Generic[T]):
    index: int  # 0-based frame number in the video
    time: float  # seconds from the start
    payload: T  # whatever `encode` made of the decoded BGR frame


@dataclass
class SampledVideo(Generic[T]):
    info: VideoInfo
    frames: list[SampledFrame[T]]
    decoded: int = 0  # frames grabbed (decoded) in the pass
    converted: int = 0  # frames converted to images (kept, or candidates for the last state)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- planning


def plan_indices(frame_count: int, video_fps: float, fps: float, max_frames: int) -> list[int]:
    """Frame numbers to keep: one every 1/fps seconds from the first frame, plus the last frame; when
    that is more than `max_frames`, `max_frames` frames evenly spread from first to last instead."""
    if frame_count <= 0:
        return []
    if max_frames < 2 or frame_count == 1:
        return [0] if max_frames >= 1 else []
    last = frame_count - 1
    step = video_fps / fps if video_fps > 0 and fps > 0 else 1.0
    step = max(step, 1.0)
    regular = [round(k * step) for k in range(int(last / step) + 1)]
    if len(regular) > 1 and last - regular[-1] < step / 2:
        regular[-1] = last  # the final sample is the last state itself
    else:
        regular.append(last)
    if len(regular) <= max_frames:
        return sorted(set(regular))
    return sorted({round(i * last / (max_frames - 1)) for i in range(max_frames)})


def spread(items: list[T], n: int) -> list[T]:
    """`n` items evenly spread over `items`, first and last always kept (order kept)."""
    if n >= len(items):
        return list(items)
    if n <= 0:
        return []
    if n == 1:
        return [items[0]]
    picks = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in picks]


# ---------------------------------------------------------------- decoding


def probe_video(path: str | Path) -> VideoInfo:
    cap = _open(path)
    try:
        return _info(cap)
    finally:
        cap.release()


def _open(path: str | Path) -> cv2.VideoCapture:
    if not Path(path).is_file():
        raise MediaError(f"video {path} does not exist")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise MediaError(f"video {path} cannot be opened (unsupported or corrupt)")
    return cap


def _info(cap: cv2.VideoCapture) -> VideoInfo:
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not (SANE_FPS[0] <= fps <= SANE_FPS[1]) or math.isnan(fps):
        fps = 0.0
    return VideoInfo(frame_count=max(count, 0), fps=fps, width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))


def sample_video(path: str | Path, *, fps: float = 1.0, max_frames: int = 64,
                 encode: Callable[[np.ndarray], T]) -> SampledVideo[T]:
    """Sample frames in one front-to-back pass; `encode(bgr)` turns each kept frame into its payload.

    The first and the last decoded frame are always kept. A container whose frame count or rate is
    missing or wrong is handled: the pass keeps going to the real end, and the last state is the
    last frame actually decoded.
    """
    if fps <= 0 or max_frames < 1:
        raise ValueError("fps must be > 0 and max_frames >= 1")
    cap = _open(path)
    try:
        info = _info(cap)
        if info.frame_count > 0 and info.fps > 0:
            return _sample_planned(cap, info, fps, max_frames, encode)
        return _sample_unknown_length(cap, info, fps, max_frames, encode)
    finally:
        cap.release()


def _sample_planned(cap: cv2.VideoCapture, info: VideoInfo, fps: float, max_frames: int,
                    encode: Callable[[np.ndarray], T]) -> SampledVideo[T]:
    wanted = plan_indices(info.frame_count, info.fps, fps, max_frames)
    planned_last = wanted[-1]
    wanted_set = set(wanted[:-1])  # the last state is taken from the last frame really decoded
    # Frames from here on are converted so the real last frame is at hand even if the count is off.
    tail_from = max(0, info.frame_count - max(2, int(info.fps)))
    out = SampledVideo(info=info, frames=[])
    tail: tuple[int, np.ndarray] | None = None
    idx = -1
    while cap.grab():
        idx += 1
        out.decoded += 1
        if idx in wanted_set:
            ok, bgr = cap.retrieve()
            if not ok:
                continue
            out.converted += 1
            out.frames.append(SampledFrame(idx, idx / info.fps, encode(bgr)))
            tail = (idx, bgr)
        elif idx >= tail_from:
            ok, bgr = cap.retrieve()
            if ok:
                out.converted += 1
                tail = (idx, bgr)
    if tail is None:
        if not out.frames:
            raise MediaError("video has no decodable frames")
        return out
    last_idx, last_bgr = tail
    if idx + 1 != info.frame_count or last_idx != planned_last:
        out.notes.append(f"container reported {info.frame_count} frames, decoded {idx + 1}")
    if not out.frames or out.frames[-1].index != last_idx:
        out.frames.append(SampledFrame(last_idx, last_idx / info.fps, encode(last_bgr)))
    if len(out.frames) > max_frames:
        out.frames = spread(out.frames, max_frames)
    return out


def _sample_unknown_length(cap: cv2.VideoCapture, info: VideoInfo, fps: float, max_frames: int,
                           encode: Callable[[np.ndarray], T]) -> SampledVideo[T]:
    """No usable frame count: keep one frame per 1/fps s by timestamp; whenever more than fit are
    kept, drop every other one and halve the rate, so memory stays bounded and the spread even."""
    out = SampledVideo(info=info, frames=[], notes=["frame count or rate unknown: sampled by timestamp"])
    interval = 1.0 / fps
    next_t = 0.0
    last: tuple[int, float, np.ndarray] | None = None
    idx = -1
    while cap.grab():
        idx += 1
        out.decoded += 1
        t = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
        if info.fps > 0 and t <= 0 and idx > 0:
            t = idx / info.fps
        ok, bgr = cap.retrieve()  # every frame may be the last one, so every frame is converted
        if not ok:
            continue
        out.converted += 1
        last = (idx, t, bgr)
        if t + 1e-6 >= next_t:
            out.frames.append(SampledFrame(idx, t, encode(bgr)))
            next_t += interval
            while next_t <= t:
                next_t += interval
            if len(out.frames) > max(1, max_frames - 1):  # keep a place for the last frame
                out.frames = out.frames[::2]
                interval *= 2
                next_t = out.frames[-1].time + interval
    if last is None:
        raise MediaError("video has no decodable frames")
    if out.frames[-1].index != last[0]:
        out.frames.append(SampledFrame(last[0], last[1], encode(last[2])))
    out.frames = spread(out.frames, max_frames)
    return out


def first_frame(path: str | Path) -> np.ndarray:
    """The first decodable frame (BGR)."""
    cap = _open(path)
    try:
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok or bgr is None:
        raise MediaError(f"video {path} has no decodable frames")
    return bgr


# ---------------------------------------------------------------- encoding


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) scaled so the longest side is at most `max_side`; never enlarged."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_frame(bgr: np.ndarray, max_side: int, *, label: str = "", quality: int = FRAME_JPEG_QUALITY) -> ImagePart:
    """A video frame as a JPEG no larger than `max_side` (area-averaged when scaled down)."""
    h, w = bgr.shape[:2]
    tw, th = fit_size(w, h, max_side)
    if (tw, th) != (w, h):
        bgr = cv2.resize(bgr, (tw, th), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise MediaError("frame could not be JPEG-encoded")
    return ImagePart(data=buf.tobytes(), media_type="image/jpeg", label=label)


def encode_image_file(path: str | Path, max_side: int, *, label: str = "") -> ImagePart:
    """A still image (contact sheet) as PNG within `max_side`; as JPEG when the PNG would be large."""
    try:
        with Image.open(path) as src:
            src.load()
            img = src.convert("RGBA") if src.mode in ("RGBA", "LA", "P") else src.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"image {path} cannot be read: {exc}") from None
    if img.mode == "RGBA":  # flatten on white so transparent parts look as on the sheet
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, (0, 0), img)
        img = flat
    size = fit_size(img.width, img.height, max_side)
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    if buf.tell() <= SHEET_PNG_LIMIT:
        return ImagePart(data=buf.getvalue(), media_type="image/png", label=label or Path(path).name)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=FRAME_JPEG_QUALITY)
    return ImagePart(data=buf.getvalue(), media_type="image/jpeg", label=label or Path(path).name)


def bgr_to_png(bgr: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    """A BGR frame as PNG bytes, resized to `size` (w, h) when given (deterministic output)."""
    if size is not None and (bgr.shape[1], bgr.shape[0]) != size:
        interp = cv2.INTER_AREA if size[0] < bgr.shape[1] else cv2.INTER_CUBIC
        bgr = cv2.resize(bgr, size, interpolation=interp)
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise MediaError("frame could not be PNG-encoded")
    return buf.tobytes()


# ---------------------------------------------------------------- budget


def allocate(n_frames: int, n_sheets: int, max_images: int) -> tuple[int, int]:
    """(frames, sheets) that fit `max_images`. Contact sheets come first (without them the model cannot
    name the assets), but at least two frames (first and last state) are kept when the budget allows."""
    if max_images <= 0:
        return 0, 0
    keep_frames_min = min(n_frames, 2 if max_images >= 3 else 1)
    sheets = min(n_sheets, max_images - keep_frames_min)
    frames = min(n_frames, max_images - sheets)
    return frames, sheets
