"""The judge-call gate (iwrbench/models/gate.py): calls in flight capped, a 429 pausing every call that has
not started, rate limits not counted against a call's attempts. Through the real SDKs and the fake server,
then through evaluate.py with a judge that answers 10% of its calls with a 429."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from iwrbench.models.base import ModelRequest, TextPart
from iwrbench.models.gate import CallGate
from iwrbench.models.registry import get_model
from iwrbench.models.settings import ModelSettings
from tests.fakes.llm_server import Fault
from tests.fixtures_faults import (
    PLANTED_KEY,
    JudgeResponder,
    assert_no_traceback,
    cli_env,
    copy_sample,
    run_cli,
)


class InFlight:
    """A responder wrapper counting the requests the server is answering at once (its peak)."""

    def __init__(self, inner, delay: float):
        self.inner, self.delay = inner, delay
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, req):
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.delay)
            return self.inner(req)
        finally:
            with self._lock:
                self.now -= 1


def _calls(model, gate: CallGate, n: int):
    model.gate = gate

    async def go():
        try:
            reqs = [ModelRequest(parts=(TextPart(f"question {i}"),), max_tokens=20, timeout=10.0, purpose="assert")
                    for i in range(n)]
            return await asyncio.gather(*(model.complete(r) for r in reqs))
        finally:
            await model.aclose()

    return asyncio.run(go())


def _model(tmp_path):
    # one attempt: without the gate, any 429 would fail its call
    return get_model("openai/judge", ModelSettings(cache_dir=tmp_path / "cache", max_attempts=1, base_delay=0.05,
                                                   max_delay=5.0))


def test_calls_in_flight_never_exceed_the_limit(llm_env, tmp_path):
    counter = InFlight(lambda r: "ok", delay=0.15)
    llm_env.set_responder(counter)
    gate = CallGate(3)
    replies = _calls(_model(tmp_path), gate, 12)
    assert [r.text for r in replies] == ["ok"] * 12
    assert counter.peak == 3 and gate.stats.peak_in_flight == 3 and gate.stats.calls == 12


def test_a_429_pauses_every_call_not_yet_started_for_its_retry_after(llm_env, tmp_path):
    """Four calls go out at once; the first gets a 429 asking for 1 s, the other three are answered after
    0.3 s. Without a shared pause the queued calls would follow at 0.3 s; with it, no request reaches the
    server until the second has passed, and every call succeeds on its one attempt."""
    first = threading.Event()

    def respond(req):
        if not first.is_set():
            first.set()
            return Fault.rate_limit(retry_after=1)
        time.sleep(0.3)
        return "ok"

    llm_env.set_responder(respond)
    gate = CallGate(4)
    replies = _calls(_model(tmp_path), gate, 8)
    assert [r.text for r in replies] == ["ok"] * 8
    t0 = llm_env.requests[0].received_at
    later = sorted(r.received_at - t0 for r in llm_env.requests[4:])
    assert len(later) == 5 and later[0] >= 1.0, later  # 4 queued calls and the retried one
    assert gate.stats.rate_limited == 1 and gate.stats.paused_s >= 1.0


def test_rate_limits_have_their_own_budget_and_then_fail_the_call(llm_env, tmp_path):
    llm_env.set_responder(lambda r: Fault.rate_limit(retry_after=0))
    model = _model(tmp_path)
    model.policy = type(model.policy)(max_attempts=1, base_delay=0.0, max_delay=0.01, rate_limit_attempts=5)
    with pytest.raises(Exception, match="gave up after 5 attempts"):
        _calls(model, CallGate(2), 1)
    assert len(llm_env.requests) == 5


def test_a_rate_limited_judge_slows_the_run_and_fails_no_task(tmp_path, fake_llm):
    """evaluate.py with a judge answering 10% of its calls with a 429 (with and without Retry-After) and
    one attempt per call: every task is scored as with a healthy judge, and --judge-concurrency caps the
    calls the judge answers at once although three workers want more."""
    ids = ["1", "3", "6"]
    data = copy_sample(tmp_path / "data", ids)
    out = tmp_path / "out"
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                  IWRBENCH_MAX_ATTEMPTS="1")
    gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle", "-q",
                  env=env)
    assert gen.returncode == 0, gen.stderr
    responder = JudgeResponder(fail_rate=0.1, seed=5, faults=("rate_limit", "rate_limit_after"))
    counter = InFlight(responder, delay=0.1)  # replies take a while, so that calls overlap when allowed to
    fake_llm.set_responder(counter)
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle",
                   "--judge", "openai/judge", "--no-visual", "--workers", "3", "--judge-concurrency", "2", "-q",
                   env=env, timeout=900)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sum(responder.failures.values()) >= 3, responder.failures  # the judge did rate-limit
    for tid in ids:
        rec = json.loads((out / tid / "builtin__oracle" / "eval" / "openai__judge" / "eval.json").read_text())
        assert rec["status"] == "scored" and rec["scores"]["IFS"] == 100.0, (tid, rec["status"], rec["error"])
    report = json.loads((out / "reports" / "openai__judge" / "builtin__oracle.json").read_text())
    assert report["counts"]["errors"] == 0 and report["complete"] is True
    assert counter.peak <= 2
    line = next(ln for ln in proc.stderr.splitlines() if "model calls:" in ln)
    assert "(limit 2)" in line and f"{sum(responder.failures.values())} rate-limited" in line, line
