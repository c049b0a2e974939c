"""The recording itself for video models (generate.py --video-input native), within the user's limits.

A recording that already fits (an .mp4 or .webm file, at most `fps` frames per second, its longest side
at most `max_side`, at most `max_mb`) is sent byte for byte as it is. Any other is re-encoded with
OpenCV, in one front-to-back pass: one frame every 1/fps seconds from the first, scaled down (area
averaging) to `max_side`, and the last frame always kept (the final state). When the result is over
`max_mb`, the frame rate is halved (down to 0.5 fps), then the size cut by 30 %, and it is encoded
again; a recording that cannot be brought under the limit is the task's data error.

Codec: VP8 in WebM (`video/webm`). The OpenCV wheel here cannot write H.264 (its ffmpeg has no
software H.264 encoder: only `h264_v4l2m2m`, which needs a hardware device) and cannot write AV1.
It writes MPEG-4 Part 2 (`mp4v`), VP8 and VP9; of those only VP8/VP9 WebM is decoded by browsers,
is on Gemini's list of video types and is read by vLLM's video loaders (OpenCV, PyAV), and VP8 encodes
about 4x faster than VP9 at the same size here. The WebM muxer writes a random TrackUID into every
file; it is set to 1 afterwards (`normalize_webm`), so the same recording and settings always give
the same bytes, hence the same response-cache key on a rerun.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from iwrbench.media.frames import MediaError, fit_size, probe_video
from iwrbench.models.base import VideoPart

AS_IS_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
OUTPUT_FOURCC = "VP80"
OUTPUT_TYPE = "video/webm"
MIN_FPS = 0.5
MIN_SIDE = 160
MAX_TRIES = 6
MB = 1024 * 1024


@dataclass(frozen=True)
class VideoSettings:
    """The limits a native video is sent within (generate.py --video-fps, --video-max-side, --video-max-mb)."""

    fps: float = 2.0
    max_side: int = 1280
    max_mb: float = 20.0

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * MB)

    def public(self) -> dict[str, Any]:
        return {"video_fps": self.fps, "video_max_side": self.max_side, "video_max_mb": self.max_mb}


@dataclass(frozen=True)
class VideoClip:
    """The bytes to send and what they are (generation.json records everything but the bytes)."""

    data: bytes
    media_type: str
    fps: float
    width: int
    height: int
    frames: int  # frames in `data` (counted while writing; the container's count when sent as is)
    reencoded: bool
    reason: str
    source: dict[str, Any]
    tries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def part(self, label: str = "recording") -> VideoPart:
        return VideoPart(self.data, self.media_type, fps=self.fps, label=label)

    def record(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": len(self.data), "media_type": self.media_type,
                "fps": round(self.fps, 3), "width": self.width, "height": self.height, "frames": self.frames,
                "duration": round(self.frames / self.fps, 2) if self.fps > 0 else None,
                "reencoded": self.reencoded, "reason": self.reason, "source": self.source, "tries": self.tries}


def prepare_clip(path: str | Path, settings: VideoSettings) -> VideoClip:
    """The recording at `path` as it is when it fits `settings`, else re-encoded to fit (CPU-bound)."""
    path = Path(path)
    info = probe_video(path)
    raw = path.read_bytes()
    source = {"file": path.name, "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
              "fps": round(info.fps, 3), "width": info.width, "height": info.height, "frames": info.frame_count}
    why = _why_reencode(path, info.fps, max(info.width, info.height), len(raw), settings)
    if why is None:
        return VideoClip(raw, AS_IS_TYPES[path.suffix.lower()], info.fps, info.width, info.height, info.frame_count,
                         reencoded=False, reason="within the limits: sent as recorded", source=source)
    fps, side = settings.fps, settings.max_side
    tries: list[dict[str, Any]] = []
    for _ in range(MAX_TRIES):
        data, out_fps, (w, h), frames = reencode(path, fps=fps, max_side=side)
        tries.append({"fps": round(out_fps, 3), "max_side": side, "bytes": len(data)})
        if len(data) <= settings.max_bytes:
            return VideoClip(data, OUTPUT_TYPE, out_fps, w, h, frames, reencoded=True, reason=why, source=source,
                             tries=tries)
        if out_fps / 2 >= MIN_FPS:
            fps = out_fps / 2
        elif side * 0.7 >= MIN_SIDE:
            side = int(side * 0.7)
        else:
            break
    raise MediaError(f"video {path}: re-encoded at {tries[-1]['fps']:g} fps and {tries[-1]['max_side']} px it is "
                     f"still {tries[-1]['bytes'] / MB:.2f} MB, above --video-max-mb {settings.max_mb:g}")


def _why_reencode(path: Path, fps: float, side: int, size: int, settings: VideoSettings) -> str | None:
    if path.suffix.lower() not in AS_IS_TYPES:
        return f"{path.suffix or 'no suffix'} is not a video type every provider takes (mp4, webm)"
    if fps <= 0:
        return "its frame rate is unknown"
    if fps > settings.fps + 1e-6:
        return f"{fps:g} fps is above --video-fps {settings.fps:g}"
    if side > settings.max_side:
        return f"its longest side {side} px is above --video-max-side {settings.max_side}"
    if size > settings.max_bytes:
        return f"{size / MB:.1f} MB is above --video-max-mb {settings.max_mb:g}"
    return None


def reencode(path: str | Path, *, fps: float, max_side: int) -> tuple[bytes, float, tuple[int, int], int]:
    """(webm bytes, frame rate, (width, height), frames written): one frame every 1/fps s and the last one."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise MediaError(f"video {path} cannot be opened (unsupported or corrupt)")
    try:
        src_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        src_fps = src_fps if 1.0 <= src_fps <= 240.0 else 0.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        w, h = fit_size(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), max_side)
        size = (max(2, w - w % 2), max(2, h - h % 2))  # VP8's 4:2:0 wants even sides
        out_fps = min(fps, src_fps) if src_fps > 0 else fps
        tail_from = count - max(2, math.ceil(src_fps)) if count > 0 and src_fps > 0 else 0
        with tempfile.TemporaryDirectory(prefix="iwrbench-video-") as scratch:
            target = Path(scratch) / "clip.webm"
            # OpenCV prints (fprintf, past its log level) that WebM has no codec tags, then writes VP8.
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*OUTPUT_FOURCC), out_fps, size)
            if not writer.isOpened():
                raise MediaError(f"OpenCV cannot open a {OUTPUT_FOURCC} WebM writer here")
            try:
                frames = _resample(cap, writer, src_fps, out_fps, size, tail_from)
            finally:
                writer.release()
            if frames == 0:
                raise MediaError(f"video {path} has no decodable frames")
            data = target.read_bytes()
    finally:
        cap.release()
    return normalize_webm(data), out_fps, size, frames


def _resample(cap: cv2.VideoCapture, writer: cv2.VideoWriter, src_fps: float, out_fps: float,
              size: tuple[int, int], tail_from: int) -> int:
    """Write one frame every 1/out_fps s (by frame number, or by timestamp when the rate is unknown),
    then the last decoded frame if it was not written yet. Returns frames written."""

    def put(bgr: np.ndarray) -> None:
        if (bgr.shape[1], bgr.shape[0]) != size:
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        writer.write(bgr)

    interval, next_t = 1.0 / out_fps, 0.0
    written, idx = 0, -1
    last: tuple[int, np.ndarray] | None = None
    last_written = -1
    while cap.grab():
        idx += 1
        t = idx / src_fps if src_fps > 0 else float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
        keep = t + 1e-6 >= next_t
        if not keep and idx < tail_from:
            continue  # neither sampled nor possibly the last frame: not even converted
        ok, bgr = cap.retrieve()
        if not ok:
            continue
        last = (idx, bgr)
        if keep:
            put(bgr)
            written, last_written = written + 1, idx
            while next_t <= t + 1e-6:
                next_t += interval
    if last is not None and last[0] != last_written:
        put(last[1])
        written += 1
    return written


# ---------------------------------------------------------------- deterministic WebM

_SEGMENT, _CLUSTER = 0x18538067, 0x1F43B675
_MASTERS = {_SEGMENT, 0x1654AE6B, 0xAE, 0x1254C367, 0x7373, 0x63C0}  # Segment, Tracks, TrackEntry, Tags, Tag, Targets
_UIDS = {0x73C5, 0x63C5}  # TrackUID, TagTrackUID


def _vint(buf: bytearray, pos: int, *, keep_marker: bool) -> tuple[int, int, bool]:
    """(value, length, all ones = unknown size) of the EBML variable-length integer at `pos`."""
    first = buf[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(buf):
        raise ValueError("not an EBML integer")
    value = first if keep_marker else first & (0xFF >> length)
    for b in buf[pos + 1: pos + length]:
        value = (value << 8) | b
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def normalize_webm(data: bytes) -> bytes:
    """`data` with every TrackUID and TagTrackUID (random per file) set to 1; the frames are untouched.
    Anything that does not parse as expected is left as it is."""
    buf = bytearray(data)

    def walk(pos: int, end: int) -> bool:  # False: the first Cluster was reached, stop
        while pos < end:
            eid, n, _ = _vint(buf, pos, keep_marker=True)
            size, m, unknown = _vint(buf, pos + n, keep_marker=False)
            body = pos + n + m
            if eid == _CLUSTER:
                return False
            if eid in _UIDS and 1 <= size <= 8:
                buf[body: body + size] = (1).to_bytes(size, "big")
            elif eid in _MASTERS and not walk(body, end if unknown else min(end, body + size)):
                return False
            if unknown:
                return True
            pos = body + size
        return True

    try:
        walk(0, len(buf))
    except (ValueError, IndexError):
        return data
    return bytes(buf)
