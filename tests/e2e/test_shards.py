"""Scale-out (docs/scale-out.md): four shards evaluated separately, each into its own output root as a CI job or
a Slurm array task would, their task folders copied back into one root and merged by one `--report-only`,
give exactly the reports of one unsharded run. Offline judge, visual scoring on, two models."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.fixtures_faults import assert_no_traceback, cli_env, copy_sample, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODELS = ("builtin/oracle", "builtin/screenshot")


def _run(script: str, *args: str, env: dict) -> None:
    proc = run_cli(script, *args, env=env, timeout=1500)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _models() -> list[str]:
    return [a for m in MODELS for a in ("--model", m)]


# What describes a run rather than its results: when tasks finished and how long they took, when the
# manifest was made, how many tasks the job selected (a shard's share), and how often Chromium's own
# background services tried to go out (blocked; the HTML report shows each task's sandbox log), and the
# seconds each phase of a task's page took (open, load, initial, close: in the same sandbox log). Two
# unsharded runs differ in these too. Everything else must match.
RUN_KEYS = {"created_at", "finished_at", "first_finished_at", "last_finished_at", "seconds", "tasks_selected",
            "browser_service_attempts"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
SELECTED = re.compile(r"((?:tasks_selected|browser_service_attempts)(?:&quot;|\")?: )\d+")
PHASES = re.compile(r"(&quot;phases&quot;: )\{[^}]*\}")


def _reports(root: Path) -> dict[str, object]:
    """Every report file under root/reports (JSON parsed), what describes the run left out."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in RUN_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    out: dict[str, object] = {}
    for path in sorted((root / "reports").rglob("*")):
        rel = str(path.relative_to(root / "reports"))
        if path.is_dir():
            continue
        if path.suffix == ".json":
            out[rel] = strip(json.loads(path.read_text()))
        elif path.suffix == ".png":
            out[rel] = path.read_bytes()
        else:
            out[rel] = PHASES.sub(r"\1{...}", SELECTED.sub(r"\1N", TIME.sub("<time>", path.read_text())))
    return out


def test_four_shards_merged_give_the_reports_of_one_run(tmp_path):
    data = copy_sample(tmp_path / "data")
    env = cli_env(tmp_path)  # one OCR cache for all runs, as on a shared output root
    pages = tmp_path / "pages"
    for model in MODELS:
        _run("generate.py", "--data", str(data), "--result", str(pages), "--model", model, "-q", env=env)

    whole = tmp_path / "whole"
    shutil.copytree(pages, whole)
    _run("evaluate.py", "--data", str(data), "--result", str(whole), *_models(), "-q", env=env)

    merged = tmp_path / "merged"
    shards: list[set[str]] = []
    for k in range(1, 5):
        root = tmp_path / f"shard-{k}"  # a job's own output root, its pages copied in
        shutil.copytree(pages, root)
        _run("evaluate.py", "--data", str(data), "--result", str(root), *_models(), "--shard", f"{k}/4", "-q",
             env=env)
        done = {p.parts[-5] for p in root.glob("*/*/eval/offline/eval.json")}
        shards.append(done)
        for tid in done:  # copied back: the task folders the shard evaluated
            shutil.copytree(root / tid, merged / tid, dirs_exist_ok=True)
        # and the run manifests (the same settings in every job; the last copied wins)
        shutil.copytree(root / "reports" / "offline" / "manifests", merged / "reports" / "offline" / "manifests",
                        dirs_exist_ok=True)
    ids = {str(json.loads(ln)["id"]) for ln in data.read_text().splitlines() if ln.strip()}
    assert all(shards) and set().union(*shards) == ids and sum(map(len, shards)) == len(ids)  # disjoint, all

    _run("evaluate.py", "--report-only", "--data", str(data), "--result", str(merged), "-q", env=env)
    want, got = _reports(whole), _reports(merged)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name
    board = json.loads((merged / "reports" / "offline" / "builtin__screenshot.json").read_text())
    assert board["counts"]["scored"] == len(ids) and board["complete"] is True
