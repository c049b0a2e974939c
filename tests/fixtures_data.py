"""Fixtures of the data area: tiny jsonl datasets and tiny sites, all made in tmp_path."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 60, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def data_record(task_id: Any = 1, n_actions: int = 2, **overrides: Any) -> dict[str, Any]:
    """A valid published-format record with `n_actions` Click actions (flags all true)."""
    actions = [{"type": "Click", "parameters": {"description": f"Click the 'Button {k}' button"},
                "logical_assertion": f"Counter reads {k}", "visual_evaluation_flag": True}
               for k in range(1, n_actions + 1)]
    record = {"id": task_id, "source_website": "https://example.test",
              "classification": {"domain": "Testing", "sub_domain": "Unit", "visual_complexity": "Low",
                                 "interaction_complexity": "Low"},
              "recording_details": {"resolution": "1280x720", "environment": "test"},
              "action_sequence": actions}
    record.update(overrides)
    return record


def write_task_folder(root: Path, task_id: str, checkpoints: list[int], *, video: bool = True) -> Path:
    folder = root / str(task_id)
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "assets" / "001.png").write_bytes(png_bytes())
    for k in checkpoints:
        (folder / "checkpoints" / f"step_{k}.png").write_bytes(png_bytes())
    if video:
        (folder / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return folder


@pytest.fixture
def data_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Factory: data_jsonl(lines, folders={id: checkpoints}) -> path of tmp_path/<name>.jsonl.

    `lines` are dicts (dumped as JSON) or raw strings (written as they are, for malformed input).
    """

    def make(lines: list[dict[str, Any] | str], folders: dict[str, list[int]] | None = None,
             name: str = "tiny") -> Path:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
                        encoding="utf-8")
        for task_id, cps in (folders or {}).items():
            write_task_folder(tmp_path / name, task_id, cps)
        return path

    return make


TINY_SITE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tiny</title>
<style>body{font-family:"DejaVu Sans",sans-serif;margin:30px} .bar{height:1600px}
#count{font-size:28px} input{font-size:18px}</style></head>
<body><img src="./img/logo.png" width="60" height="40" alt="logo"><img src="img/photo a.png" alt="photo">
<h1 id="count">Clicked 0 times</h1>
<button id="inc" type="button">Add one</button>
<input id="name" placeholder="Your name"><p id="hello"></p>
<div class="bar"></div>
<script>
let n = 0;
document.getElementById('inc').addEventListener('click', () => {
  n++; document.getElementById('count').textContent = 'Clicked ' + n + ' times (' + Math.random().toFixed(4) + ' ' + new Date().toISOString() + ')';
});
document.getElementById('name').addEventListener('keydown', e => {
  if (e.key === 'Enter') document.getElementById('hello').textContent = 'Hello, ' + e.target.value + '!';
});
</script></body></html>
"""

TINY_SITE_ACTIONS = [
    {"type": "Click", "selector": "#inc", "description": "Click the 'Add one' button",
     "logical_assertion": "The heading reads 'Clicked 1 times'.", "visual_evaluation_flag": True},
    {"type": "Type", "selector": "#name", "description": "Type 'Ada' into the 'Your name' field",
     "parameters": {"text": "Ada"}, "logical_assertion": "The field shows 'Ada'.",
     "visual_evaluation_flag": False},
    {"type": "Press", "selector": "#name", "description": "Press Enter", "parameters": {"key": "Enter"},
     "logical_assertion": "'Hello, Ada!' appears.", "visual_evaluation_flag": True},
    {"type": "Scroll", "description": "Scroll down half a page",
     "parameters": {"direction": "down", "scroll_page": 0.5},
     "logical_assertion": "The page has scrolled down.", "visual_evaluation_flag": True},
]


@pytest.fixture
def data_tiny_site(tmp_path: Path) -> tuple[Path, Path]:
    """A site folder (index.html, two images, one unused image) and its action script."""
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (site / "index.html").write_text(TINY_SITE_HTML, encoding="utf-8")
    (site / "img" / "logo.png").write_bytes(png_bytes((60, 40), (30, 90, 200)))
    (site / "img" / "photo a.png").write_bytes(png_bytes((80, 50), (40, 160, 90)))
    (site / "img" / "unused.png").write_bytes(png_bytes((10, 10)))
    spec = tmp_path / "actions.json"
    spec.write_text(json.dumps({"source_website": "original:tiny",
                                "classification": {"domain": "Testing", "sub_domain": "Tiny",
                                                   "visual_complexity": "Low", "interaction_complexity": "Low"},
                                "actions": TINY_SITE_ACTIONS}), encoding="utf-8")
    return site, spec
