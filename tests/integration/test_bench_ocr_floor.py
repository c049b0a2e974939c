"""bench/ocr_floor.py's parts: the two OCR stages it times are the whole reading, and its detection reuse
(the tried alternative it measures) re-detects only where a picture changed."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import ocr_floor  # noqa: E402

from iwrbench.judges.ocr import OcrEngine  # noqa: E402
from iwrbench.judges.ocr_parts import PartReader  # noqa: E402

CHECKPOINT = ROOT / "data" / "sample" / "1" / "checkpoints" / "step_2.png"


@pytest.fixture(scope="module")
def reader() -> PartReader:
    engine = OcrEngine()
    return PartReader(engine._load(), min_score=engine.min_score)


def test_detection_then_recognition_is_the_whole_reading(reader: PartReader):
    image = cv2.imread(str(CHECKPOINT))
    found = reader.detect(image)
    assert found.boxes is not None and len(found.boxes) > 20
    assert reader.recognise(found) == reader.read(image)


def test_detection_reuse_redetects_only_the_changed_cells(reader: PartReader):
    """An unchanged picture is read from the keyframe's map alone, exactly as a whole reading; a picture
    with one corner blanked re-detects a small share of the cells and keeps the lines elsewhere."""
    image = cv2.imread(str(CHECKPOINT))
    reuse = ocr_floor.DetectionReuse(reader)
    key, key_map = reuse.keyframe(image)
    assert reader.recognise(key) == reader.read(image)  # the keyframe's own map gives the whole reading
    lines, share = reuse.read(image.copy(), key, key_map)
    assert share == 0.0 and lines == reader.read(image)

    changed = image.copy()
    changed[:100, :200] = changed[0, 0]
    lines, share = reuse.read(changed, key, key_map)
    assert 0.0 < share < 0.1
    whole = reader.read(image)
    kept = [line for line in whole if line[1][1] > 200 or line[1][0] > 300]
    assert kept and all(line in lines for line in kept)
