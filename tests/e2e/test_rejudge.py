"""evaluate.py --rejudge: judging again from the stored replay traces, through the real entry point, with no
browser. An offline evaluation judged again reproduces its eval.json exactly (scores, verdicts, visuals),
and no Chromium process is started meanwhile; a fake model judge writes its own judge folder from the
offline agent's replays; a task without a usable trace is an error of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from iwrbench.layout import evaluator_slug
from tests.fixtures_faults import (
    PLANTED_KEY,
    JudgeResponder,
    assert_no_traceback,
    cli_env,
    copy_sample,
    request_kind,
    run_cli,
)
from tests.schema_check import assert_records_valid

pytestmark = pytest.mark.browser  # the evaluation judged again needs one; the rejudge itself does not

ROOT = Path(__file__).resolve().parents[2]
ORACLE, BLANK = "builtin/oracle", "builtin/blank"
RUNS = {ORACLE: ("2", "6"), BLANK: ("6",)}  # a page that works, and one that fails at its first action
JUDGE = "openai/judge"
RUBRIC_TOTAL = 8 + 12 + 30 + 11 + 15  # JudgeResponder's rubric answer


def _slug(model: str) -> str:
    return model.replace("/", "__")


def _eval(out: Path, tid: str, model: str, folder: str = "offline") -> dict:
    return json.loads((out / tid / _slug(model) / "eval" / folder / "eval.json").read_text())


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[Path, Path]:
    """(data file, result folder) of an offline evaluation of the oracle (tasks 2, 6) and blank (6) pages."""
    root = tmp_path_factory.mktemp("rejudge")
    data = copy_sample(root / "data", {"2", "6"})
    out = root / "out"
    env = cli_env(root)
    for model, ids in RUNS.items():
        for script in ("generate.py", "evaluate.py"):
            # what is judged again is the point here, not the replay's speed: a cap that a loaded machine
            # cannot hit (the default scales with the actions, 160 s for task 6, and was hit under load)
            caps = ("--task-timeout", "800") if script == "evaluate.py" else ()
            proc = run_cli(script, "--data", str(data), "--result", str(out), "--model", model, "-q", *caps,
                           *[f"--task={t}" for t in ids], env=env, timeout=900)
            assert proc.returncode == 0, proc.stderr[-2000:]
    checked = assert_records_valid(out)  # every file the run wrote matches its schema and model
    assert checked["generation"] == 3 and checked["eval"] == 3 and checked["trace"] == 3, checked
    assert checked["report"] == 2 and checked["manifest"] == 2, checked
    return data, out


def _copy(evaluated: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    data, out = evaluated
    shutil.copytree(out, tmp_path / "out")
    return data, tmp_path / "out"


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for kid in kids.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def _run_watched(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a command line and every ~20 ms list the command lines of its descendant processes that look
    like a browser."""
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in _descendants(proc.pid):
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if "chrom" in cmd.lower() or "headless" in cmd.lower():
                    seen.append(cmd[:200])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        stop.set()
        watcher.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), seen


def _tripwire(tmp_path: Path) -> tuple[Path, Path]:
    """An 'IWRBENCH_CHROMIUM' that only notes it was started: (the executable, its note)."""
    note = tmp_path / "chromium-started"
    exe = tmp_path / "tripwire-chromium"
    exe.write_text(f"#!/bin/sh\necho \"$@\" >> {note}\nexit 1\n")
    exe.chmod(0o755)
    return exe, note


JUDGED_FIELDS = ("status", "error", "error_kind", "scores", "success_steps", "total_steps", "initial",
                 "initial_screenshot", "verdict_counts", "judges", "sandbox", "generation", "classification")


def test_rejudge_reproduces_an_offline_evaluation_without_a_browser(evaluated, tmp_path):
    data, out = _copy(evaluated, tmp_path)
    before = {(m, t): _eval(out, t, m) for m, ids in RUNS.items() for t in ids}
    exe, note = _tripwire(tmp_path)
    env = cli_env(tmp_path, IWRBENCH_CHROMIUM=str(exe))
    for model, ids in RUNS.items():
        proc, browsers = _run_watched(["evaluate.py", "--data", str(data), "--result", str(out), "--model", model,
                                       "--rejudge", "-q", *[f"--task={t}" for t in ids]], env)
        assert_no_traceback(proc)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert browsers == [] and not note.exists(), (browsers, note.read_text() if note.exists() else "")
    for (model, tid), old in before.items():
        new = _eval(out, tid, model)
        for key in JUDGED_FIELDS:
            assert new[key] == old[key], (model, tid, key)
        assert new["steps"] == old["steps"], (model, tid)  # facts, verdicts and visual scores alike
        assert new["rejudged"]["trace"] == "eval/offline/trace.json" and old["rejudged"] is None
    assert _eval(out, "6", BLANK)["scores"]["IFS"] == 0.0 and _eval(out, "2", ORACLE)["scores"]["IFS"] == 100.0
    report = json.loads((out / "reports" / "offline" / f"{_slug(ORACLE)}.json").read_text())
    assert report["manifest"]["settings"]["rejudge"] is True
    assert_records_valid(out)


def test_rejudge_with_a_model_judge_writes_that_judges_folder(evaluated, tmp_path, fake_llm):
    data, out = _copy(evaluated, tmp_path)
    responder = JudgeResponder()
    fake_llm.set_responder(responder)
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                  IWRBENCH_CHROMIUM=str(_tripwire(tmp_path)[0]))
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", ORACLE, "--rejudge",
                   "--judge", JUDGE, "-q", "--task=2", "--task=6", env=env, timeout=600)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = evaluator_slug(JUDGE, None)  # the judge's, with the offline agent that replayed the pages
    assert folder == "openai__judge+agent-offline"
    assert {request_kind(r) for r in fake_llm.requests} == {"assert", "rubric"}  # nothing picked elements
    for tid in ("2", "6"):
        offline, judged = _eval(out, tid, ORACLE), _eval(out, tid, ORACLE, folder)
        assert judged["judge"] == "openai__judge" and judged["agent"] == "offline"
        assert judged["judges"]["assertion"] == JUDGE and judged["judges"]["locator"] == "offline"
        assert judged["scores"]["IFS"] == 100.0 and judged["scores"]["high_level"] == RUBRIC_TOTAL
        assert {s["assertion"]["source"] for s in judged["steps"]} == {JUDGE}
        assert [s["locator"] for s in judged["steps"]] == [s["locator"] for s in offline["steps"]]
        shots = out / tid / _slug(ORACLE) / "eval" / folder
        assert (shots / "trace.json").is_file() and (shots / "step_0.png").is_file()
        assert os.path.samefile(shots / "step_1.png", out / tid / _slug(ORACLE) / "eval" / "offline" / "step_1.png")
    report = json.loads((out / "reports" / folder / f"{_slug(ORACLE)}.json").read_text())
    assert report["mean"]["IFS"] == 100.0 and report["counts"]["scored"] == 2
    assert assert_records_valid(out / tid / _slug(ORACLE) / "eval" / folder)["eval"] == 1
    assert_records_valid(out / "reports" / folder)


def test_a_task_without_a_usable_trace_is_an_error_and_an_existing_eval_json_is_kept(evaluated, tmp_path):
    data, out = _copy(evaluated, tmp_path)
    env = cli_env(tmp_path, IWRBENCH_CHROMIUM=str(_tripwire(tmp_path)[0]))
    (out / "2" / _slug(ORACLE) / "eval" / "offline" / "trace.json").unlink()  # evaluated before traces existed
    page = out / "6" / _slug(ORACLE) / "index.html"
    page.write_text(page.read_text() + "<!-- changed since its replay -->")
    kept = (out / "2" / _slug(ORACLE) / "eval" / "offline" / "eval.json").read_bytes()
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", ORACLE, "--rejudge", "-q",
                   "--task=2", "--task=6", env=env, timeout=600)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "no stored replay trace" in proc.stderr and "earlier version of the page" in proc.stderr
    assert (out / "2" / _slug(ORACLE) / "eval" / "offline" / "eval.json").read_bytes() == kept
    # a judge folder with nothing in it yet gets the error as its record (listed in its report)
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", ORACLE, "--rejudge", "-q",
                   "--task=2", "--agent", "openai/agent", env=env, timeout=600)
    assert proc.returncode == 1 and "no stored replay trace by agent 'openai__agent'" in proc.stderr
    rec = _eval(out, "2", ORACLE, "offline+agent-openai__agent")
    assert rec["status"] == "error" and rec["error_kind"] == "infrastructure"
