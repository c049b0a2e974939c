"""Build the evaluator's parts from its settings: the element locator, the assertion judge and the
visual scorer, offline or backed by one judge model. Kept apart from the runner so tests and the
benchmark can assemble the same parts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iwrbench.judges import build_judges
from iwrbench.models.llm_json import DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from iwrbench.evaluation.settings import EvalSettings



@dataclass
class EvalParts:
    locator: Any
    assertion_judge: Any
    visual_scorer: Any
    judge_model: Any = None
    agent_model: Any = None  # the element-picking model when it is not the judge model
    gate: Any = None  # models.gate.CallGate shared by the judge and agent models' calls

    def gate_summary(self) -> str | None:
        """One line on the model calls of the run (None without a model)."""
        if self.gate is None:
            return None
        st = self.gate.stats
        return (f"model calls: {st.calls} attempts, at most {st.peak_in_flight} in flight (limit {self.gate.limit}), "
                f"{st.rate_limited} rate-limited (paused {st.paused_s:.1f} s)")

    def ocr_summary(self) -> str | None:
        """One line on the run's OCR work (None when nothing was read): pictures asked for, cache hits,
        pictures the engine read, their text crops and the crops it had to recognise (ocr_parts)."""
        cache = getattr(self.visual_scorer, "ocr", None)
        if cache is None or not (cache.hits or cache.misses):
            return None
        st = cache.engine.stats
        return (f"ocr: {cache.hits + cache.misses} pictures, {cache.hits} cache hits; engine read "
                f"{st.get('pictures', 0)} pictures, recognised {st.get('crops_recognised', 0)} of "
                f"{st.get('crops', 0)} text crops")

    async def aclose(self) -> None:
        for model in (self.judge_model, self.agent_model):
            if model is not None and hasattr(model, "aclose"):
                await model.aclose()


def judge_model(settings: EvalSettings):
    """The judge model (never a builtin: builtins build pages, they cannot answer prompts)."""
    return prompt_model(settings.judge)


def prompt_model(name: str):
    """A model that answers the judges' or the agent's prompts, with their smaller reply budget."""
    from iwrbench.models.registry import get_model, parse_model_name
    from iwrbench.models.settings import convert_setting, resolve_settings

    spec = parse_model_name(name)
    # A judge answers with a short JSON verdict or one index: a smaller reply budget and a shorter
    # timeout than page generation (llm_json's defaults). The judges read them from the model's settings.
    # Validated like every other setting: a bad value is a one-line UserError naming the variable.
    flags = {name: convert_setting(name, os.environ[var], var) if os.environ.get(var, "").strip() else default
             for name, var, default in (("max_tokens", "IWRBENCH_JUDGE_MAX_TOKENS", DEFAULT_MAX_TOKENS),
                                        ("timeout", "IWRBENCH_JUDGE_TIMEOUT", DEFAULT_TIMEOUT))}
    return get_model(name, resolve_settings(spec.provider, flags), allow_builtin=False)


def check_judge_available(settings: EvalSettings, *, agent: bool = True) -> None:
    """Fail before any work (one-line UserError) when the judge or agent (`agent`: it will pick elements) is
    unknown or its key is missing, or the image metric cannot run here."""
    for name in {settings.judge, settings.agent_model if agent else None} - {None}:
        prompt_model(name)
    if settings.visual and settings.image_metric in ("dinov2", "dinov2-paper"):
        from iwrbench.errors import UserError
        from iwrbench.judges.image_similarity import dinov2_available

        ok, why = dinov2_available(settings.image_metric)
        if not ok:
            raise UserError(f"--image-metric {settings.image_metric} is not available here: {why}")


def build_judge_parts(settings: EvalSettings) -> EvalParts:
    """The judges alone (evaluate.py --rejudge: nothing picks elements, so the agent model is not needed)."""
    model = judge_model(settings) if settings.judge else None
    assertion_judge, visual_scorer = build_judges(model, image_metric=settings.image_metric)
    return EvalParts(None, assertion_judge, visual_scorer, model)


def build_parts(settings: EvalSettings) -> EvalParts:
    from iwrbench.locate.model_locator import LLMLocator
    from iwrbench.locate.offline import OfflineLocator

    model = judge_model(settings) if settings.judge else None
    agent_name = settings.agent_model
    if agent_name is None:
        agent = own_agent = None
    elif agent_name == settings.judge:
        agent, own_agent = model, None  # one model object (and one connection pool) for both roles
    else:
        agent = own_agent = prompt_model(agent_name)
    assertion_judge, visual_scorer = build_judges(model, image_metric=settings.image_metric)
    gate = None
    if model is not None or own_agent is not None:
        from iwrbench.models.gate import DEFAULT_LIMIT, CallGate

        ms = getattr(model or own_agent, "settings", None)
        gate = CallGate(settings.judge_concurrency or DEFAULT_LIMIT, base_delay=getattr(ms, "base_delay", 1.0),
                        max_delay=getattr(ms, "max_delay", 60.0))
        for m in (model, own_agent):
            if m is not None and hasattr(m, "gate"):
                m.gate = gate
    locator = (LLMLocator(agent, timeout=agent.settings.timeout, max_tokens=agent.settings.max_tokens)
               if agent is not None else OfflineLocator())
    return EvalParts(locator, assertion_judge, visual_scorer, model, own_agent, gate)
