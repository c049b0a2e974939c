"""Scale-out (docs/scale-out.md): four shards evaluated separately, each into its own output root as a CI job or
a Slurm array task would, their task folders copied back into one root and merged by one `--report-only`,
give exactly the reports of one unsharded run. Offline judge, visual scoring on, two models."""

from __future__ import annotations

import json
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


def _reports(root: Path) -> dict[str, object]:
    """Every report file under root/reports, JSON parsed, with what describes the run rather than the
    scores left out: the manifest (when and with which settings each run was made) and wall-clock times."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("manifest", "created_at", "generated_at")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    out: dict[str, object] = {}
    for path in sorted((root / "reports").rglob("*")):
        rel = str(path.relative_to(root / "reports"))
        if path.is_dir() or "/manifests/" in f"/{rel}" or path.name == "manifest.json":
            continue
        if path.suffix == ".json":
            out[rel] = strip(json.loads(path.read_text()))
        else:
            out[rel] = path.read_text(errors="replace")
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
    ids = {str(json.loads(ln)["id"]) for ln in data.read_text().splitlines() if ln.strip()}
    assert all(shards) and set().union(*shards) == ids and sum(map(len, shards)) == len(ids)  # disjoint, all

    _run("evaluate.py", "--report-only", "--data", str(data), "--result", str(merged), "-q", env=env)
    want, got = _reports(whole), _reports(merged)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name
    board = json.loads((merged / "reports" / "offline" / "builtin__screenshot.json").read_text())
    assert board["counts"]["scored"] == len(ids) and board["complete"] is True
