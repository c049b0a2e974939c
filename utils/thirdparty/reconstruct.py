"""Reconstructions of known quality for every third-party task, written as "models" into a result folder.

    results/<task>/thirdparty__self/             the page itself (the task's reference/ folder)
    results/<task>/thirdparty__other/            another correct implementation (the same app in another
                                                 framework) where the corpus has one, else a restyled copy
    results/<task>/thirdparty__broken-<kind>/    the page with one generic breakage (breakage.py)

Each folder has index.html (+ the rest of the site) and a generation.json that says what it is. The
labels file (<cache>/labels.json) says what each should score: every step passes, or the first failing
step, with the outcome of checking that label by recording the broken copy (validate.py).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import iwrbench
from iwrbench.fsutil import atomic_write_json
from iwrbench.layout import page_dir
from iwrbench.records.generation import GenerationRecord
from utils.make_task import load_spec, parse_resolution
from utils.thirdparty import breakage
from utils.thirdparty.sites import build_site
from utils.thirdparty.validate import Verdict, deterministic_steps, judge_label, record_folder

SELF, OTHER = "thirdparty/self", "thirdparty/other"
MAX_TRIES = 2          # candidates of one kind recorded before giving up on a validated one
LABELS_NAME = "labels.json"


def broken_model(kind: str) -> str:
    return f"thirdparty/broken-{kind}"


MODELS = (SELF, OTHER, *(broken_model(k) for k in breakage.KINDS))


def results_dir(cache: Path) -> Path:
    return cache / "results"


def labels_path(cache: Path) -> Path:
    return cache / LABELS_NAME


def load_labels(cache: Path) -> dict[str, Any]:
    path = labels_path(cache)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"schema_version": 1, "tasks": {}}


def _write_model(out: Path, source: Path, tid: str, model: str, what: dict[str, Any], head: str | None) -> None:
    """Copy `source` (a whole site folder) to `out`, inject `head`, write generation.json."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns(".*", "eval"))
    if head:
        breakage.inject(out, head)
    rec = GenerationRecord(task_id=tid, model=model, provider="thirdparty", status="done",
                           harness_version=iwrbench.__version__, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                           details={"reconstruction": what})
    atomic_write_json(out / "generation.json", rec.model_dump(mode="json"))


def _task_folder(cache: Path, tid: str) -> Path:
    return cache / "data" / "thirdparty" / tid


def _record(cache: Path, tid: str) -> dict[str, Any]:
    """The task's jsonl record."""
    for line in (cache / "data" / "thirdparty.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and str(json.loads(line).get("id")) == tid:
            return json.loads(line)
    raise KeyError(f"task {tid} is not in the corpus data file")


def _checkpoints(folder: Path) -> list[Path]:
    shots = sorted((folder / "checkpoints").glob("step_*.png"), key=lambda p: int(p.stem.split("_")[1]))
    return shots


def build_task_models(cache: Path, tid: str, spec_path: Path, meta: dict[str, Any],
                      sources: dict[str, Path]) -> dict[str, Any]:
    """All reconstructions of one task and their labels."""
    folder = _task_folder(cache, tid)
    reference = folder / "reference"
    spec = load_spec(spec_path)
    n = len(spec.actions)
    size = parse_resolution(_record(cache, tid)["recording_details"]["resolution"])
    recording = json.loads((folder / "recording.json").read_text(encoding="utf-8"))
    traces = recording["actions"]
    result = results_dir(cache)
    models: dict[str, Any] = {}

    _write_model(page_dir(result, tid, SELF), reference, tid, SELF,
                 {"kind": "self", "what": "the page itself (the task's reference folder)"}, None)
    models[SELF] = {"kind": "self", "what": "the page itself", "expect": "pass"}

    other = meta.get("other") or {"kind": "restyle"}
    if other.get("kind") == "implementation":
        alt = build_site(other["site"], sources, cache / "sites")
        what = f"another correct implementation: site {other['site']}"
        _write_model(page_dir(result, tid, OTHER), alt, tid, OTHER, {"kind": "implementation", "what": what}, None)
        models[OTHER] = {"kind": "implementation", "what": what, "expect": "pass"}
    else:
        what = "the page restyled (fonts, colours, spacing by an injected stylesheet), same behaviour"
        _write_model(page_dir(result, tid, OTHER), reference, tid, OTHER, {"kind": "restyle", "what": what},
                     breakage.restyle_head())
        models[OTHER] = {"kind": "restyle", "what": what, "expect": "pass"}

    shots = _checkpoints(folder)
    t = time.monotonic()
    fresh = record_folder(reference, spec.actions, size)
    moving = [tuple(b) for b in [*recording.get("moving", []), *fresh.moving]]
    stable = deterministic_steps(shots, fresh, moving)
    print(f"  {tid}: page recorded again in {time.monotonic() - t:.0f} s; "
          f"{sum(stable)}/{len(stable)} steps deterministic", flush=True)
    for kind in breakage.KINDS:
        picked = _pick_breakage(cache, tid, kind, spec.actions, traces, reference, shots, stable, size, moving)
        if picked is not None:
            models[broken_model(kind)] = picked
    return {"steps": n, "deterministic_steps": stable, "models": models}


def _pick_breakage(cache: Path, tid: str, kind: str, actions: list[Any], traces: list[dict[str, Any]],
                   reference: Path, shots: list[Path], stable: list[bool],
                   size: tuple[int, int], moving: list[Any]) -> dict[str, Any] | None:
    """The first candidate of `kind` whose label the recording bears out (else the first not refuted)."""
    out = page_dir(results_dir(cache), tid, broken_model(kind))
    fallback: tuple[breakage.Breakage, Verdict] | None = None
    tried: list[str] = []
    for cand in breakage.candidates(actions, traces, kind)[:MAX_TRIES]:
        what = {"kind": f"broken-{kind}", "what": cand.what, "selector": cand.selector, "label": cand.label}
        _write_model(out, reference, tid, broken_model(kind), what, breakage.breakage_head(cand))
        target = traces[cand.label - 1].get("target") or {} if cand.label - 1 < len(traces) else {}
        hidden = tuple(target["box"]) if kind == "element" and target.get("box") else None
        named = _named_earlier(target, actions, cand.label) if kind == "element" else None
        if named is not None:
            verdict = Verdict("refuted", named)
        else:
            verdict = judge_label(cand.label, shots, stable, record_folder(out, actions, size), moving, hidden)
        tried.append(f"action {cand.label}: {verdict.status} ({verdict.detail})")
        print(f"    broken-{kind} at action {cand.label}: {verdict.status}: {verdict.detail}", flush=True)
        if verdict.status == "validated":
            return _label(cand, verdict, tried)
        if verdict.status == "unvalidated" and fallback is None:
            fallback = (cand, verdict)
    if fallback is None:
        if out.exists():
            shutil.rmtree(out)
        return None
    cand, verdict = fallback
    what = {"kind": f"broken-{kind}", "what": cand.what, "selector": cand.selector, "label": cand.label}
    _write_model(out, reference, tid, broken_model(kind), what, breakage.breakage_head(cand))
    return _label(cand, verdict, tried)


def _named_earlier(target: dict[str, Any], actions: list[Any], label: int) -> str | None:
    """Why hiding this element breaks a step before its own: an earlier assertion names its text (a todo's
    label that step 2 says is listed). Hiding it would fail that step first, so the label would be wrong."""
    text = " ".join(str(target.get("text") or "").split()).lower()
    if len(text) < 3:
        return None
    for k, a in enumerate(actions[:label - 1], start=1):
        said = a.get("logical_assertion") if isinstance(a, dict) else getattr(a, "logical_assertion", "")
        if text in " ".join(str(said or "").split()).lower():
            return f"step {k}'s assertion names the hidden element's text {text[:40]!r}"
    return None


def _label(cand: breakage.Breakage, verdict: Verdict, tried: list[str]) -> dict[str, Any]:
    return {"kind": f"broken-{cand.kind}", "what": cand.what, "expect": "fail", "first_fail": cand.label,
            "validation": verdict.as_dict(), "candidates_tried": tried}


def build_models(cache: Path, specs: list[tuple[str, Path, dict[str, Any]]], sources: dict[str, Path], *,
                 force: bool = False) -> dict[str, Any]:
    """Reconstructions and labels for every task (a task already labelled, with its folders, is kept)."""
    labels = load_labels(cache)
    for tid, spec_path, meta in specs:
        have = labels["tasks"].get(tid)
        if have and not force and all(page_dir(results_dir(cache), tid, m).is_dir() for m in have["models"]):
            continue
        print(f"reconstructing {tid}", flush=True)
        labels["tasks"][tid] = build_task_models(cache, tid, spec_path, meta, sources)
        labels["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        atomic_write_json(labels_path(cache), labels)
    return labels
