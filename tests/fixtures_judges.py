"""Fixtures for the judges and scoring tests.

    text_png(path, lines, ...)   render lines of text into a PNG with PIL (real fonts, OCR-readable)
    ocr_cache                    one OcrCache per test session (engine loaded once), in a temp folder
    make_judge_task(root, ...)   a Task on disk whose checkpoints are the given images
    app_renders / tabs_render    session: the apps of tests/judges_apps.py (all / the tabs app) replayed
                                 in real Chromium in every variant, plus a dataset whose checkpoints are
                                 the reference renders -> AppRenders(tasks, runs)
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from iwrbench.data.tasks import Task, load_tasks
from iwrbench.records.evaluation import StepFacts
from iwrbench.replay.states import PageState, ReplayStep

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_png(path: Path, lines: list[str], *, size: tuple[int, int] = (640, 360), bg=(255, 255, 255),
             fg=(20, 20, 20), font_size: int = 22, origin: tuple[int, int] = (24, 24),
             boxes: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]] | None = None) -> Path:
    """A screenshot-like PNG: coloured boxes, then text lines from `origin` downwards."""
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    for rect, colour in boxes or []:
        draw.rectangle(rect, fill=colour)
    font = ImageFont.truetype(FONT, font_size)
    x, y = origin
    for line in lines:
        draw.text((x, y), line, fill=fg, font=font)
        y += int(font_size * 1.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture(scope="session")
def ocr_cache(tmp_path_factory):
    from iwrbench.judges.ocr import OcrCache

    cache = OcrCache(tmp_path_factory.mktemp("ocr-cache"))
    yield cache
    cache.close()


def make_judge_task(root: Path, task_id: str, actions: list[dict], checkpoints: dict[int, Path],
                    *, resolution: str = "640x360") -> Task:
    """Write root/<data>.jsonl and root/data/<id>/ with the given checkpoint images; load the Task."""
    folder = root / "data" / task_id
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "video.mp4").write_bytes(b"\0")  # the judges never read the video
    for k, src in checkpoints.items():
        shutil.copy(src, folder / "checkpoints" / f"step_{k}.png")
    record = {"id": task_id, "recording_details": {"resolution": resolution}, "action_sequence": [
        {"type": a.get("type", "Click"),
         "parameters": {"description": a.get("description", "Click it"),
                        **{k: a[k] for k in ("text", "key", "direction", "scroll_page") if k in a}},
         "logical_assertion": a.get("assertion", ""), "visual_evaluation_flag": a.get("flag", True)}
        for a in actions]}
    jsonl = root / "data.jsonl"
    jsonl.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return load_tasks(jsonl)[0]


def replay_step(index: int, kind: str, before: PageState, after: PageState | None) -> ReplayStep:
    rec = StepFacts(index=index, type=kind, description=f"action {index}", executed=after is not None)
    return ReplayStep(record=rec, before=before, after=after)


@dataclass
class AppRenders:
    tasks: dict[str, Task]  # app name -> task whose checkpoints are the reference renders
    runs: dict[tuple[str, str], tuple[PageState, list]]  # (app, variant) -> (initial, [(Step, before, after)])


def _render_apps(root: Path, names: list[str]) -> AppRenders:
    from playwright.async_api import async_playwright

    from iwrbench.sandbox.chromium_path import find_chromium
    from tests.judges_apps import APPS, render

    exe = find_chromium()
    if exe is None:
        pytest.fail("no Chromium on this machine: run make setup")
    apps = [a for a in APPS if a.name in names]
    variants = ("reference", "restyled", "inert", "wrong", "screenshot", "blank")

    async def run_all():
        runs = {}
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=exe, args=[
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--disable-lcd-text",
                "--font-render-hinting=none", "--hide-scrollbars"])
            try:
                for app in apps:
                    for v in variants:
                        if v == "wrong" and not app.wrong_script:
                            continue
                        runs[(app.name, v)] = await render(
                            browser, app, v, root / "renders" / app.name / v,
                            gt_first=str(root / "renders" / app.name / "reference" / "step_0.png"))
            finally:
                await browser.close()
        return runs

    runs = asyncio.run(run_all())
    lines = []
    for app in apps:
        cp = root / "data" / "apps" / app.name / "checkpoints"
        cp.mkdir(parents=True)
        (cp.parent / "video.mp4").write_bytes(b"\0")
        for f in (root / "renders" / app.name / "reference").glob("step_*.png"):
            shutil.copy(f, cp / f.name)
        lines.append(json.dumps({"id": app.name, "recording_details": {"resolution": "1280x720"},
                                 "action_sequence": [
            {"type": s.kind, "parameters": {"description": s.description, "text": s.text, "key": s.key,
                                            "direction": s.direction},
             "logical_assertion": s.assertion, "visual_evaluation_flag": s.flag} for s in app.steps]}))
    (root / "data" / "apps.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tasks = {t.id: t for t in load_tasks(root / "data" / "apps.jsonl")}
    return AppRenders(tasks=tasks, runs=runs)


@pytest.fixture(scope="session")
def tabs_render(tmp_path_factory) -> AppRenders:
    """The product-tabs app only (quick)."""
    return _render_apps(tmp_path_factory.mktemp("apps-tabs"), ["tabs"])


@pytest.fixture(scope="session")
def app_renders(tmp_path_factory) -> AppRenders:
    """Every app of tests/judges_apps.py (slow: about half a minute)."""
    from tests.judges_apps import APPS

    return _render_apps(tmp_path_factory.mktemp("apps"), [a.name for a in APPS])
