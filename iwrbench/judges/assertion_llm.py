"""The model-based assertion judge (--judge <model>): it sees the page before and after the action.

The model answers {"verdict": "pass"|"fail", "reason": "..."}. An answer that cannot be read is asked
again with a reminder of the format (the reminder also keeps a cached bad answer from being replayed);
after `max_attempts` unreadable answers, or when the call itself fails, the verdict is "error": an
infrastructure problem, never a pass and never the page's failure.
"""

from __future__ import annotations

import logging
from pathlib import Path

from iwrbench.data.tasks import Action, Task
from iwrbench.judges.base import action_of, not_executed, verdict
from iwrbench.models.base import ImagePart, Model, ModelError, TextPart
from iwrbench.models.llm_json import ask_json, find_object, judge_request, short
from iwrbench.records.evaluation import Verdict
from iwrbench.replay.states import ReplayStep

log = logging.getLogger("iwrbench.judges.llm")

IMAGE_SIDE = 1280

SYSTEM = """You check recorded user actions on a web page.
A user performed one action on the page. You get a screenshot taken just before the action and one
taken just after it, the action, and an assertion describing the state the action should lead to.
Decide whether the assertion holds in the AFTER screenshot.
- Judge the page's content and state: texts, numbers, which item is selected, open or checked,
  what is shown or hidden. Use the BEFORE screenshot only to see what the action changed.
- Ignore styling that the assertion does not mention (fonts, exact colours, spacing, positions).
- Text or numbers named in the assertion must be visible in the AFTER screenshot.
- If the page did not react to the action and the assertion describes a change, it does not hold.
Reply with one JSON object and nothing else:
{"verdict": "pass" or "fail", "reason": "<one short sentence>"}"""

REMINDER = ("Your previous reply could not be read. Reply with exactly one JSON object and nothing else: "
            '{"verdict": "pass" or "fail", "reason": "<one short sentence>"}')

PASS_WORDS = {"pass", "passed", "holds", "hold", "true", "yes", "correct", "satisfied"}
FAIL_WORDS = {"fail", "failed", "does not hold", "not hold", "false", "no", "incorrect", "not satisfied"}


def action_text(action: Action) -> str:
    extra = []
    if action.type == "Type" and action.text is not None:
        extra.append(f"typed text: {action.text!r}")
    if action.type == "Press" and action.key:
        extra.append(f"key: {action.key}")
    if action.type == "Scroll":
        extra.append(f"direction: {action.direction}, amount: {action.scroll_page} page(s)")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"{action.type}: {action.description}{tail}"


def parse_verdict(text: str) -> tuple[str, str] | None:
    """("pass"|"fail", reason) from a reply, or None when the reply does not say."""
    obj = find_object(text, ["verdict"])
    if obj is None:
        return None
    raw = obj.get("verdict")
    if isinstance(raw, bool):
        value = "pass" if raw else "fail"
    else:
        word = " ".join(str(raw or "").strip().lower().split())
        value = "pass" if word in PASS_WORDS else "fail" if word in FAIL_WORDS else None
    if value is None:
        return None
    return value, short(obj.get("reason") or "", 300)


def screenshot_part(path: Path | None, label: str) -> ImagePart | None:
    from iwrbench.media.frames import MediaError, encode_image_file

    if path is None or not Path(path).is_file():
        return None
    try:
        return encode_image_file(path, IMAGE_SIDE, label=label)
    except MediaError as exc:
        log.warning("cannot encode %s: %s", path, exc)
        return None


class LLMAssertionJudge:
    def __init__(self, model: Model, *, max_attempts: int = 3):
        self.model = model
        self.source = model.name
        self.max_attempts = max(1, max_attempts)

    def build_parts(self, task: Task, step: ReplayStep) -> tuple | None:
        action = action_of(task, step)
        after = screenshot_part(step.after.screenshot if step.after else None, f"step {action.index} after")
        if after is None:
            return None
        before = screenshot_part(step.before.screenshot, f"step {action.index} before")
        parts: list = [TextPart(f"Action {action.index} of {len(task.actions)}: {action_text(action)}\n"
                                f"Assertion about the page after the action: {action.logical_assertion}")]
        if before is not None:
            parts += [TextPart("BEFORE the action:"), before]
        else:
            parts.append(TextPart("(No screenshot from before the action is available.)"))
        parts += [TextPart("AFTER the action:"), after,
                  TextPart("Does the assertion hold after the action? Reply with the JSON object only.")]
        return tuple(parts)

    async def judge(self, task: Task, step: ReplayStep) -> Verdict:
        early = not_executed(step)
        if early is not None:
            return early
        parts = self.build_parts(task, step)
        if parts is None:
            return verdict("error", self.source, "the screenshot after the action is missing or unreadable")

        def request(attempt: int):
            extra = () if attempt == 1 else (TextPart(f"{REMINDER} (attempt {attempt})"),)
            return judge_request(self.model, parts + extra, system=SYSTEM, purpose="assert")

        try:
            reply = await ask_json(self.model, request, parse_verdict, max_attempts=self.max_attempts,
                                   what=f"task {task.id} step {step.record.index}: verdict")
        except ModelError as exc:
            return verdict("error", self.source, f"judge call failed: {exc}")
        if reply.value is not None:
            value, reason = reply.value
            return verdict(value, self.source, reason or f"the model says {value}")
        return verdict("error", self.source, f"no readable verdict after {self.max_attempts} attempts; last reply: "
                                             f"{reply.last}")
