"""Fault injection: a judge model that fails. Infrastructure errors are never scored as model failures.

The judge (`--judge openai/<name>`) also picks elements for the replay and grades the rubric, so a
fake judge answers all three prompt kinds plausibly (tests/fixtures_faults.JudgeResponder). The page
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

from tests.fixtures_faults import (
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
RUBRIC_TOTAL = 8 + 12 + 30 + 11 + 15  # what JudgeResponder's rubric answer adds up to


def _eval_path(out: Path, tid: str) -> Path:
    return out / tid / MODEL_SLUG / "eval" / JUDGE_SLUG / "eval.json"


def _report(out: Path) -> dict:
    return json.loads((out / "reports" / JUDGE_SLUG / f"{MODEL_SLUG}.json").read_text())


def _evaluate(data: Path, out: Path, env: dict, *extra: str):
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "--judge", JUDGE,
                   "-q", *extra, env=env, timeout=1200)
    assert_no_traceback(proc)
    return proc


def _check_outcomes(out: Path, ids: list[str], *, visual: bool) -> tuple[list[str], list[str]]:
    """Every task scored exactly as with a healthy judge, or an infrastructure error listed in the
    report and kept out of its mean. Returns (scored ids, error ids)."""
    scored, errors = [], []
    for tid in ids:
        rec = json.loads(_eval_path(out, tid).read_text())
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
    report = _report(out)
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
                    first_attempts: int, faults: tuple[str, ...] = JudgeResponder.FAULTS, expect_mix: bool):
    data = copy_sample(tmp_path / "data", ids)
    out = tmp_path / "out"
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                  IWRBENCH_MAX_ATTEMPTS=str(first_attempts), IWRBENCH_JUDGE_TIMEOUT="2")
    gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q", env=env)
    assert gen.returncode == 0, gen.stderr
    judge = JudgeResponder(fail_rate=0.3, seed=seed, faults=faults)
    fake_llm.set_responder(judge)
    flags = ["--workers", str(workers)] + ([] if visual else ["--no-visual"])

    first = _evaluate(data, out, env, *flags)
    assert sum(judge.failures.values()) > 0.2 * sum(judge.counts.values())  # the judge did fail, often
    scored, errors = _check_outcomes(out, ids, visual=visual)
    assert first.returncode == (1 if errors else 0), first.stderr[-2000:]
    for tid in errors:
        assert f"task {tid}: " in first.stderr
    if expect_mix:
        assert scored and errors, (scored, errors)
    kept = {tid: (_eval_path(out, tid).stat().st_mtime_ns, _eval_path(out, tid).read_bytes()) for tid in scored}
    finished_actions = [d for tid in scored for d in _descriptions(data, tid)]

    # Rerun against the same failing judge, now with enough retries: it completes the rest, and only
    # the rest (the finished tasks' files are untouched and their prompts are never sent again).
    env["IWRBENCH_MAX_ATTEMPTS"] = "10"
    for _ in range(2):
        fake_llm.clear()
        rerun = _evaluate(data, out, env, *flags)
        assert not _requests_about(fake_llm, finished_actions)
        if rerun.returncode == 0:
            break
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    done, left = _check_outcomes(out, ids, visual=visual)
    assert left == [] and sorted(done) == sorted(ids)
    for tid, (mtime, content) in kept.items():
        assert _eval_path(out, tid).stat().st_mtime_ns == mtime and _eval_path(out, tid).read_bytes() == content


def test_judge_failing_30_percent_two_tasks(tmp_path, fake_llm):
    """Fast variant: seeded so that the first run ends with one task scored and one an error."""
    _run_30_percent(tmp_path, fake_llm, ["3", "6"], seed=3, workers=1, visual=False, first_attempts=2,
                    expect_mix=True)


@pytest.mark.slow
def test_judge_failing_30_percent_whole_sample_set(tmp_path, fake_llm):
    """The done-criterion run: all 8 sample tasks, visual scoring and the rubric on, two workers,
    faults including replies that never come (cut by the judge timeout)."""
    _run_30_percent(tmp_path, fake_llm, [str(i) for i in range(1, 9)], seed=11, workers=2, visual=True,
                    first_attempts=3, faults=(*JudgeResponder.FAULTS, "hang"), expect_mix=False)


# ---------------------------------------------------------------- one prompt kind down


@pytest.mark.parametrize(("kind", "fault", "why"), [
    ("locate", "garbage_text", "gave no readable answer"),
    ("assert", "truncated", "assertion judge failed"),
    ("rubric", "garbage_text", "rubric judge failed"),
])
def test_one_judge_prompt_kind_down_is_an_error_and_the_rerun_scores_it(tmp_path, fake_llm, kind, fault, why):
    """Each judge role failing for good (an unreadable answer, a refusal, an outage) makes the task an
    infrastructure error, never a low score; once the judge recovers, the rerun scores it, even though
    the unreadable replies had been stored in the response cache."""
    data = write_dataset(tmp_path / "data" / "tiny.jsonl", [make_tiny_task(tmp_path / "data" / "tiny", "t1")])
    out = tmp_path / "out"
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                  IWRBENCH_MAX_ATTEMPTS="2")
    assert run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q",
                   env=env).returncode == 0
    judge = JudgeResponder(broken={kind: fault})
    fake_llm.set_responder(judge)
    first = _evaluate(data, out, env)
    assert first.returncode == 1 and judge.failures[kind] >= 2
    rec = json.loads(_eval_path(out, "t1").read_text())
    assert rec["status"] == "error" and rec["error_kind"] == "infrastructure" and why in rec["error"], rec["error"]
    assert _report(out)["mean"]["final"] is None and _report(out)["errors"][0]["task_id"] == "t1"

    judge.broken.clear()
    rerun = _evaluate(data, out, env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    scored, _ = _check_outcomes(out, ["t1"], visual=True)
    assert scored == ["t1"]
