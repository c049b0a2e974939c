"""Image similarity and the visual scorer on constructed screenshots."""

from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

from iwrbench.errors import UserError
from iwrbench.judges.image_similarity import (
    aligned_ssim,
    colour_similarity,
    dinov2_available,
    ssim_similarity,
)
from iwrbench.judges.visual import VisualScorer
from tests.fixtures_judges import text_png

PAGE = ["Trailhead Outfitters", "Trail Runner  $89.00", "Summit Backpack  $129.00", "Add to cart",
        "Free shipping on orders over $150"]


def page(tmp_path, name, **kw):
    boxes = kw.pop("boxes", [((0, 0, 640, 18), (36, 60, 100)), ((24, 300, 200, 340), (240, 160, 60))])
    return text_png(tmp_path / f"{name}.png", kw.pop("lines", PAGE), boxes=boxes, origin=(24, 40), **kw)


def test_identical_pages_score_one_and_a_blank_page_scores_low(tmp_path):
    ref = page(tmp_path, "ref")
    assert ssim_similarity(ref, ref).score == pytest.approx(1.0)
    blank = text_png(tmp_path / "blank.png", [])
    s = ssim_similarity(blank, ref)
    assert s.parts["ssim"] < 0.35 and s.score < 0.7


def test_alignment_undoes_a_small_shift_but_not_a_large_one(tmp_path):
    ref = page(tmp_path, "ref")
    img = cv2.imread(str(ref))
    shifted = np.full_like(img, 255)
    shifted[12:] = img[:-12]  # content 12 px lower (3.3% of the height)
    ssim, shift = aligned_ssim(shifted, img)
    assert shift == (0, 12) and ssim > 0.95
    far = np.full_like(img, 255)
    far[60:] = img[:-60]  # 17%: not a shift to undo
    assert aligned_ssim(far, img)[1] == (0, 0)


def test_colour_measure_sees_a_recolour_that_structure_barely_sees(tmp_path):
    ref = page(tmp_path, "ref")
    recoloured = page(tmp_path, "red", boxes=[((0, 0, 640, 18), (200, 30, 30)), ((24, 300, 200, 340), (40, 160, 240))],
                      bg=(255, 250, 240))
    a, b = cv2.imread(str(recoloured)), cv2.imread(str(ref))
    assert colour_similarity(a, b) < 0.97
    assert colour_similarity(b, b) == pytest.approx(1.0)
    # near-white backgrounds of another tint are still "white": hue is ignored for greys
    tinted = text_png(tmp_path / "tint.png", [], bg=(246, 247, 251))
    white = text_png(tmp_path / "white.png", [], bg=(255, 250, 240))
    assert colour_similarity(cv2.imread(str(tinted)), cv2.imread(str(white))) > 0.95


def test_visual_scorer_record_shape(tmp_path, ocr_cache):
    ref = page(tmp_path, "ref")
    near = page(tmp_path, "near", lines=PAGE[:-1] + ["Free shipping on orders over $100"])
    scorer = VisualScorer("ssim", None, ocr=ocr_cache)
    same = asyncio.run(scorer.score(ref, ref))
    assert same.ocr == 100.0 and same.image == 100.0 and same.low_level == 100.0
    assert same.high_level is None and same.high_level_source is None
    assert same.checkpoint == f"{ref.parent.name}/ref.png"
    v = scorer.score_sync(near, ref)
    assert 85 < v.ocr < 100 and 0 < v.image < 100
    assert v.low_level == pytest.approx((v.ocr + v.image) / 2, abs=0.01)
    dumped = v.model_dump(mode="json")
    assert dumped["image_metric"] == "ssim+hsv" and set(dumped["image_parts"]) >= {"ssim", "colour"}


def test_visual_scorer_records_a_broken_candidate_as_missing_parts(tmp_path, ocr_cache):
    ref = page(tmp_path, "ref")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    v = VisualScorer("ssim", None, ocr=ocr_cache).score_sync(bad, ref)
    assert v.ocr is None and v.image is None and v.low_level is None
    assert len(v.model_dump()["errors"]) == 2


def test_unknown_metric_and_missing_dinov2_are_user_errors():
    with pytest.raises(UserError, match="unknown"):
        VisualScorer("psnr")
    ok, why = dinov2_available()
    if ok:
        pytest.skip("DINOv2 is installed here")
    assert "dinov2" in why.lower() or "torch" in why.lower()
    with pytest.raises(UserError) as err:
        VisualScorer("dinov2")
    assert "\n" not in str(err.value) and ("torch" in str(err.value) or "weights" in str(err.value))
