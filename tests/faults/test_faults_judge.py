"""Fault injection: a judge model that fails. Infrastructure errors are never scored as model failures.

The judge (`--judge openai/<name>`, and the same for Gemini, `--judge google/<name>`) also picks elements
for the replay and grades the rubric, so a fake judge answers all three prompt kinds plausibly (tests/fixtures_faults.JudgeResponder). The page
under evaluation is the oracle, and the fake judge says every assertion holds: a run whose judge
works scores every task IFS 100 and rubric 76. So when the judge fails, every task must end either
exactly so (the failures were absorbed by retries) or as an infrastructure error that is listed in
the report, kept out of the mean and redone by the next run. Any score in between would be an
infrastructure fault turned into the page's failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.llm_server import Fault
from tests.fixtures_faults import (
    PLANTED_GEMINI_KEY,
    PLANTED_KEY,
    JudgeResponder,
    assert_no_traceback,
    cli_env,
    copy_sample,
    request_kind,
    run_cli,
)
from tests.fixtures_generation import make_tiny_task, write_dataset

pytestmark = [pytest.mark.faults, pytest.mark.browser]

MODEL, MODEL_SLUG = "builtin/oracle", "builtin__oracle"
JUDGE, JUDGE_SLUG = "openai/judge", "openai__judge"
GEMINI_JUDGE = "google/gemini-judge"
JUDGES = pytest.mark.parametrize("judge", [JUDGE, GEMINI_JUDGE])
RUBRIC_TOTAL = 8 + 12 + 30 + 11 + 15  # what JudgeResponder's rubric answer adds up to


def _slug(judge: str) -> str:
    return judge.replace("/", "__")


def _eval_path(out: Path, tid: str, judge: str = JUDGE) -> Path:
    return out / tid / MODEL_SLUG / "eval" / _slug(judge) / "eval.json"


def _report(out: Path, judge: str = JUDGE) -> dict:
    return json.loads((out / "reports" / _slug(judge) / f"{MODEL_SLUG}.json").read_text())


def _judge_env(tmp_path: Path, fake_llm, **extra: str) -> dict:
    """Both judges' providers pointed at the fake, with planted keys."""
    return cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                   GEMINI_API_KEY=PLANTED_GEMINI_KEY, GEMINI_BASE_URL=fake_llm.base_url_gemini, **extra)


def _evaluate(data: Path, out: Path, env: dict, *extra: str, judge: str = JUDGE):
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "--judge", judge,
                   "-q", *extra, env=env, timeout=1200)
    assert_no_traceback(proc)
    return proc


def _check_outcomes(out: Path, ids: list[str], *, visual: bool, judge: str = JUDGE) -> tuple[list[str], list[str]]:
    """Every task scored exactly as with a healthy judge, or an infrastructure error listed in the
    report and kept out of its mean. Returns (scored ids, error ids)."""
    scored, errors = [], []
    for tid in ids:
        rec = json.loads(_eval_path(out, tid, judge).read_text())
        if rec["status"] == "scored":
            scored.append(tid)
            assert rec["error"] is None and rec["scores"]["IFS"] == 100.0, (tid, rec["scores"], rec["error"])
            assert rec["verdict_counts"] == {"pass": rec["total_steps"]}, (tid, rec["verdict_counts"])
            if visual:
                assert rec["scores"]["high_level"] == RUBRIC_TOTAL, (tid, rec["scores"])
        else:
            errors.append(tid)
            assert rec["status"] == "error" and rec["error_kind"] == "infrastructure", (tid, rec["status"])
            assert any(w in rec["error"] for w in ("judge", "locator")), rec["error"]
    report = _report(out, judge)
    assert {e["task_id"] for e in report["errors"]} == set(errors)
    assert all(e["error_kind"] == "infrastructure" for e in report["errors"])
    assert report["counts"]["scored"] == len(scored) and report["counts"]["errors"] == len(errors)
    assert report["mean"]["IFS"] == (100.0 if scored else None)
    assert report["complete"] is (not errors)
    return scored, errors


def _requests_about(fake, tasks_actions: list[str]) -> list[str]:
    """Locator and assertion prompts (since the last clear) that name one of these action descriptions."""
    return [request_kind(r) for r in fake.requests
            if request_kind(r) in ("locate", "assert") and any(d in r.text for d in tasks_actions)]


def _descriptions(data: Path, tid: str) -> list[str]:
    for line in data.read_text().splitlines():
        rec = json.loads(line)
        if str(rec["id"]) == tid:
            return [a["parameters"]["description"] for a in rec["action_sequence"]]
    raise KeyError(tid)


def _run_30_percent(tmp_path: Path, fake_llm, ids: list[str], *, seed: int, workers: int, visual: bool,
                    first_attempts: int, faults: tuple[str, ...] = JudgeResponder.FAULTS, expect_mix: bool,
                    judge: str = JUDGE):
    data = copy_sample(tmp_path / "data", ids)
    out = tmp_path / "out"
    env = _judge_env(tmp_path, fake_llm, IWRBENCH_MAX_ATTEMPTS=str(first_attempts), IWRBENCH_JUDGE_TIMEOUT="2")
    gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q", env=env)
    assert gen.returncode == 0, gen.stderr
    responder = JudgeResponder(fail_rate=0.3, seed=seed, faults=faults)
    fake_llm.set_responder(responder)
    flags = ["--workers", str(workers)] + ([] if visual else ["--no-visual"])

    first = _evaluate(data, out, env, *flags, judge=judge)
    assert sum(responder.failures.values()) > 0.2 * sum(responder.counts.values())  # the judge did fail, often
    assert {r.api for r in fake_llm.requests} == {"gemini" if judge == GEMINI_JUDGE else "openai"}
    scored, errors = _check_outcomes(out, ids, visual=visual, judge=judge)
    assert first.returncode == (1 if errors else 0), first.stderr[-2000:]
    for tid in errors:
        assert f"task {tid}: " in first.stderr
    if expect_mix:
        assert scored and errors, (scored, errors)
    kept = {tid: (_eval_path(out, tid, judge).stat().st_mtime_ns, _eval_path(out, tid, judge).read_bytes())
            for tid in scored}
    finished_actions = [d for tid in scored for d in _descriptions(data, tid)]

    # Rerun against the same failing judge, now with enough retries: it completes the rest, and only
    # the rest (the finished tasks' files are untouched and their prompts are never sent again).
    env["IWRBENCH_MAX_ATTEMPTS"] = "10"
    for _ in range(2):
        fake_llm.clear()
        rerun = _evaluate(data, out, env, *flags, judge=judge)
        assert not _requests_about(fake_llm, finished_actions)
        if rerun.returncode == 0:
            break
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    done, left = _check_outcomes(out, ids, visual=visual, judge=judge)
    assert left == [] and sorted(done) == sorted(ids)
    for tid, (mtime, content) in kept.items():
        path = _eval_path(out, tid, judge)
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == content


@JUDGES
def test_judge_failing_30_percent_two_tasks(tmp_path, fake_llm, judge):
    """Fast variant: seeded so that the first run ends with one task scored and one an error. Gemini's
    faults are its own shapes of the same failures (a 429 with Retry-After, 500, a non-JSON body, a
    reply cut off at MAX_TOKENS, a SAFETY stop), and for it also replies slower than the judge timeout."""
    extra = ("hang",) if judge == GEMINI_JUDGE else ()  # replies that never come, cut by the judge timeout
    _run_30_percent(tmp_path, fake_llm, ["3", "6"], seed=3, workers=1, visual=False, first_attempts=2,
                    faults=(*JudgeResponder.FAULTS, *extra), expect_mix=judge == JUDGE, judge=judge)


@pytest.mark.slow
def test_judge_failing_30_percent_whole_sample_set(tmp_path, fake_llm):
    """The done-criterion run: all 8 sample tasks, visual scoring and the rubric on, two workers,
    faults including replies that never come (cut by the judge timeout)."""
    _run_30_percent(tmp_path, fake_llm, [str(i) for i in range(1, 9)], seed=11, workers=2, visual=True,
                    first_attempts=3, faults=(*JudgeResponder.FAULTS, "hang"), expect_mix=False)


# ---------------------------------------------------------------- one prompt kind down


KINDS_DOWN = [("locate", "garbage_text", "gave no readable answer"), ("assert", "truncated", "assertion judge failed"),
              ("rubric", "garbage_text", "rubric judge failed")]


@pytest.mark.parametrize(("kind", "fault", "why", "judge"), [
    *((*k, JUDGE) for k in KINDS_DOWN),
    # Gemini: its cut-off reply in the default suite, the other kinds with the slow tests
    *(pytest.param(*k, GEMINI_JUDGE, marks=() if k[0] == "assert" else pytest.mark.slow) for k in KINDS_DOWN),
])
def test_one_judge_prompt_kind_down_is_an_error_and_the_rerun_scores_it(tmp_path, fake_llm, kind, fault, why, judge):
    """Each judge role failing for good (an unreadable answer, a refusal, an outage) makes the task an
    infrastructure error, never a low score; once the judge recovers, the rerun scores it, even though
    the unreadable replies had been stored in the response cache."""
    data = write_dataset(tmp_path / "data" / "tiny.jsonl", [make_tiny_task(tmp_path / "data" / "tiny", "t1")])
    out = tmp_path / "out"
    env = _judge_env(tmp_path, fake_llm, IWRBENCH_MAX_ATTEMPTS="2")
    assert run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q",
                   env=env).returncode == 0
    responder = JudgeResponder(broken={kind: fault})
    fake_llm.set_responder(responder)
    first = _evaluate(data, out, env, judge=judge)
    assert first.returncode == 1 and responder.failures[kind] >= 2
    rec = json.loads(_eval_path(out, "t1", judge).read_text())
    assert rec["status"] == "error" and rec["error_kind"] == "infrastructure" and why in rec["error"], rec["error"]
    assert _report(out, judge)["mean"]["final"] is None and _report(out, judge)["errors"][0]["task_id"] == "t1"

    responder.broken.clear()
    rerun = _evaluate(data, out, env, judge=judge)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    scored, _ = _check_outcomes(out, ["t1"], visual=True, judge=judge)
    assert scored == ["t1"]


@JUDGES
def test_a_wrong_judge_key_makes_every_task_an_error_never_a_score(tmp_path, fake_llm, judge):
    """Each provider's own answer to a wrong key (Gemini: 400 API_KEY_INVALID) is an auth error: not
    retried, the task is an infrastructure error listed in the report, nothing is scored."""
    data = write_dataset(tmp_path / "data" / "tiny.jsonl", [make_tiny_task(tmp_path / "data" / "tiny", "t1")])
    out = tmp_path / "out"
    env = _judge_env(tmp_path, fake_llm, IWRBENCH_MAX_ATTEMPTS="4")
    assert run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q",
                   env=env).returncode == 0
    fake_llm.set_responder(lambda _r: Fault.bad_key())
    proc = _evaluate(data, out, env, "--no-visual", judge=judge)
    assert proc.returncode == 1
    rec = json.loads(_eval_path(out, "t1", judge).read_text())
    assert rec["status"] == "error" and rec["error_kind"] == "infrastructure", rec
    assert "API key" in rec["error"] and "not retryable after 1 attempt" in rec["error"], rec["error"]
    assert _report(out, judge)["mean"]["IFS"] is None and _report(out, judge)["counts"]["errors"] == 1
    assert len(fake_llm.requests) == 1  # the first judge call failed for good: no retry, no further calls
