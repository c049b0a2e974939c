"""Fault injection: runs interrupted mid-way (SIGKILL, SIGTERM, Ctrl-C), then rerun.

After the interruption nothing a reader would trust is half-written (every JSON parses, every PNG
decodes, every finished record has its page); the rerun finishes every task, removes the temporary
files the killed run left, and redoes nothing that was finished: finished records keep their bytes and
mtimes, and no prompt of a finished task reaches the model again. Killing evaluate.py leaves no
Chromium running.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iwrbench.data.tasks import load_tasks
from tests.fixtures_faults import (
    PLANTED_KEY,
    ROOT,
    JudgeResponder,
    assert_no_traceback,
    cli_env,
    copy_sample,
    partial_files,
    request_kind,
    run_cli,
)
from tests.fixtures_generation import make_tiny_task, reference_responder, task_of_request, write_dataset

pytestmark = pytest.mark.faults

TEMP_JSON = '{"task_id": "half-writ'  # what a write cut short leaves in a temporary file


def _start(script: str, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / script), *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended before the interruption point (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the interruption point never came")


def _interrupt(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    os.kill(proc.pid, sig)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"the run did not stop on signal {sig}") from None
    return proc.returncode, err


def _plant_leftovers(*folders: Path) -> list[Path]:
    """Temporary files as a write cut short by a kill leaves them (the names fsutil's mkstemp uses)."""
    planted = []
    for i, folder in enumerate(folders):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("generation.json", "eval.json", "index.html"):
            path = folder / f".{name}.k1ll{i:04d}.tmp"
            path.write_text(TEMP_JSON, encoding="utf-8")
            planted.append(path)
    return planted


def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], fields[19]


def _descendants(pid: int) -> dict[int, str]:
    """Every live descendant of `pid`: {pid: start time} (the start time tells a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _proc_stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append(int(entry.name))
            starts[int(entry.name)] = st[2]
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def _still_running(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        st = _proc_stat(pid)
        if st is not None and st[2] == start and st[1] != "Z":
            alive.append(pid)
    return alive


def _chromium_of(pid: int) -> dict[int, str]:
    out = {}
    for child, start in _descendants(pid).items():
        try:
            exe = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if b"chrom" in exe:
            out[child] = start
    return out


def _only_leftover_temp_files(root: Path) -> None:
    problems = [p for p in partial_files(root) if not p.startswith("temporary file left")]
    assert problems == [], problems


# ---------------------------------------------------------------- generate.py


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["kill", "term", "int"])
def test_generate_interrupted_then_rerun(tmp_path, fake_llm, sig):
    root = tmp_path / "data" / "tiny"
    data = write_dataset(tmp_path / "data" / "tiny.jsonl",
                         [make_tiny_task(root, f"g{i}", shade=37 * i, seconds=1.0) for i in range(6)])
    tasks = load_tasks(data)
    answer = reference_responder(tasks)

    def slow_answer(req):
        time.sleep(0.5)  # a slow provider: the interruption lands while requests are in flight
        return answer(req)

    fake_llm.set_responder(slow_answer)
    out = tmp_path / "out"
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    args = ("--data", str(data), "--result", str(out), "--model", "openai/gpt-4o", "--workers", "2", "-q")
    model_dirs = [out / t.id / "openai__gpt-4o" for t in tasks]

    def finished() -> list[Path]:
        return [d for d in model_dirs if (d / "generation.json").is_file()]

    proc = _start("generate.py", *args, env=env)
    _wait_for(lambda: len(finished()) >= 2, 120, proc)
    code, err = _interrupt(proc, sig)
    assert "Traceback" not in err, err[-3000:]
    if sig == signal.SIGINT:
        assert code == 130 and "interrupted" in err and "rerun" in err, (code, err[-2000:])
    _only_leftover_temp_files(out)
    done_before = {}
    for d in finished():
        rec = json.loads((d / "generation.json").read_text())
        assert rec["status"] == "done" and (d / "index.html").is_file(), rec
        done_before[d.parent.name] = ((d / "generation.json").stat().st_mtime_ns, (d / "generation.json").read_bytes(),
                                      (d / "index.html").read_bytes())
    assert 2 <= len(done_before) < len(tasks)
    planted = _plant_leftovers(model_dirs[0], model_dirs[-1], model_dirs[-1] / "assets")

    fake_llm.clear()
    rerun = run_cli("generate.py", *args, env=env)
    assert_no_traceback(rerun)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(done_before)} skipped" in rerun.stdout, rerun.stdout
    for d in model_dirs:
        assert json.loads((d / "generation.json").read_text())["status"] == "done"
    for tid, (mtime, record, page) in done_before.items():
        path = out / tid / "openai__gpt-4o"
        assert (path / "generation.json").stat().st_mtime_ns == mtime
        assert (path / "generation.json").read_bytes() == record and (path / "index.html").read_bytes() == page
    asked_again = {task_of_request(r, tasks).id for r in fake_llm.requests}
    assert not asked_again & set(done_before), asked_again
    assert not any(p.exists() for p in planted)
    assert partial_files(out) == []


# ---------------------------------------------------------------- evaluate.py


def _kill_evaluate(tmp_path: Path, fake_llm, ids: list[str], *, sig: int, workers: int, judge: bool,
                   visual: bool) -> None:
    data = copy_sample(tmp_path / "data", ids)
    out = tmp_path / "out"
    scratch = tmp_path / "a-deep-temporary-folder" / "as-some-ci-systems-have-it"  # too deep for a socket path
    scratch.mkdir(parents=True)
    env = cli_env(tmp_path, TMPDIR=str(scratch), OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    assert run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle", "-q",
                   env=env).returncode == 0
    fake_llm.set_responder(JudgeResponder())
    args = ["--data", str(data), "--result", str(out), "--model", "builtin/oracle", "--workers", str(workers), "-q"]
    args += (["--judge", "openai/judge"] if judge else []) + ([] if visual else ["--no-visual"])
    slug = "openai__judge" if judge else "offline"
    eval_dirs = [out / tid / "builtin__oracle" / "eval" / slug for tid in ids]

    def finished() -> list[Path]:
        return [d / "eval.json" for d in eval_dirs if (d / "eval.json").is_file()]

    proc = _start("evaluate.py", *args, env=env)
    _wait_for(lambda: len(finished()) >= 1 and _chromium_of(proc.pid), 600, proc)
    chromium = _chromium_of(proc.pid)
    profiles = {m.group(1) for pid in chromium for m in [re.search(
        r"--user-data-dir=(\S+)", Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())] if m}
    code, err = _interrupt(proc, sig)
    assert "Traceback" not in err, err[-3000:]
    if sig == signal.SIGINT:
        assert code == 130 and "interrupted" in err, (code, err[-2000:])
    deadline = time.monotonic() + 20  # Playwright's driver takes its Chromium down when its parent dies
    while _still_running(chromium) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _still_running(chromium) == [], "Chromium outlived the killed run"

    _only_leftover_temp_files(out)
    done_before = {}
    for path in finished():
        rec = json.loads(path.read_text())
        assert rec["status"] == "scored", rec.get("error")
        for step in rec["steps"]:
            assert step["screenshot"] is None or (path.parent / step["screenshot"]).is_file()
        done_before[path] = (path.stat().st_mtime_ns, path.read_bytes())
    assert 1 <= len(done_before) < len(ids), "the kill came after every task was done"
    planted = _plant_leftovers(*eval_dirs)
    done_ids = {tid for tid, d in zip(ids, eval_dirs, strict=True) if d / "eval.json" in done_before}
    finished_actions = [a.description for t in load_tasks(data) if t.id in done_ids for a in t.actions]

    fake_llm.clear()
    rerun = run_cli("evaluate.py", *args, env=env, timeout=1200)
    assert_no_traceback(rerun)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{len(done_before)} already done" in rerun.stderr, rerun.stderr[-2000:]
    for d in eval_dirs:
        assert json.loads((d / "eval.json").read_text())["status"] == "scored"
    for path, (mtime, content) in done_before.items():
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == content
    assert not [r for r in fake_llm.requests if request_kind(r) in ("locate", "assert")
                and any(a in r.text for a in finished_actions)]
    assert not any(p.exists() for p in planted)
    assert partial_files(out) == []
    assert profiles and not any(Path(p).parent.exists() for p in profiles), "the killed run's scratch is left"
    report = json.loads((out / "reports" / slug / "builtin__oracle.json").read_text())
    assert report["complete"] and report["counts"]["scored"] == len(ids)


@pytest.mark.browser
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "int"])
def test_evaluate_interrupted_then_rerun(tmp_path, fake_llm, sig):
    """Fast variant: two short tasks, one worker, the fake judge (no OCR)."""
    _kill_evaluate(tmp_path, fake_llm, ["3", "6"], sig=sig, workers=1, judge=True, visual=False)


@pytest.mark.slow
@pytest.mark.browser
def test_evaluate_killed_on_the_sample_set_then_rerun(tmp_path, fake_llm):
    """The full run: all sample tasks, two workers, offline judges and visual scoring."""
    _kill_evaluate(tmp_path, fake_llm, [str(i) for i in range(1, 9)], sig=signal.SIGKILL, workers=2, judge=False,
                   visual=True)


# ---------------------------------------------------------------- what a killed run leaves behind


def test_scratch_of_killed_runs_is_swept_and_only_that(tmp_path):
    """Browser scratch folders carry their owner's pid and start time; a later launch removes those
    whose owner is gone, and leaves alone the live ones and any folder it cannot vouch for."""
    from iwrbench.sandbox import scratch

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    gone, live, unknown, other = (tmp_path / n for n in ("iwrbench-worker0-aaaa", "iwrbench-worker1-bbbb",
                                                         "iwrbench-worker2-cccc", "not-ours"))
    for folder in (gone, live, unknown, other):
        (folder / "profile").mkdir(parents=True)
    (gone / scratch.OWNER_FILE).write_text(f"{dead.stdout.strip()} 1\n")
    scratch.mark_owner(live)
    (other / scratch.OWNER_FILE).write_text(f"{dead.stdout.strip()} 1\n")
    assert scratch.sweep_stale_scratch(tmp_path) == 1
    assert not gone.exists() and live.exists() and unknown.exists() and other.exists()
    assert scratch.sweep_stale_scratch(tmp_path) == 0  # once per folder and process


def test_scratch_goes_to_a_short_folder_when_tmpdir_is_too_deep(tmp_path, monkeypatch):
    from iwrbench.sandbox import scratch

    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(deep))
    assert scratch.scratch_parent("iwrbench-worker0-") == "/tmp"
    monkeypatch.setattr(scratch.tempfile, "tempdir", "/tmp")
    assert scratch.scratch_parent("iwrbench-worker0-") is None
