"""Judge agreement end to end: the same pages evaluated by the offline judge and by a model judge (the
fake OpenAI server answering as a judge), then one agreement report between the two judge folders."""

from __future__ import annotations

import json

import pytest

from tests.fixtures_faults import PLANTED_KEY, JudgeResponder, assert_no_traceback, cli_env, run_cli
from tests.fixtures_generation import make_tiny_task, write_dataset

pytestmark = pytest.mark.browser

MODELS = ("builtin/oracle", "builtin/blank")
JUDGE, JUDGE_SLUG = "openai/judge", "openai__judge"


def test_offline_and_model_judge_agreement_report(tmp_path, fake_llm):
    root = tmp_path / "data" / "tiny"
    data = write_dataset(tmp_path / "data" / "tiny.jsonl",
                         [make_tiny_task(root, "a1", shade=70, seconds=1.0)])
    out = tmp_path / "out"
    fake_llm.set_responder(JudgeResponder(verdict="pass"))
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    models = [a for m in MODELS for a in ("--model", m)]
    for model in MODELS:
        gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", model, "-q", env=env)
        assert gen.returncode == 0, gen.stderr
    for judge in ([], ["--judge", JUDGE]):
        ev = run_cli("evaluate.py", "--data", str(data), "--result", str(out), *models, *judge, "--no-visual", "-q",
                     env=env, timeout=600)
        assert_no_traceback(ev)
        assert ev.returncode == 0, ev.stderr[-3000:]
    folder = out / "reports" / "agreement"
    rep = json.loads((folder / f"offline__vs__{JUDGE_SLUG}.json").read_text())
    assert rep["judges"] == ["offline", JUDGE_SLUG] and set(rep["models"]) == {"builtin__oracle", "builtin__blank"}
    oracle = rep["models"]["builtin__oracle"]
    # The oracle's button is found and clicked under both judges: both steps are compared. The fake
    # judge passes everything; the offline judge passes the first click and cannot decide the second
    # (the page does not change again): 1 of 2 agree, and kappa is 0 (no agreement beyond chance).
    assert oracle["steps"]["compared"] == 2, oracle
    assert oracle["steps"]["confusion"]["pass"]["pass"] == 1 and oracle["steps"]["confusion"]["undecided"]["pass"] == 1
    assert oracle["steps"]["kappa"] == 0.0
    assert rep["models"]["builtin__blank"]["steps"]["compared"] == 0  # nothing to click: no verdicts
    assert rep["ranking"]["models_ifs"] == 2 and rep["ranking"]["kendall_tau_ifs"] == 1.0
    assert rep["ifs"]["evaluations"] == 2
    assert "Cohen's kappa" in (folder / f"offline__vs__{JUDGE_SLUG}.md").read_text()
    for judge in ("offline", JUDGE_SLUG):
        html = (out / "reports" / judge / "index.html").read_text()
        assert "Agreement with other judges" in html, judge
    # --report-only rebuilds it the same.
    before = (folder / f"offline__vs__{JUDGE_SLUG}.json").read_bytes()
    again = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--report-only", "-q", env=env)
    assert again.returncode == 0 and (folder / f"offline__vs__{JUDGE_SLUG}.json").read_bytes() == before
