"""Reading a model's JSON reply: pulling one JSON object out of it (fenced, bare, or with prose around
it), and asking until a reply can be read (`ask_json`, the one loop the model locator, the assertion
judge and the rubric judge share).

Models wrap JSON in ```json fences, add a sentence before or after, or answer twice. We scan every
balanced {...} span (string-aware, so braces inside strings do not count), parse each, and return the
first object that has the keys the caller needs. No key found -> None, and the caller retries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger("iwrbench.judges.llm")
T = TypeVar("T")


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


@dataclass
class Reply(Generic[T]):
    """What `ask_json` got: the reply as read (None: no readable reply in `attempts`), the last unreadable
    reply (one short line), and the tokens spent over the attempts."""

    value: T | None = None
    last: str = ""
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


async def ask_json(model: Any, request: Callable[[int], Any], read: Callable[[str], T | None], *,
                   max_attempts: int, what: str) -> Reply[T]:
    """Ask `model` until `read` makes something of its reply, at most `max_attempts` times.

    `request(attempt)` builds the request of that attempt: from the second on it carries a reminder of the
    format (which also keeps a cached bad reply from being replayed). An unreadable reply is dropped from
    the response cache (`model.forget`), so a rerun asks the model afresh. A failed call (ModelError) is
    not caught: each caller says what it means (a judge error, a locator outage)."""
    got: Reply[T] = Reply()
    for attempt in range(1, max(1, max_attempts) + 1):
        response = await model.complete(request(attempt))
        got.attempts = attempt
        got.input_tokens += response.input_tokens or 0
        got.output_tokens += response.output_tokens or 0
        value = read(response.text)
        if value is not None:
            got.value = value
            return got
        forget = getattr(model, "forget", None)
        if forget is not None:
            forget(response)
        got.last = short(response.text, 120) or f"(empty reply, stop reason {response.stop_reason})"
        log.info("%s: unreadable reply (attempt %d of %d): %s", what, attempt, max_attempts, got.last)
    return got
