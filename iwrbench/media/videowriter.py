"""Interaction videos built from screenshots with OpenCV (Playwright's own recorder needs an ffmpeg
download that is not available here).

Each frame is a screenshot plus overlays that show what the user did: a cursor where the action lands,
a ring when it clicks, and a small caption for key presses and scrolls (which have no visible target).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FOURCC = "mp4v"
CURSOR_SHAPE = np.array([[0, 0], [0, 26], [7, 20], [12, 31], [17, 29], [12, 18], [21, 18]], dtype=np.int32)


@dataclass(frozen=True)
class Frame:
    """One still of the video: a PNG screenshot shown for `repeat` frames with optional overlays."""

    png: bytes
    pointer: tuple[float, float] | None = None
    click: bool = False
    caption: str | None = None
    repeat: int = 1


def decode_png(png: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("screenshot is not a decodable image")
    return img


def draw_pointer(img: np.ndarray, x: float, y: float, *, click: bool = False) -> np.ndarray:
    """Draw an arrow cursor with its tip at (x, y); a red ring around it when the frame shows a click."""
    out = img.copy()
    tip = np.array([int(round(x)), int(round(y))], dtype=np.int32)
    if click:
        cv2.circle(out, (int(tip[0]), int(tip[1])), 22, (40, 40, 230), 3, cv2.LINE_AA)
        cv2.circle(out, (int(tip[0]), int(tip[1])), 6, (40, 40, 230), -1, cv2.LINE_AA)
    shape = (CURSOR_SHAPE + tip).reshape(-1, 1, 2)
    cv2.fillPoly(out, [shape], (255, 255, 255), cv2.LINE_AA)
    cv2.polylines(out, [shape], True, (0, 0, 0), 2, cv2.LINE_AA)
    return out


def draw_caption(img: np.ndarray, text: str) -> np.ndarray:
    """A dark label in the bottom-left corner, e.g. `Key: Enter` or `Scroll down`."""
    out = img.copy()
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.8, 2
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    x, y = 16, out.shape[0] - 16
    cv2.rectangle(out, (x - 8, y - th - 12), (x + tw + 8, y + base + 4), (30, 30, 30), -1)
    cv2.putText(out, text, (x, y - 4), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def render(frame: Frame, size: tuple[int, int]) -> np.ndarray:
    img = decode_png(frame.png)
    if (img.shape[1], img.shape[0]) != size:
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    if frame.pointer is not None:
        img = draw_pointer(img, *frame.pointer, click=frame.click)
    if frame.caption:
        img = draw_caption(img, frame.caption)
    return img


def write_video(frames: Iterable[Frame], path: str | os.PathLike, *, size: tuple[int, int],
                fps: float = 3.0) -> int:
    """Encode the frames as MPEG-4 (fourcc mp4v) at `path` atomically; return the number of frames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".mp4", dir=path.parent)
    os.close(fd)
    count = 0
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*FOURCC), fps, size)
    try:
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot open a {FOURCC} video writer for {path}")
        for frame in frames:
            img = render(frame, size)
            for _ in range(max(1, frame.repeat)):
                writer.write(img)
                count += 1
        writer.release()
        if count == 0 or os.path.getsize(tmp) == 0:
            raise OSError(f"no frames were written to {path}")
        os.replace(tmp, path)
    except BaseException:
        writer.release()
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return count


def count_frames(path: str | os.PathLike) -> int:
    """Frames OpenCV can actually decode from a video (not the container's claim)."""
    cap = cv2.VideoCapture(str(path))
    try:
        n = 0
        while cap.isOpened():
            ok, _ = cap.read()
            if not ok:
                break
            n += 1
        return n
    finally:
        cap.release()
