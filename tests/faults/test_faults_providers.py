"""Fault injection: the page-writing model's provider misbehaves, seen from generate.py.

Complements tests/integration/test_providers.py (one model call: retries, Retry-After, timeouts, 5xx, client
errors, truncation, refusals, the cache) and tests/integration/test_generation.py (a failing task, replies with
no page): here the faults are the ones that only show over a whole run, and every case ends with the
rerun that completes the work. Each runs for an OpenAI-compatible model and for Gemini (google/...).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iwrbench.cli import generate
from iwrbench.data.tasks import load_tasks
from iwrbench.layout import page_dir
from tests.fakes.llm_server import Fault
from tests.fixtures_faults import DroppingServer
from tests.fixtures_generation import make_tiny_task, reference_responder, task_of_request, write_dataset

pytestmark = pytest.mark.faults

MODEL = "openai/gpt-4o"
GEMINI = "google/gemini-2.5-flash"
BOTH = pytest.mark.parametrize("model", [MODEL, GEMINI])
# Per provider: the base-URL variable, the path under a server's root, a 200 reply with no answer in it.
WIRE = {MODEL: ("OPENAI_BASE_URL", "/v1", b'{"id": "x", "object": "chat.completion", "choices": []}'),
        GEMINI: ("GEMINI_BASE_URL", "", b'{"candidates": [], "usageMetadata": {"promptTokenCount": 5}}')}


@pytest.fixture
def tiny3(tmp_path) -> Path:
    root = tmp_path / "data" / "tiny"
    return write_dataset(tmp_path / "data" / "tiny.jsonl",
                         [make_tiny_task(root, f"p{i}", shade=60 * i, seconds=1.0) for i in range(3)])


def _generate(data: Path, out: Path, *extra: str, model: str = MODEL) -> int:
    return generate.main(["--data", str(data), "--result", str(out), "--model", model, "-q", *extra])


def _record(out: Path, tid: str, model: str = MODEL) -> dict:
    return json.loads((page_dir(out, tid, model) / "generation.json").read_text())


def _all_done(out: Path, data: Path, model: str = MODEL) -> bool:
    return all(_record(out, t.id, model)["status"] == "done" and (page_dir(out, t.id, model) / "index.html").is_file()
               for t in load_tasks(data))


@BOTH
def test_rate_limit_without_retry_after_backs_off_and_succeeds(llm_env, tiny3, tmp_path, model):
    llm_env.set_responder(reference_responder(load_tasks(tiny3)))
    llm_env.script([Fault.rate_limit(None), Fault.rate_limit(None)])
    out = tmp_path / "out"
    assert _generate(tiny3, out, "--workers", "1", "--task", "p0", model=model) == 0
    rec = _record(out, "p0", model)
    assert rec["status"] == "done" and rec["attempts"] == 3
    gaps = [b.received_at - a.received_at for a, b in zip(llm_env.requests, llm_env.requests[1:], strict=False)]
    # No Retry-After: exponential backoff from 1 s (with jitter), doubled, capped at IWRBENCH_MAX_DELAY=2.
    assert 0.7 <= gaps[0] < 1.4 and gaps[0] < gaps[1] < 2.6, gaps


@BOTH
@pytest.mark.parametrize("how", ["nothing listening", "connection closed", "reply cut short", "no choices"])
def test_provider_unreachable_or_broken_fails_every_task_then_rerun_completes(llm_env, tiny3, tmp_path, monkeypatch,
                                                                          capsys, how, model):
    """Whatever breaks at the transport level is retried, then recorded per task as an infrastructure
    failure (never a crash, never the model's fault); when the provider is back the rerun completes."""
    out = tmp_path / "out"
    var, path, empty = WIRE[model]
    if how == "no choices":
        llm_env.set_responder(lambda _r: Fault.garbage(empty))
        code = _generate(tiny3, out, "--max-attempts", "2", model=model)
        expected = "bad_response"
    elif how == "nothing listening":
        monkeypatch.setenv(var, "http://127.0.0.1:9" + path)  # the discard port: refused
        code = _generate(tiny3, out, "--max-attempts", "2", model=model)
        expected = "connection"
    else:
        with DroppingServer("close" if how == "connection closed" else "short") as broken:
            monkeypatch.setenv(var, broken.base_url + path)
            code = _generate(tiny3, out, "--max-attempts", "2", model=model)
        assert broken.hits == 6  # 3 tasks x 2 attempts
        expected = "connection"
    assert code == 1
    summary = capsys.readouterr().out
    assert "0 done, 0 skipped, 3 failed" in summary
    for t in load_tasks(tiny3):
        rec = _record(out, t.id, model)
        assert rec["status"] == "failed" and rec["error_kind"] == "infrastructure", rec
        assert rec["error"].startswith(expected) and rec["attempts"] == 2, rec["error"]
        assert not (page_dir(out, t.id, model) / "index.html").exists()

    monkeypatch.setenv(var, llm_env.base_url_gemini if model == GEMINI else llm_env.base_url_openai)
    llm_env.set_responder(reference_responder(load_tasks(tiny3)))
    assert _generate(tiny3, out, model=model) == 0 and _all_done(out, tiny3, model)


@BOTH
def test_rate_limit_with_retry_after_then_server_error_then_a_cut_off_reply(llm_env, tiny3, tmp_path, model):
    """A 429 naming its wait is waited for, a 500 is retried, and a reply cut off at max_tokens still
    makes a page, recorded as truncated."""
    tasks = load_tasks(tiny3)
    page = reference_responder(tasks)
    llm_env.set_responder(lambda r: Fault.truncated(page(r)[:400]))
    llm_env.script([Fault.rate_limit(1), Fault.server_error(500)])
    out = tmp_path / "out"
    assert _generate(tiny3, out, "--task", "p1", model=model) == 0
    rec = _record(out, "p1", model)
    assert rec["status"] == "done" and rec["attempts"] == 3 and rec["truncated"] is True and rec["stop_reason"] == "length"
    first_wait = llm_env.requests[1].received_at - llm_env.requests[0].received_at
    assert first_wait >= 1.0, first_wait
    assert (page_dir(out, "p1", model) / "index.html").is_file()


@BOTH
def test_an_empty_reply_is_the_models_failure_and_is_asked_again_on_rerun(llm_env, tiny3, tmp_path, model):
    """A reply with no page (here: empty) fails its task as the model's; it is not kept in the response
    cache, so the rerun really asks the model again instead of replaying the same empty reply."""
    tasks = load_tasks(tiny3)
    good = reference_responder(tasks)
    llm_env.set_responder(lambda r: "" if task_of_request(r, tasks).id == "p1" else good(r))
    out = tmp_path / "out"
    assert _generate(tiny3, out, model=model) == 1
    rec = _record(out, "p1", model)
    assert rec["status"] == "failed" and rec["error_kind"] == "model" and "no HTML" in rec["error"]
    llm_env.clear()
    llm_env.set_responder(good)
    assert _generate(tiny3, out, model=model) == 0 and _all_done(out, tiny3, model)
    assert [task_of_request(r, tasks).id for r in llm_env.requests] == ["p1"]
    assert _record(out, "p1", model)["cached"] is False


@BOTH
def test_reply_slower_than_the_timeout_is_retried_within_the_run(llm_env, tiny3, tmp_path, model):
    llm_env.set_responder(reference_responder(load_tasks(tiny3)))
    llm_env.script([Fault.hang(20)])
    out = tmp_path / "out"
    assert _generate(tiny3, out, "--task", "p2", "--timeout", "1", model=model) == 0
    rec = _record(out, "p2", model)
    assert rec["status"] == "done" and rec["attempts"] == 2 and rec["seconds"] < 10


@BOTH
def test_auth_failure_stops_nothing_else_and_is_not_retried(llm_env, tiny3, tmp_path, capsys, model):
    llm_env.set_responder(lambda _r: Fault.bad_key())  # Gemini's answer is its own: a 400 API_KEY_INVALID
    out = tmp_path / "out"
    assert _generate(tiny3, out, "--max-attempts", "4", model=model) == 1
    assert len(llm_env.requests) == 3  # one per task: an auth error is not retried
    status = 400 if model == GEMINI else 401
    for t in load_tasks(tiny3):
        rec = _record(out, t.id, model)
        assert rec["error_kind"] == "infrastructure" and rec["error"].startswith(f"auth: HTTP {status}"), rec["error"]
    assert "3 failed" in capsys.readouterr().out
