"""Build the evaluator's parts from its settings: the element locator, the assertion judge and the
visual scorer, offline or backed by one judge model. Kept apart from the runner so tests and the
benchmark can assemble the same parts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iwrbench.judges.llm_json import DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from iwrbench.evaluation import EvalSettings



@dataclass
class EvalParts:
    locator: Any
    assertion_judge: Any
    visual_scorer: Any
    judge_model: Any = None

    async def aclose(self) -> None:
        if self.judge_model is not None and hasattr(self.judge_model, "aclose"):
            await self.judge_model.aclose()


def judge_model(settings: EvalSettings):
    """The judge model (never a builtin: builtins build pages, they cannot answer prompts)."""
    from iwrbench.models.registry import get_model, parse_model_name
    from iwrbench.models.settings import convert_setting, resolve_settings

    spec = parse_model_name(settings.judge)
    # A judge answers with a short JSON verdict or one index: a smaller reply budget and a shorter
    # timeout than page generation (llm_json's defaults). The judges read them from the model's settings.
    # Validated like every other setting: a bad value is a one-line UserError naming the variable.
    flags = {name: convert_setting(name, os.environ[var], var) if os.environ.get(var, "").strip() else default
             for name, var, default in (("max_tokens", "IWRBENCH_JUDGE_MAX_TOKENS", DEFAULT_MAX_TOKENS),
                                        ("timeout", "IWRBENCH_JUDGE_TIMEOUT", DEFAULT_TIMEOUT))}
    return get_model(settings.judge, resolve_settings(spec.provider, flags), allow_builtin=False)


def check_judge_available(settings: EvalSettings) -> None:
    """Fail before any work (one-line UserError) when the judge is unknown or its key is missing."""
    if settings.judge:
        judge_model(settings)
    if settings.visual and settings.image_metric == "dinov2":
        from iwrbench.errors import UserError
        from iwrbench.judges.image_similarity import dinov2_available

        ok, why = dinov2_available()
        if not ok:
            raise UserError(f"--image-metric dinov2 is not available here: {why}")


def build_parts(settings: EvalSettings) -> EvalParts:
    from iwrbench.agent import LLMLocator
    from iwrbench.judges import build_judges
    from iwrbench.locator import OfflineLocator

    model = judge_model(settings) if settings.judge else None
    assertion_judge, visual_scorer = build_judges(model, image_metric=settings.image_metric)
    locator = (LLMLocator(model, timeout=model.settings.timeout, max_tokens=model.settings.max_tokens)
               if model is not None else OfflineLocator())
    return EvalParts(locator, assertion_judge, visual_scorer, model)
