"""Visual scores of one candidate screenshot against the ground-truth checkpoint of the same step.

    ocr        normalised edit similarity of the two pages' OCR text (0-100)
    image      image similarity: aligned content SSIM + colour histogram, or DINOv2 (full page, or the
               published centre-cropped dinov2-paper) (0-100)
    low_level  mean of ocr and image (whichever were scored)
    high_level rubric judge score (0-100) with --judge, else None

A part that could not be scored is None with the reason in `errors`, never 0. OCR runs on the OCR
cache's thread (ground truth read once per dataset), the image metric on a worker thread, and the
rubric call concurrently with both.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from iwrbench.errors import UserError
from iwrbench.judges.behind import run_behind
from iwrbench.judges.image_similarity import (
    Dinov2Similarity,
    ImageMetricUnavailable,
    ImageScore,
    ssim_similarity,
)
from iwrbench.judges.ocr import OcrCache, OcrError
from iwrbench.judges.rubric import RubricJudge, RubricResult
from iwrbench.judges.text_similarity import text_similarity
from iwrbench.records.evaluation import StepVisual

log = logging.getLogger("iwrbench.judges.visual")

IMAGE_METRICS = ("ssim", "dinov2", "dinov2-paper")


def _pct(x: float) -> float:
    return round(100.0 * x, 2)


def checkpoint_label(gt: Path) -> str:
    """'checkpoints/step_3.png': which ground-truth file a score compares against."""
    return f"{gt.parent.name}/{gt.name}"


class VisualScorer:
    def __init__(self, image_metric: str = "ssim", rubric: RubricJudge | None = None, *,
                 ocr: OcrCache | None = None):
        if image_metric not in IMAGE_METRICS:
            raise UserError(f"image metric {image_metric!r} is unknown: use one of {', '.join(IMAGE_METRICS)}")
        self.image_metric = image_metric
        self.rubric = rubric
        self.ocr = ocr or OcrCache()
        self._dino: Dinov2Similarity | None = None
        self._dino_lock = threading.Lock()  # torch already uses every core for one image
        if image_metric in ("dinov2", "dinov2-paper"):
            self._dino = Dinov2Similarity(paper=image_metric == "dinov2-paper")
            try:
                self._dino.load()
            except ImageMetricUnavailable as exc:
                raise UserError(str(exc)) from None

    def _image(self, candidate: Path, gt: Path) -> ImageScore:
        if self._dino is not None:
            with self._dino_lock:
                return self._dino.similarity(candidate, gt)
        return ssim_similarity(candidate, gt)

    async def _ocr_score(self, candidate: Path, gt: Path) -> float:
        cand, ref = await asyncio.gather(self.ocr.aread(candidate), self.ocr.aread(gt))
        return await run_behind(text_similarity, cand.text, ref.text)

    async def score(self, candidate: str | Path, gt: str | Path) -> StepVisual:
        candidate, gt = Path(candidate), Path(gt)
        jobs = [self._ocr_score(candidate, gt), run_behind(self._image, candidate, gt)]
        if self.rubric is not None:
            jobs.append(self.rubric.score(candidate, gt))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        errors: list[str] = []
        ocr = image = None
        extra: dict = {}
        if isinstance(results[0], BaseException):
            if not isinstance(results[0], OcrError | OSError | ValueError):
                raise results[0]
            errors.append(f"ocr: {results[0]}")
        else:
            ocr = _pct(results[0])
        if isinstance(results[1], BaseException):
            if not isinstance(results[1], OSError | ValueError | RuntimeError):
                raise results[1]
            errors.append(f"image: {results[1]}")
        else:
            image = _pct(results[1].score)
            extra.update(image_metric=results[1].metric, image_parts=results[1].parts)
        parts = [x for x in (ocr, image) if x is not None]
        if errors:
            extra["errors"] = errors
            log.warning("visual scoring of %s against %s: %s", candidate.name, gt, "; ".join(errors))
        visual = StepVisual(checkpoint=checkpoint_label(gt), ocr=ocr, image=image,
                            low_level=round(sum(parts) / len(parts), 2) if parts else None, **extra)
        if self.rubric is not None:
            rub = results[2]
            if isinstance(rub, BaseException):
                raise rub  # RubricJudge returns its own failures as data; anything else is a bug
            assert isinstance(rub, RubricResult)
            visual.high_level = None if rub.score is None else round(rub.score, 2)
            visual.high_level_source = rub.source
            visual.high_level_detail = rub.detail
        return visual

    def score_sync(self, candidate: str | Path, gt: str | Path) -> StepVisual:
        """`score` for callers without an event loop (tools, tests)."""
        return asyncio.run(self.score(candidate, gt))
