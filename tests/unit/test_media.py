"""Frame sampling (one sequential pass, first and last state, budget), image encoding, image budget."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from iwrbench.media import frames as media
from iwrbench.media.frames import (
    MediaError,
    VideoInfo,
    allocate,
    encode_frame,
    encode_image_file,
    fit_size,
    plan_indices,
    sample_video,
    spread,
)

BITS = 9


def write_counter_video(path: Path, n: int, fps: float = 10.0, size=(144, 96)) -> Path:
    """Frame i shows i in binary: BITS vertical stripes, white for a 1 (survives lossy coding)."""
    w, h = size
    stripe = w // BITS
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        for b in range(BITS):
            if i >> b & 1:
                frame[:, b * stripe:(b + 1) * stripe] = 255
        writer.write(frame)
    writer.release()
    return path


def level(bgr: np.ndarray) -> int:
    """The frame number a counter-video frame shows."""
    stripe = bgr.shape[1] // BITS
    return sum(1 << b for b in range(BITS) if bgr[:, b * stripe + 2:(b + 1) * stripe - 2].mean() > 127)


# ---------------------------------------------------------------- planning


def test_plan_one_per_second_with_first_and_last():
    # 3.6 s at 10 fps = 36 frames: 0, 1, 2, 3 s and the last frame (3.5 s).
    assert plan_indices(36, 10.0, 1.0, 64) == [0, 10, 20, 30, 35]


def test_plan_last_sample_close_to_end_becomes_the_last_frame():
    # Less than half a step after the last 1 s sample: the last frame replaces it (no near-duplicate).
    assert plan_indices(31, 10.0, 1.0, 64) == [0, 10, 20, 30]
    assert plan_indices(35, 10.0, 1.0, 64) == [0, 10, 20, 34]


def test_plan_long_video_is_spread_evenly_within_the_cap():
    idx = plan_indices(100 * 30, 30.0, 1.0, 64)
    assert len(idx) == 64 and idx[0] == 0 and idx[-1] == 2999
    gaps = np.diff(idx)
    assert gaps.max() - gaps.min() <= 1


def test_plan_edge_cases():
    assert plan_indices(0, 30.0, 1.0, 64) == []
    assert plan_indices(1, 30.0, 1.0, 64) == [0]
    assert plan_indices(90, 30.0, 1.0, 2) == [0, 89]
    assert plan_indices(90, 30.0, 1.0, 1) == [0]
    assert plan_indices(10, 30.0, 1.0, 64) == [0, 9]  # shorter than a second: first and last
    assert plan_indices(20, 10.0, 2.0, 64) == [0, 5, 10, 15, 19]  # --fps 2


def test_spread_keeps_first_and_last():
    assert spread(list(range(10)), 3) == [0, 4, 9] or spread(list(range(10)), 3) == [0, 5, 9]
    assert spread([1, 2], 5) == [1, 2]
    assert spread(list(range(5)), 1) == [0]


# ---------------------------------------------------------------- decoding


def test_sample_video_single_pass_exact_frames(tmp_path):
    path = write_counter_video(tmp_path / "v.mp4", 36)
    out = sample_video(path, fps=1.0, max_frames=64, encode=level)
    assert [f.index for f in out.frames] == [0, 10, 20, 30, 35]
    assert [f.payload for f in out.frames] == [0, 10, 20, 30, 35]  # the pixels really are those frames
    assert [round(f.time, 2) for f in out.frames] == [0.0, 1.0, 2.0, 3.0, 3.5]
    assert out.decoded == 36  # every frame grabbed once, front to back
    assert out.converted < 36 / 2  # only kept frames (and the short tail) were converted
    assert out.notes == []


def test_sample_video_caps_frames(tmp_path):
    path = write_counter_video(tmp_path / "v.mp4", 100)  # 10 s at 10 fps -> 11 samples wanted
    out = sample_video(path, fps=1.0, max_frames=4, encode=level)
    assert [f.payload for f in out.frames] == [0, 33, 66, 99]
    assert out.decoded == 100


@pytest.mark.parametrize("claimed", [30, 45])
def test_wrong_frame_count_still_gives_the_real_last_frame(tmp_path, claimed):
    path = write_counter_video(tmp_path / "v.mp4", 38)
    cap = cv2.VideoCapture(str(path))
    try:
        out = media._sample_planned(cap, VideoInfo(claimed, 10.0, 160, 96), 1.0, 64, level)
    finally:
        cap.release()
    assert out.frames[0].payload == 0
    assert out.frames[-1].payload == 37
    assert out.notes and "decoded 38" in out.notes[0]


def test_unknown_length_is_sampled_by_time_and_bounded(tmp_path):
    path = write_counter_video(tmp_path / "v.mp4", 200)  # 20 s
    cap = cv2.VideoCapture(str(path))
    try:
        out = media._sample_unknown_length(cap, VideoInfo(0, 0.0, 160, 96), 1.0, 8, level)
    finally:
        cap.release()
    levels = [f.payload for f in out.frames]
    assert levels[0] == 0 and levels[-1] == 199
    assert 4 <= len(levels) <= 8
    assert levels == sorted(levels)


def test_unreadable_video_is_a_media_error(tmp_path):
    bad = tmp_path / "video.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError):
        sample_video(bad, encode=level)
    with pytest.raises(MediaError):
        sample_video(tmp_path / "missing.mp4", encode=level)


def test_first_frame(tmp_path):
    path = write_counter_video(tmp_path / "v.mp4", 5)
    assert level(media.first_frame(path)) == 0
    assert level(media.first_frame(write_counter_video(tmp_path / "w.mp4", 9))) == 0


# ---------------------------------------------------------------- encoding and budget


def test_fit_size():
    assert fit_size(1920, 1080, 1280) == (1280, 720)
    assert fit_size(800, 600, 1280) == (800, 600)
    assert fit_size(1000, 3000, 1500) == (500, 1500)


def test_encode_frame_is_a_bounded_jpeg():
    bgr = np.zeros((1080, 1920, 3), np.uint8)
    part = encode_frame(bgr, 1280, label="f0")
    assert part.media_type == "image/jpeg" and part.label == "f0"
    assert Image.open(io.BytesIO(part.data)).size == (1280, 720)


def test_encode_image_file_png_and_large_jpeg(tmp_path):
    small = tmp_path / "s.png"
    Image.new("RGBA", (2000, 1000), (255, 0, 0, 0)).save(small)
    part = encode_image_file(small, 1000)
    img = Image.open(io.BytesIO(part.data))
    assert part.media_type == "image/png" and img.size == (1000, 500)
    assert img.convert("RGB").getpixel((10, 10)) == (255, 255, 255)  # transparency flattened on white
    noisy = tmp_path / "n.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1200, 1200, 3), np.uint8)).save(noisy)
    assert encode_image_file(noisy, 1200).media_type == "image/jpeg"  # PNG would exceed the limit
    broken = tmp_path / "b.png"
    broken.write_bytes(b"nope")
    with pytest.raises(MediaError):
        encode_image_file(broken, 100)


def test_allocate_puts_sheets_first_but_keeps_two_frames():
    assert allocate(64, 6, 70) == (64, 6)
    assert allocate(64, 6, 20) == (14, 6)
    assert allocate(64, 30, 20) == (2, 18)
    assert allocate(1, 30, 20) == (1, 19)
    assert allocate(64, 0, 10) == (10, 0)
    assert allocate(64, 5, 0) == (0, 0)
