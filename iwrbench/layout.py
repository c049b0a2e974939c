"""The output layout of design.md, in one place: slugs and every path under --result."""

from __future__ import annotations

import re
from pathlib import Path

OFFLINE_JUDGE = "offline"


def model_slug(name: str) -> str:
    """`openai/gpt-4o` -> `openai__gpt-4o` (lower-cased, `/` -> `__`, nothing path-like left)."""
    slug = name.strip().lower().replace("/", "__")
    slug = re.sub(r"[^a-z0-9_.\-]", "-", slug)
    if slug in {"", ".", ".."}:
        raise ValueError(f"model name {name!r} gives no usable folder name")
    return slug


def judge_slug(judge: str | None) -> str:
    return OFFLINE_JUDGE if not judge else model_slug(judge)


def page_dir(result: Path, task_id: str, model: str) -> Path:
    return Path(result) / str(task_id) / model_slug(model)


def page_path(result: Path, task_id: str, model: str) -> Path:
    return page_dir(result, task_id, model) / "index.html"


def generation_path(result: Path, task_id: str, model: str) -> Path:
    return page_dir(result, task_id, model) / "generation.json"


def eval_dir(result: Path, task_id: str, model: str, judge: str | None) -> Path:
    return page_dir(result, task_id, model) / "eval" / judge_slug(judge)


def eval_path(result: Path, task_id: str, model: str, judge: str | None) -> Path:
    return eval_dir(result, task_id, model, judge) / "eval.json"


def step_screenshot_name(k: int) -> str:
    return f"step_{k}.png"


def reports_dir(result: Path, judge: str | None) -> Path:
    return Path(result) / "reports" / judge_slug(judge)
