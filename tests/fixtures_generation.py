"""Fixtures for generation and for anyone who needs a fake LLM server or a tiny task on disk.

    fake_llm            a started tests.fakes.llm_server.FakeLLMServer (see its docstring), stopped after
                        the test: .base_url_openai, .base_url_anthropic, .requests, .set_responder(fn),
                        .script([...]); Fault is importable from tests.fakes.llm_server
    llm_env             fake_llm plus the environment that points the real SDKs at it (keys set,
                        OPENAI_BASE_URL / ANTHROPIC_BASE_URL / GEMINI_BASE_URL, a private
                        IWRBENCH_CACHE_DIR, fast retries)
    tiny_data           a data file with two small tasks made here (video, assets, contact sheet,
                        checkpoints, reference page) -> Path of the jsonl
    make_tiny_task(...) the builder behind tiny_data, for tests that need other shapes

`reference_responder(tasks)` answers a generation request with the reference page of the task
whose first video frame matches the request's first image, written with the asset placeholder and
wrapped in prose and a code fence, as a model would.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from iwrbench.data.tasks import Task
from iwrbench.generation.prompt import ASSET_PLACEHOLDER
from iwrbench.media.frames import first_frame
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest

TINY_REFERENCE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tiny {tid}</title>
<style>body{{margin:0;font-family:Arial,sans-serif}} .hero{{background:url('assets/002.png')}}</style></head>
<body><header><img src="assets/001.png" width="40" height="40" alt="logo"><h1>Tiny shop {tid}</h1></header>
<main class="hero"><button id="b" onclick="document.getElementById('c').textContent='1'">Add</button>
<span id="c">0</span></main></body></html>
"""


def _png(path: Path, size: tuple[int, int], color: tuple[int, int, int], text: str = "") -> None:
    img = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(img).text((4, 4), text, fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def make_tiny_task(root: Path, task_id: str, *, seconds: float = 3.5, fps: int = 10, size=(320, 240),
                   shade: int = 0, video: bool = True, reference: bool = True, sheets: bool = True,
                   n_actions: int = 2) -> dict:
    """Write the folder `root/<task_id>/` and return its jsonl record."""
    folder = root / task_id
    w, h = size
    if video:
        folder.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(folder / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for i in range(round(seconds * fps)):
            frame = np.full((h, w, 3), (40 + shade) % 256, np.uint8)
            cv2.rectangle(frame, (10 + 5 * i, 20), (60 + 5 * i, 70), (0, 0, 255 - shade % 200), -1)
            cv2.putText(frame, f"task {task_id}", (10, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
            writer.write(frame)
        writer.release()
    _png(folder / "assets" / "001.png", (40, 40), (200, 30, 30), "L")
    _png(folder / "assets" / "002.png", (80, 30), (30, 200, 30), "bg")
    _png(folder / "assets" / "003.png", (20, 20), (30, 30, 200), "x")  # never referenced
    if sheets:
        _png(folder / "stitched_assets" / "stitched_image1.png", (400, 200), (255, 255, 255), "001 002 003")
    for k in range(n_actions + 1):
        _png(folder / "checkpoints" / f"step_{k}.png", size, (250, 250, 250 - 20 * k), f"step {k}")
    if reference:
        (folder / "reference").mkdir(parents=True, exist_ok=True)
        (folder / "reference" / "index.html").write_text(TINY_REFERENCE.format(tid=task_id), encoding="utf-8")
    actions = [{"type": "Click", "parameters": {"description": f"Click 'Add' ({k})"},
                "logical_assertion": "The counter shows 1", "visual_evaluation_flag": True}
               for k in range(1, n_actions + 1)]
    return {"id": task_id, "source_website": "test:tiny",
            "classification": {"domain": "Test", "sub_domain": "Tiny", "visual_complexity": "Low",
                               "interaction_complexity": "Low"},
            "recording_details": {"resolution": f"{w}x{h}", "environment": "test"},
            "action_sequence": actions}


def write_dataset(jsonl: Path, records: list[dict]) -> Path:
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return jsonl


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "tiny"
    records = [make_tiny_task(root, "t1", shade=0), make_tiny_task(root, "t2", shade=90, seconds=2.0)]
    return write_dataset(tmp_path / "data" / "tiny.jsonl", records)


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_env(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeLLMServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url_openai)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.base_url_anthropic)
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-not-a-real-key")
    monkeypatch.setenv("GEMINI_BASE_URL", fake_llm.base_url_gemini)
    monkeypatch.setenv("IWRBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IWRBENCH_MAX_DELAY", "2")
    for var in ("IWRBENCH_MAX_TOKENS", "IWRBENCH_MAX_IMAGES", "IWRBENCH_IMAGE_SIDE", "IWRBENCH_TIMEOUT",
                "IWRBENCH_MAX_ATTEMPTS", "IWRBENCH_TEMPERATURE", "IWRBENCH_NO_CACHE", "IWRBENCH_WORKERS",
                "IWRBENCH_GEMINI_INLINE_MB"):
        monkeypatch.delenv(var, raising=False)
    return fake_llm


def _thumb(bgr: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (64, 36), interpolation=cv2.INTER_AREA).astype(float)


def first_frame_of_bytes(video: bytes) -> np.ndarray:
    """The first frame of a video held in memory (a request's native video part)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "video"
        path.write_bytes(video)
        return first_frame(path)


def task_of_request(req: RecordedRequest, tasks: list[Task]) -> Task:
    """The task whose first video frame looks most like the request's first image (or its video's
    first frame, when the request carries the recording itself)."""
    first = first_frame_of_bytes(req.videos[0]) if req.videos else \
        cv2.imdecode(np.frombuffer(req.images[0], np.uint8), cv2.IMREAD_COLOR)
    thumbs = {t.id: _thumb(first_frame(t.video)) for t in tasks if t.video is not None}
    best = min(thumbs, key=lambda tid: float(np.abs(thumbs[tid] - _thumb(first)).mean()))
    return next(t for t in tasks if t.id == best)


def as_model_reply(reference_html: str) -> str:
    body = reference_html.replace("assets/", f"{ASSET_PLACEHOLDER}/")
    return f"Here is the page you asked for.\n\n```html\n{body}```\n\nIt uses only the provided assets."


def reference_responder(tasks: list[Task]):
    def respond(req: RecordedRequest) -> str:
        task = task_of_request(req, tasks)
        if task.reference_page is None:  # nothing to copy: a minimal page
            return as_model_reply(f"<!DOCTYPE html><html><body><h1>Task {task.id}</h1></body></html>\n")
        return as_model_reply(task.reference_page.read_text(encoding="utf-8"))

    return respond
