"""Assertion judges (offline or model-based), visual metrics and the rubric judge.

    from iwrbench.judges import build_judges
    assertion_judge, visual_scorer = build_judges(judge_model_or_None, image_metric="ssim")
    verdict = await assertion_judge.judge(task, replay_step)       # records.Verdict
    visual = await visual_scorer.score(candidate_png, gt_png)      # records.StepVisual

Heavy modules (OCR, OpenCV, torch) load on first use, not on import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iwrbench.judges.base import AssertionJudge
    from iwrbench.judges.ocr import OcrCache
    from iwrbench.judges.visual import VisualScorer
    from iwrbench.models.base import Model


def build_judges(judge_model: Model | None, *, image_metric: str = "ssim", ocr: OcrCache | None = None,
                 max_attempts: int = 3) -> tuple[AssertionJudge, VisualScorer]:
    """The assertion judge and visual scorer for one run; both share one OCR cache.

    Without a model: the offline assertion judge and low-level visual scores only.
    With one: the model judges assertions and grades the rubric.
    """
    from iwrbench.judges.assertion_llm import LLMAssertionJudge
    from iwrbench.judges.assertion_offline import OfflineAssertionJudge
    from iwrbench.judges.ocr import OcrCache
    from iwrbench.judges.rubric import RubricJudge
    from iwrbench.judges.visual import VisualScorer

    ocr = ocr or OcrCache()
    if judge_model is None:
        return OfflineAssertionJudge(ocr), VisualScorer(image_metric, None, ocr=ocr)
    return (LLMAssertionJudge(judge_model, max_attempts=max_attempts),
            VisualScorer(image_metric, RubricJudge(judge_model, max_attempts=max_attempts), ocr=ocr))
