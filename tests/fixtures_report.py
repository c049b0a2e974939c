"""Fixtures for the report tests: a small data set and realistic eval.json trees written through the
records models (two models, two judges, a task with no page, an infrastructure error, a data error,
a missing evaluation, and hostile text in a task and a judge's reason)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from iwrbench.data.tasks import Task, load_tasks
from iwrbench.fsutil import atomic_write_json
from iwrbench.layout import eval_dir, page_dir, step_screenshot_name
from iwrbench.records.evaluation import EvalRecord, LocatorInfo, Scores, StepRecord, StepVisual, Verdict

MODEL_A = "openai/gpt-4o"
MODEL_B = "builtin/oracle"
JUDGE_LLM = "openai/gpt-4o"  # judge slug openai__gpt-4o
HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"

TASK_SPECS = {
    "1": ("Shopping", "low", "low", ["Click the 'Specs' tab", "Type a query"]),
    "2": ("Shopping", "high", "low", ["Click 'Cart'", "Scroll down"]),
    "3": ("News", "high", "high", ["Click the headline", "Press Enter"]),
    "4": ("News", "low", "high", ["Click 'More'"]),
    "5": ("Tools", "low", "low", [f"Click {HOSTILE}", "Type hello"]),
}


def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (160, 90)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def make_dataset(root: Path) -> Path:
    """data/bench.jsonl with five tasks, each with a video and one checkpoint per action."""
    data = root / "data"
    lines = []
    for tid, (domain, vis, inter, descs) in TASK_SPECS.items():
        actions = []
        for i, d in enumerate(descs):
            kind = d.split()[0] if d.split()[0] in ("Click", "Type", "Press", "Scroll") else "Click"
            params = {"description": d}
            if kind == "Type":
                params["text"] = "hello"
            if kind == "Press":
                params["key"] = "Enter"
            actions.append({"type": kind, "parameters": params,
                            "logical_assertion": f"After step {i + 1} the page shows {HOSTILE if tid == '5' else 'it'}",
                            "visual_evaluation_flag": True})
        lines.append(json.dumps({"id": int(tid), "source_website": "javascript:alert(1)" if tid == "5"
                                 else f"https://example.com/{tid}",
                                 "classification": {"domain": domain, "sub_domain": "x", "visual_complexity": vis,
                                                    "interaction_complexity": inter},
                                 "recording_details": {"resolution": "1920x1080"}, "action_sequence": actions}))
        folder = data / "bench" / tid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        for k in range(len(descs) + 1):
            png(folder / "checkpoints" / f"step_{k}.png", (40 * k, 100, 200 - 30 * int(tid)))
    jsonl = data / "bench.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return jsonl


def write_eval(result: Path, task: Task, model: str, judge: str | None, *, scores: dict | None = None,
               verdicts: list[str] | None = None, status: str = "scored", error: str | None = None,
               error_kind: str | None = None, high_level: bool = False, page: bool = True,
               reason: str = "looks right", epoch: int = 1, variant: tuple[str, ...] = ()) -> Path:
    """Write eval.json (+ screenshots of the executed steps, + the page) as the evaluator would."""
    folder = eval_dir(result, task.id, model, judge, variant, epoch)
    folder.mkdir(parents=True, exist_ok=True)
    if page:
        (page_dir(result, task.id, model, variant, epoch) / "index.html").write_text("<!doctype html><p>page</p>")
    verdicts = verdicts or []
    steps = []
    executed_all = bool(verdicts)
    for a in task.actions:
        v = verdicts[a.index - 1] if a.index - 1 < len(verdicts) else "fail"
        executed = executed_all and v != "error"
        shot = None
        if executed:
            shot = step_screenshot_name(a.index)
            png(folder / shot, (200, 40 * a.index, 60))
        cp = task.checkpoint(a.index)
        steps.append(StepRecord(
            index=a.index, type=a.type, description=a.description, executed=executed, attempted=executed,
            assertion=Verdict(verdict=v, source="offline" if executed else "replay",
                              reason=reason if executed else "not reached"),
            screenshot=shot, locator=LocatorInfo(method="offline", element="button#specs", candidates=3),
            visual=StepVisual(checkpoint=str(cp), ocr=70.0, image=50.0, low_level=60.0,
                              high_level=40.0 if high_level else None,
                              high_level_source=judge if high_level else None) if executed else None))
    initial = None
    if executed_all:
        png(folder / step_screenshot_name(0), (10, 10, 10))
        initial = StepVisual(checkpoint=str(task.checkpoint(0)), ocr=80.0, image=70.0, low_level=75.0)
    rec = EvalRecord(
        task_id=task.id, model=model, judge="offline" if not judge else judge.replace("/", "__").lower(),
        status=status, total_steps=len(task.actions), success_steps=sum(1 for v in verdicts if v == "pass"),
        steps=steps, initial=initial, initial_screenshot=step_screenshot_name(0) if executed_all else None,
        scores=Scores(**(scores or {})), error=error, error_kind=error_kind,
        judges={"assertion": judge or "offline", "visual_high": judge if high_level else None, "locator": "offline"},
        verdict_counts={}, classification={"domain": task.classification.domain},
        seconds=1.5, harness_version="0.1.0", finished_at=f"2025-01-0{task.id}T00:00:00+00:00",
        **({"variant": list(variant)} if variant else {}))
    path = folder / "eval.json"
    atomic_write_json(path, rec.model_dump(mode="json"))
    return path


@dataclass
class ReportWorld:
    root: Path
    data: Path
    result: Path
    tasks: list[Task]

    def task(self, tid: str) -> Task:
        return next(t for t in self.tasks if t.id == tid)


def build_world(root: Path) -> ReportWorld:
    jsonl = make_dataset(root)
    tasks = load_tasks(jsonl)
    result = root / "outputs"
    w = ReportWorld(root=root, data=jsonl, result=result, tasks=tasks)
    t = w.task
    # Model A, offline judge: 1 scored, 2 no page (scores 0), 3 infrastructure error, 4 missing, 5 scored.
    write_eval(result, t("1"), MODEL_A, None, verdicts=["pass", "fail"],
               scores={"IFS": 50.0, "VFS": 60.0, "low_level": 60.0, "final": 53.0, "ocr": 70.0, "image": 50.0})
    write_eval(result, t("2"), MODEL_A, None, page=False, error="no generated page", error_kind="no_page",
               scores={"IFS": 0.0, "final": 0.0})
    write_eval(result, t("3"), MODEL_A, None, status="error", error_kind="infrastructure",
               error="browser crashed: Target closed")
    write_eval(result, t("5"), MODEL_A, None, verdicts=["pass", "undecided"], reason=HOSTILE,
               scores={"IFS": 50.0, "VFS": 80.0, "low_level": 80.0, "final": 59.0, "ocr": 90.0, "image": 70.0})
    # Model B, offline judge: everything scored except task 4 (a data error).
    for tid in ("1", "2", "3", "5"):
        write_eval(result, t(tid), MODEL_B, None, verdicts=["pass", "pass"],
                   scores={"IFS": 100.0, "VFS": 90.0, "low_level": 90.0, "final": 97.0, "ocr": 95.0, "image": 85.0})
    write_eval(result, t("4"), MODEL_B, None, status="error", error_kind="data",
               error="checkpoint step_1.png unreadable")
    # Model A, LLM judge: tasks 1 and 5 with a rubric (high-level) score; different numbers on purpose.
    write_eval(result, t("1"), MODEL_A, JUDGE_LLM, verdicts=["pass", "pass"], high_level=True,
               scores={"IFS": 100.0, "VFS": 50.0, "low_level": 60.0, "high_level": 40.0, "final": 85.0,
                       "ocr": 70.0, "image": 50.0})
    write_eval(result, t("5"), MODEL_A, JUDGE_LLM, verdicts=["fail", "fail"], high_level=True,
               scores={"IFS": 0.0, "VFS": 30.0, "low_level": 40.0, "high_level": 20.0, "final": 9.0,
                       "ocr": 45.0, "image": 35.0})
    return w


@pytest.fixture
def report_world(tmp_path: Path) -> ReportWorld:
    return build_world(tmp_path)
