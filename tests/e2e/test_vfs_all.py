"""VFS_all through evaluate.py: the no-interaction baseline (a picture of the first frame) reaches nothing
but step 0, so its published VFS is step 0's similarity alone; VFS_all also compares every flagged
checkpoint it never reached with the last state it showed, and falls."""

from __future__ import annotations

import json

import pytest

from iwrbench import layout
from iwrbench.data.tasks import load_tasks
from tests.fixtures_faults import ROOT, assert_no_traceback, cli_env, copy_sample, run_cli

pytestmark = pytest.mark.browser

MODEL = "builtin/screenshot"


def test_unreached_checkpoints_are_scored_against_the_last_captured_state(tmp_path):
    data = copy_sample(tmp_path / "data", ["3"])
    out = tmp_path / "out"
    env = cli_env(tmp_path, IWRBENCH_CACHE_DIR=str(ROOT / ".cache"))  # the sample's OCR, read once
    assert run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q",
                   env=env).returncode == 0
    ev = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q", env=env)
    assert_no_traceback(ev)
    assert ev.returncode == 0, ev.stderr[-3000:]
    rec = json.loads(layout.eval_path(out, "3", MODEL, None).read_text())
    task = load_tasks(data)[0]
    flagged = {a.index for a in task.actions if a.visual_evaluation_flag}
    assert not any(s["executed"] for s in rec["steps"])  # a picture: nothing to click
    stand_ins = {s["index"]: s["visual_last_state"] for s in rec["steps"] if s["visual_last_state"]}
    assert set(stand_ins) == flagged and all(s["visual"] is None for s in rec["steps"])
    for k, v in stand_ins.items():
        assert v["compared_with"] == "step_0.png" and v["checkpoint"] == f"checkpoints/step_{k}.png"
    scores = rec["scores"]
    assert scores["VFS"] == rec["initial"]["low_level"]  # published VFS: step 0 alone, as before
    lows = [rec["initial"]["low_level"], *(v["low_level"] for v in stand_ins.values())]
    assert scores["VFS_all"] == pytest.approx(sum(lows) / len(lows), abs=0.01)
    assert scores["final_all"] == pytest.approx(0.7 * scores["IFS"] + 0.3 * scores["VFS_all"], abs=0.01)
    assert scores["VFS_all"] < scores["VFS"] - 10 and scores["final_all"] < scores["final"]
    rep = json.loads((out / "reports" / "offline" / "builtin__screenshot.json").read_text())
    assert rep["mean"]["VFS_all"] == scores["VFS_all"] and rep["ci95"]["final_all"] == [scores["final_all"]] * 2
    html = (out / "reports" / "offline" / "index.html").read_text()
    assert "for VFS_all only, against the last captured state (step_0.png)" in html
