"""Pulling one JSON object out of a model's reply: fenced, bare, or with prose around it.

Models wrap JSON in ```json fences, add a sentence before or after, or answer twice. We scan every
balanced {...} span (string-aware, so braces inside strings do not count), parse each, and return the
first object that has the keys the caller needs. No key found -> None, and the caller retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def _spans(text: str) -> Iterator[str]:
    """Every top-level balanced {...} substring, in order."""
    depth, start, in_str, escape = 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                yield text[start:i + 1]


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    for span in _spans(text or ""):
        try:
            obj = json.loads(span)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield obj


def find_object(text: str, required: Iterable[str]) -> dict[str, Any] | None:
    """The first JSON object in `text` holding every key of `required` (keys compared lower-cased)."""
    need = {k.lower() for k in required}
    for obj in json_objects(text):
        lowered = {str(k).strip().lower(): v for k, v in obj.items()}
        if need <= lowered.keys():
            return lowered
    return None


def short(text: Any, limit: int = 300) -> str:
    """One line, at most `limit` characters."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# The judge model's defaults (evaluation_parts.judge_model; IWRBENCH_JUDGE_MAX_TOKENS / _TIMEOUT override
# them), also used for a model that carries no settings of its own (a test double).
DEFAULT_MAX_TOKENS = 2048  # room for reasoning models that count their thinking in the budget
DEFAULT_TIMEOUT = 120.0


def judge_request(model: Any, parts: tuple, *, system: str, purpose: str) -> Any:
    """A judge prompt with the reply budget and timeout the user set for the judge model: one place,
    so the locator, the assertion judge and the rubric all honour IWRBENCH_JUDGE_*."""
    from iwrbench.models.base import ModelRequest

    settings = getattr(model, "settings", None)
    return ModelRequest(parts=parts, system=system, temperature=0.0, purpose=purpose,
                        max_tokens=int(getattr(settings, "max_tokens", DEFAULT_MAX_TOKENS)),
                        timeout=float(getattr(settings, "timeout", DEFAULT_TIMEOUT)))
