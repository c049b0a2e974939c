"""The model-based judges through the real openai/anthropic SDKs against the fake LLM server."""

from __future__ import annotations

import asyncio

import pytest

from iwrbench.judges import build_judges
from iwrbench.judges.assertion_llm import LLMAssertionJudge, parse_verdict
from iwrbench.judges.assertion_offline import OfflineAssertionJudge
from iwrbench.judges.rubric import RubricJudge, parse_rubric
from iwrbench.judges.visual import VisualScorer
from iwrbench.models.registry import get_model
from iwrbench.records.evaluation import Verdict
from iwrbench.replay.states import PageState
from iwrbench.scoring.scores import compute_scores, judge_error
from tests.fakes.llm_server import Fault
from tests.fixtures_judges import make_judge_task, replay_step, text_png

GOOD = '```json\n{"verdict": "pass", "reason": "The badge shows 1 and the total $89.00."}\n```'
RUBRIC_REPLY = ('Here is my grading.\n{"layout": 9, "elements": 14, "content": 52, "style": "12/15", '
                '"overall": 18, "reason": "Close match; content over the cap"}')


@pytest.fixture
def cart(tmp_path):
    g0 = text_png(tmp_path / "g0.png", ["Cart (0)  Total $0.00", "Trail Runner $89.00"])
    g1 = text_png(tmp_path / "g1.png", ["Cart (1)  Total $89.00", "Trail Runner $89.00"])
    task = make_judge_task(tmp_path / "ds", "cart", [
        {"description": "Click 'Add to cart'", "assertion": "The cart badge shows 1 and the total reads $89.00."}],
        {0: g0, 1: g1})
    before = PageState(screenshot=g0, text="Cart (0)")
    after = PageState(screenshot=g1, text="Cart (1)")
    return task, replay_step(1, "Click", before, after)


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("name", ["openai/judge-model", "anthropic/claude-judge"])
def test_verdict_from_a_fenced_reply_with_both_screenshots(llm_env, cart, name):
    llm_env.set_responder(lambda req: GOOD)
    task, step = cart
    v = run(LLMAssertionJudge(get_model(name, allow_builtin=False)).judge(task, step))
    assert v == Verdict(verdict="pass", source=name, reason="The badge shows 1 and the total $89.00.")
    req = llm_env.requests[-1]
    assert len(req.images) == 2 and "The cart badge shows 1" in req.text and "BEFORE" in req.text


def test_unreadable_reply_is_retried_with_a_reminder(llm_env, cart):
    llm_env.script(["I think it works fine!", '{"verdict": "fail", "reason": "The badge still shows 0."}'])
    task, step = cart
    v = run(LLMAssertionJudge(get_model("openai/judge-model", allow_builtin=False)).judge(task, step))
    assert (v.verdict, v.reason) == ("fail", "The badge still shows 0.")
    assert len(llm_env.requests) == 2 and "could not be read" in llm_env.requests[1].text


def test_garbage_forever_is_an_error_never_a_pass(llm_env, cart):
    llm_env.set_responder(lambda req: "Looks good to me! " + "x" * 1000)
    task, step = cart
    v = run(LLMAssertionJudge(get_model("openai/judge-model", allow_builtin=False), max_attempts=3).judge(task, step))
    assert v.verdict == "error" and "after 3 attempts" in v.reason and len(v.reason) <= 300
    assert len(llm_env.requests) == 3


@pytest.mark.parametrize("fault", [Fault.server_error(), Fault.garbage(), Fault.refusal(), Fault.status(401, "bad key")])
def test_provider_faults_become_error_verdicts(llm_env, cart, monkeypatch, fault):
    monkeypatch.setenv("IWRBENCH_MAX_ATTEMPTS", "1")
    llm_env.set_responder(lambda req: fault)
    task, step = cart
    v = run(LLMAssertionJudge(get_model("openai/judge-model", allow_builtin=False), max_attempts=2).judge(task, step))
    assert v.verdict == "error" and v.source == "openai/judge-model"
    assert "sk-test" not in v.reason


def test_llm_and_offline_verdicts_have_the_same_shape(llm_env, cart, ocr_cache):
    llm_env.set_responder(lambda req: GOOD)
    task, step = cart
    llm = run(LLMAssertionJudge(get_model("openai/judge-model", allow_builtin=False)).judge(task, step))
    off = run(OfflineAssertionJudge(ocr_cache).judge(task, step))
    assert set(llm.model_dump()) == set(off.model_dump()) == {"verdict", "source", "reason"}
    assert off.source == "offline" and off.verdict == "pass"


def test_parse_helpers():
    assert parse_verdict('{"verdict": "Does not hold", "reason": "x"}') == ("fail", "x")
    assert parse_verdict('{"verdict": true}') == ("pass", "")
    assert parse_verdict('{"verdict": "maybe"}') is None
    parsed = parse_rubric(RUBRIC_REPLY)
    assert parsed["content"] == 40 and parsed["style"] == 12 and parsed["total"] == 93
    assert parse_rubric('{"layout": 5, "elements": 5}') is None
    nested = parse_rubric('{"scores": {"Layout": 1, "Elements": 2, "Content and text": 3, "Style": 4, '
                          '"Overall impression": 5}}')
    assert nested is not None and nested["total"] == 15


def test_rubric_in_the_visual_scorer(llm_env, tmp_path, ocr_cache):
    llm_env.set_responder(lambda req: RUBRIC_REPLY)
    ref = text_png(tmp_path / "ref.png", ["Your cart (3 items)", "Subtotal $307.00"])
    cand = text_png(tmp_path / "cand.png", ["Your cart (3 items)", "Subtotal $307.00"], font_size=20)
    model = get_model("openai/judge-model", allow_builtin=False)
    v = run(VisualScorer("ssim", RubricJudge(model), ocr=ocr_cache).score(cand, ref))
    assert v.high_level == 93.0 and v.high_level_source == "openai/judge-model"
    assert v.high_level_detail["content"] == 40 and v.low_level is not None
    req = llm_env.requests[-1]
    assert len(req.images) == 2 and req.text.index("REFERENCE") < req.text.index("CANDIDATE")
    scores, _ = compute_scores([], v, 1, has_page=True)
    assert pytest.approx((v.low_level + 93.0) / 2, abs=0.01) == scores.VFS


def test_rubric_garbage_leaves_high_level_empty_and_flags_the_task(llm_env, tmp_path, ocr_cache):
    llm_env.set_responder(lambda req: "A solid effort overall.")
    ref = text_png(tmp_path / "ref.png", ["Checkout"])
    model = get_model("openai/judge-model", allow_builtin=False)
    v = run(VisualScorer("ssim", RubricJudge(model, max_attempts=2), ocr=ocr_cache).score(ref, ref))
    assert v.high_level is None and "after 2 attempts" in v.high_level_detail["error"]
    assert v.low_level == 100.0
    assert "rubric judge failed" in judge_error([], v)


def test_build_judges(llm_env):
    off_judge, off_visual = build_judges(None)
    assert off_judge.source == "offline" and off_visual.rubric is None
    model = get_model("openai/judge-model", allow_builtin=False)
    judge, visual = build_judges(model)
    assert judge.source == "openai/judge-model" and visual.rubric.source == "openai/judge-model"
    assert off_visual.ocr is off_judge.ocr


def test_judge_settings_reach_every_judge_prompt(llm_env, cart, tmp_path, ocr_cache, monkeypatch):
    """IWRBENCH_JUDGE_MAX_TOKENS / _TIMEOUT set the budget of the assertion, rubric and locator prompts
    (they used to be ignored: each judge sent its own fixed budget)."""
    from iwrbench.evaluation.parts import build_parts
    from iwrbench.evaluation.run import EvalSettings
    from iwrbench.models.llm_json import DEFAULT_MAX_TOKENS as JUDGE_MAX_TOKENS

    def budgets() -> set:
        return {r.get("max_tokens") or r.get("max_completion_tokens") for r in llm_env.requests}

    task, step = cart
    ref = text_png(tmp_path / "ref.png", ["Checkout"])
    llm_env.set_responder(lambda req: RUBRIC_REPLY if "REFERENCE" in req.text else GOOD)
    parts = build_parts(EvalSettings(judge="openai/judge-model"))
    assert run(parts.assertion_judge.judge(task, step)).verdict == "pass"
    assert run(parts.visual_scorer.score(ref, ref)).high_level == 93.0
    assert budgets() == {JUDGE_MAX_TOKENS} and parts.locator.max_tokens == JUDGE_MAX_TOKENS

    llm_env.requests.clear()
    monkeypatch.setenv("IWRBENCH_JUDGE_MAX_TOKENS", "777")
    monkeypatch.setenv("IWRBENCH_JUDGE_TIMEOUT", "33")
    monkeypatch.setenv("IWRBENCH_NO_CACHE", "1")
    parts = build_parts(EvalSettings(judge="openai/judge-model"))
    assert run(parts.assertion_judge.judge(task, step)).verdict == "pass"
    assert run(parts.visual_scorer.score(ref, ref)).high_level == 93.0
    assert budgets() == {777} and len(llm_env.requests) == 2
    assert (parts.locator.max_tokens, parts.locator.timeout) == (777, 33.0)
