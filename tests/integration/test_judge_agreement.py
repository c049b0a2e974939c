"""bench/judge_agreement.py: counting and attribution on a tiny labelled corpus written here (no browser,
no downloads), through the real command line (--report-only reads the runs' eval.json files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import agreement_stats as st
from iwrbench.layout import eval_path

SELF, OTHER = "thirdparty/self", "thirdparty/other"
BH, BE, BS = "thirdparty/broken-handler", "thirdparty/broken-element", "thirdparty/broken-state"


def _step(k: int, verdict: str = "pass", *, executed: bool = True, attempted: bool = True, error: str | None = None,
          element: str = "", settle: float = 0.05, source: str = "offline", reason: str = "ok") -> dict:
    return {"index": k, "type": "Click", "description": f"step {k}", "executed": executed, "attempted": attempted,
            "assertion": {"verdict": verdict, "source": source, "reason": reason}, "error": error,
            "locator": {"method": "offline", "index": 3 if attempted else None, "element": element,
                        "reason": error or ""},
            "timings": {"settle": settle}, "settle": {"cap": 0.4, "capped": settle >= 0.4, "seconds": settle}}


NO_ELEMENT = dict(executed=False, attempted=False, verdict="fail", error="no element found for 'x': nothing matched")
AMBIGUOUS = dict(executed=False, attempted=False, verdict="fail", error="no element found for 'x': ambiguous (2)")
NOT_REACHED = dict(executed=False, attempted=False, verdict="fail", source="replay",
                   reason="not performed: not reached: action 1 could not be performed")

# (task, model) -> steps of run 1; a missing key is a reconstruction that was never evaluated.
RUN1 = {
    ("t1", SELF): [_step(1, element='<button> "Add"'), _step(2), _step(3, **NO_ELEMENT)],
    ("t1", OTHER): [_step(1, "fail", element='<button> "Delete"'), _step(2), _step(3, "fail", settle=0.4)],
    ("t1", BH): [_step(1, element='<button> "Add"'), _step(2, reason="words were on the page"), _step(3, "fail")],
    ("t1", BE): [_step(1, **NO_ELEMENT), _step(2, **NOT_REACHED), _step(3, **NOT_REACHED)],
    ("t2", SELF): [_step(1, executed=False, attempted=True, verdict="fail", error="click failed: timeout"),
                   _step(2, **NOT_REACHED)],
    ("t2", OTHER): [_step(1, **AMBIGUOUS), _step(2, **NOT_REACHED)],
}
IFS = {("t1", SELF): 66.67, ("t1", OTHER): 0.0, ("t1", BH): 66.67, ("t1", BE): 0.0, ("t2", SELF): 0.0,
       ("t2", OTHER): 0.0}
LABELS = {"schema_version": 1, "tasks": {
    "t1": {"steps": 3, "models": {
        SELF: {"kind": "self", "expect": "pass"}, OTHER: {"kind": "restyle", "expect": "pass"},
        BH: {"kind": "broken-handler", "expect": "fail", "first_fail": 2,
             "validation": {"status": "validated", "detail": "x"}},
        BE: {"kind": "broken-element", "expect": "fail", "first_fail": 1,
             "validation": {"status": "validated", "detail": "x"}},
        BS: {"kind": "broken-state", "expect": "fail", "first_fail": 3,
             "validation": {"status": "unvalidated", "detail": "step 3 differs between two recordings"}}}},
    "t2": {"steps": 2, "models": {SELF: {"kind": "self", "expect": "pass"},
                                  OTHER: {"kind": "restyle", "expect": "pass"}}}}}
TARGETS = {"t1": [{"tag": "button", "text": "Add"}, {"tag": "input", "text": ""}, {"tag": "a", "text": "Active"}],
           "t2": [{"tag": "button", "text": "Go"}, None]}


def _write_corpus(cache: Path) -> None:
    (cache / "labels.json").parent.mkdir(parents=True, exist_ok=True)
    (cache / "labels.json").write_text(json.dumps(LABELS))
    (cache / "data").mkdir()
    (cache / "data" / "thirdparty.jsonl").write_text("")
    for tid, targets in TARGETS.items():
        folder = cache / "data" / "thirdparty" / tid
        folder.mkdir(parents=True)
        (folder / "recording.json").write_text(json.dumps({"actions": [{"target": t} for t in targets]}))
    for run in (1, 2):
        for (tid, model), steps in RUN1.items():
            steps = json.loads(json.dumps(steps))
            if run == 2 and (tid, model) == ("t1", SELF):
                steps[2] = _step(3)  # the second run passes the step the first one failed
            ev = {"task_id": tid, "model": model, "status": "scored", "steps": steps,
                  "scores": {"IFS": IFS[(tid, model)]}}
            path = eval_path(cache / "agreement" / f"run-{run}", tid, model, None)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(ev))


def test_counting_and_attribution_through_the_command_line(tmp_path, root):
    cache = tmp_path / "cache"
    _write_corpus(cache)
    doc = tmp_path / "validity.md"
    doc.write_text("# Validity\n\nbefore\n<!-- agreement:begin -->\nold tables\n<!-- agreement:end -->\nafter\n")
    out = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, str(root / "bench" / "judge_agreement.py"), "--cache", str(cache),
                           "--report-only", "--runs", "2", "--json", str(out), "--write-docs", str(doc)],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(out.read_text())
    assert s["confusion"] == {"pass->pass": 4, "pass->fail": 9, "fail->pass": 1, "fail->fail": 2}
    assert s["agreement"] == pytest.approx(100 * 6 / 16)
    assert s["first_fail"] == {"right": 1, "of": 3}
    assert s["causes"] == {"locator: no element": 1, "locator: ambiguous": 1, "locator: wrong element": 1,
                           "action": 1, "settle": 1, "judge": 1, "not reached": 2, "evaluation error": 2}
    assert s["repeat_same"] == {"same": 15, "of": 16}
    assert s["by_kind"]["self"]["IFS"] == pytest.approx((66.67 + 0) / 2)
    assert s["by_kind"]["restyle"]["below_80"] == 2
    assert s["ifs_by_task"]["t1"]["models"][BH] == {"IFS": 66.67, "expected": 33.33, "error": 33.34}
    where = {(d["task"], d["model"], d["index"]): d["cause"] for d in s["disagreements"]}
    assert where[("t1", BH, 2)] == "judge" and where[("t1", OTHER, 1)] == "locator: wrong element"
    assert where[("t1", OTHER, 3)] == "settle" and where[("t1", BS, 1)] == "evaluation error"
    text = doc.read_text()
    assert text.startswith("# Validity\n\nbefore\n<!-- agreement:begin -->\n") and text.endswith(
        "<!-- agreement:end -->\nafter\n")
    assert "old tables" not in text and "| pass | 4 | 9 |" in text and "15/16" in text
    assert "step 3 differs between two recordings" in text  # the label the build could not validate
    assert "| pass | 4 | 9 |" in proc.stdout


def test_wrong_element_prefers_boxes_and_falls_back_to_text():
    target = {"tag": "input", "text": "", "box": [10, 10, 20, 20]}
    assert not st.wrong_element({"locator": {"method": "offline", "box": [12, 12, 10, 10]}}, target)
    assert st.wrong_element({"locator": {"method": "offline", "box": [200, 200, 10, 10]}}, target)
    label = {"tag": "label", "text": "Buy milk"}
    assert not st.wrong_element({"locator": {"method": "offline", "element": '<label> "Buy milk"'}}, label)
    assert st.wrong_element({"locator": {"method": "offline", "element": '<label> "Walk the dog"'}}, label)
    assert not st.wrong_element({"locator": {"method": "key", "element": "<body>"}}, label)
    # a field's recorded text is its value at the time: fields are told apart by label, placeholder, name
    password = {"tag": "input", "text": "xxxxxxx"}
    assert not st.wrong_element({"locator": {"method": "offline", "element": '<input> "Password"'}}, password)
    email = {"tag": "input", "text": "", "label": "Email"}
    assert st.wrong_element({"locator": {"method": "offline", "element": '<input> "Password"'}}, email)
    assert not st.wrong_element({"locator": {"method": "offline", "element": '<input> "Email"'}}, email)


def test_docs_without_markers_is_a_one_line_error(tmp_path, root):
    cache = tmp_path / "cache"
    _write_corpus(cache)
    doc = tmp_path / "validity.md"
    doc.write_text("# no markers\n")
    proc = subprocess.run([sys.executable, str(root / "bench" / "judge_agreement.py"), "--cache", str(cache),
                           "--report-only", "--write-docs", str(doc)], capture_output=True, text=True, timeout=120,
                          cwd=root)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "markers" in proc.stderr


def test_figures_per_split_keep_held_out_tasks_apart():
    """Held-out tasks (written before any measurement on them) are reported on their own."""
    evals = {k: {"status": "scored", "steps": v, "scores": {"IFS": IFS[k]}} for k, v in RUN1.items()}
    t = st.tally(LABELS, evals, TARGETS)
    splits = st.by_split(t, {"t2": "held-out"})
    assert set(splits) == {"held-out", "tuning"}
    held = splits["held-out"]
    assert (held["tasks"], held["steps"], held["agreement"]) == (1, 4, 0.0)
    assert held["first_fail"] == {"right": 0, "of": 0} and held["correct_pages_IFS"] == 0.0
    tuning = splits["tuning"]
    assert tuning["tasks"] == 1 and tuning["steps"] == len(t.steps) - 4
    assert tuning["correct_pages_IFS"] == pytest.approx((66.67 + 0.0) / 2)
    assert st.by_split(t, {}).keys() == {"tuning"}
