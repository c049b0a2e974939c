"""Pages of another protocol or prompt file, and evaluations by another agent, are kept apart end to end:
generate.py and evaluate.py through their entry points, the fake OpenAI-compatible server as the model
(and as the agent or judge), real Chromium. No mean ever mixes two runs or two judge folders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from iwrbench import layout
from iwrbench.data.tasks import load_tasks
from iwrbench.evaluation.run import EvalSettings
from tests.fixtures_faults import JudgeResponder, assert_no_traceback, cli_env, request_kind, run_cli
from tests.fixtures_generation import reference_responder

pytestmark = pytest.mark.browser
MODEL, SLUG = "openai/m", "openai__m"
BLANK = "```html\n<!DOCTYPE html><html><body><p>nothing here</p></body></html>\n```"


def _evaluate(data: Path, out: Path, env: dict, *extra: str) -> None:
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "-q", *extra, env=env, timeout=600)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _report(out: Path, folder: str, run: str) -> dict:
    return json.loads((out / "reports" / folder / f"{run}.json").read_text())


def test_protocol_and_prompt_runs_are_reported_apart(llm_env, tiny_data, tmp_path):
    from iwrbench.cli import generate

    reference = reference_responder(load_tasks(tiny_data))

    def respond(req):  # under the paper protocol (no captions) this model writes nothing useful
        return reference(req) if "Frame 1 of" in req.text else BLANK

    llm_env.set_responder(respond)
    out = tmp_path / "out"
    prompt = tmp_path / "mine.txt"
    prompt.write_text("Rebuild the {resolution} page; assets under {assets_base}/.\n", encoding="utf-8")
    sha8 = hashlib.sha256(prompt.read_bytes()).hexdigest()[:8]
    base = ["--data", str(tiny_data), "--result", str(out), "--model", MODEL, "-q"]
    assert generate.main(base) == 0
    assert generate.main([*base, "--protocol", "paper"]) == 0
    assert generate.main([*base, "--prompt-file", str(prompt)]) == 0
    runs = {"": SLUG, "paper": f"{SLUG}--paper", "prompt": f"{SLUG}--prompt-{sha8}"}
    assert sorted(p.name for p in (out / "t1").iterdir()) == sorted(runs.values())

    env = cli_env(tmp_path)
    quick = ["--model", MODEL, "--task", "t1", "--no-visual"]  # replay and judging are what tell the runs apart
    _evaluate(tiny_data, out, env, *quick)
    _evaluate(tiny_data, out, env, *quick, "--protocol", "paper")
    _evaluate(tiny_data, out, env, *quick, "--prompt-file", str(prompt))

    default, paper, mine = (_report(out, "offline", runs[k]) for k in ("", "paper", "prompt"))
    # The reference page scores IFS 50 here (the offline judge leaves the task's second step, which
    # changes nothing on screen, undecided); the blank page of the paper run scores 0, and stays apart.
    assert default["mean"]["IFS"] == mine["mean"]["IFS"] == 50.0 and default["mean"] == mine["mean"]
    assert paper["mean"]["IFS"] == 0.0 and paper["counts"]["scored"] == 1
    assert [default["label"], paper["label"], mine["label"]] == [MODEL, f"{MODEL} [paper]", f"{MODEL} [prompt-{sha8}]"]
    assert default["generation"]["protocols"] == {"harness": 1} and paper["generation"]["protocols"] == {"paper": 1}
    assert mine["generation"]["prompt_files"] == [{"name": "mine.txt", "sha256": hashlib.sha256(
        prompt.read_bytes()).hexdigest(), "tasks": 1}]
    md = (out / "reports" / "offline" / f"{runs['paper']}.md").read_text()
    assert f"run `{runs['paper']}`, protocol paper (1 tasks)" in md
    assert "mine.txt" in (out / "reports" / "offline" / f"{runs['prompt']}.md").read_text()
    index = (out / "reports" / "offline" / "index.html").read_text()
    assert "protocol paper (1 tasks)" in index and f"{MODEL} [paper]" in index and "prompt file mine.txt" in index
    rec = json.loads(layout.eval_path(out, "t1", MODEL, None, ("paper",)).read_text())
    assert rec["variant"] == ["paper"] and rec["generation"]["protocol"] == "paper"
    assert rec["generation"]["prompt_file"] is None and rec["generation"]["imported_from"] is None

    before = {k: _report(out, "offline", v)["mean"] for k, v in runs.items()}
    proc = run_cli("evaluate.py", "--report-only", "--data", str(tiny_data), "--result", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert {k: _report(out, "offline", v)["mean"] for k, v in runs.items()} == before
    for label in (f"{MODEL} [paper]", f"{MODEL} [prompt-{sha8}]"):
        assert label in proc.stdout


@pytest.fixture
def oracle_pages(tiny_data, tmp_path) -> Path:
    from iwrbench.cli import generate

    out = tmp_path / "out"
    assert generate.main(["--data", str(tiny_data), "--result", str(out), "--model", "builtin/oracle", "-q"]) == 0
    return out


def test_a_model_agent_with_the_offline_judges(fake_llm, tiny_data, oracle_pages, tmp_path):
    fake_llm.set_responder(JudgeResponder())
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake_llm.base_url_openai)
    _evaluate(tiny_data, oracle_pages, env, "--model", "builtin/oracle", "--agent", "openai/agent")
    folder = "offline+agent-openai__agent"
    rec = json.loads((oracle_pages / "t1" / "builtin__oracle" / "eval" / folder / "eval.json").read_text())
    assert (rec["judge"], rec["agent"]) == ("offline", "openai__agent")
    assert rec["judges"]["locator"] == "openai/agent" and rec["judges"]["assertion"] == "offline"
    assert all(s["executed"] and s["locator"]["method"] == "llm" for s in rec["steps"])
    assert rec["steps"][0]["assertion"] == {"verdict": "pass", "source": "offline",
                                            "reason": rec["steps"][0]["assertion"]["reason"]}
    assert {request_kind(r) for r in fake_llm.requests} == {"locate"}
    report = _report(oracle_pages, folder, "builtin__oracle")
    assert (report["judge"], report["assertion_judge"], report["agent"]) == (folder, "offline", "openai__agent")
    md = (oracle_pages / "reports" / folder / "builtin__oracle.md").read_text()
    assert "agent (picks elements): openai__agent; judge (assertions, rubric): offline" in md
    assert not (oracle_pages / "reports" / "offline").exists()  # the offline judges' folder is someone else's


def test_the_offline_locator_with_a_model_judge(fake_llm, tiny_data, oracle_pages, tmp_path):
    fake_llm.set_responder(JudgeResponder())
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=fake_llm.base_url_openai)
    _evaluate(tiny_data, oracle_pages, env, "--model", "builtin/oracle", "--judge", "openai/judge",
              "--agent", "offline", "--no-visual")
    folder = "openai__judge+agent-offline"
    rec = json.loads((oracle_pages / "t2" / "builtin__oracle" / "eval" / folder / "eval.json").read_text())
    assert (rec["judge"], rec["agent"]) == ("openai__judge", "offline")
    assert rec["judges"]["locator"] == "offline" and rec["judges"]["assertion"] == "openai/judge"
    assert all(s["locator"]["method"] != "llm" and s["assertion"]["source"] == "openai/judge" for s in rec["steps"])
    assert {request_kind(r) for r in fake_llm.requests} == {"assert"}  # no element was picked by the model
    proc = run_cli("evaluate.py", "--report-only", "--data", str(tiny_data), "--result", str(oracle_pages), env=env)
    assert proc.returncode == 0, proc.stderr
    assert _report(oracle_pages, folder, "builtin__oracle")["mean"]["IFS"] == 100.0  # the fake judge says pass


def test_judge_folder_names():
    assert EvalSettings().folder == "offline"
    assert EvalSettings(judge="openai/gpt-4o").folder == "openai__gpt-4o"  # the judge also picks elements
    assert EvalSettings(judge="openai/gpt-4o", agent="openai/gpt-4o").folder == "openai__gpt-4o"
    assert EvalSettings(judge="openai/gpt-4o", agent="offline").folder == "openai__gpt-4o+agent-offline"
    assert EvalSettings(agent="anthropic/claude-x").folder == "offline+agent-anthropic__claude-x"
    assert EvalSettings(agent="offline").folder == "offline"
    assert layout.parse_evaluator_slug("openai__j+agent-offline") == ("openai__j", "offline")
    assert layout.normalize_evaluator_slug("openai/J+agent-offline") == "openai__j+agent-offline"
    assert layout.normalize_evaluator_slug("offline") == "offline"
