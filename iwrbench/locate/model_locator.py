"""The model locator: a model picks the element an action names from the page's indexed element list.

The paper's way of locating (the offline locator in offline.py needs no model). It lives in the locate
stage beside the offline locator and shares its interface (`locate(action, elements, screenshot)` ->
`Choice`); the replay (replay/) calls either one. Here: the locator's prompt, the reading of the model's
answer (an element index, a request for a screenshot, or a reason), and the retry on an unreadable answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from iwrbench.data.tasks import Action
from iwrbench.errors import InfrastructureError
from iwrbench.locate.element import Element
from iwrbench.locate.protocol import Choice
from iwrbench.locate.spatial import AnchorSource
from iwrbench.models.base import ImagePart, Model, ModelError, ModelRequest, TextPart
from iwrbench.models.llm_json import ask_json

LOCATE_SYSTEM = """You operate a web browser to replay one recorded user action on a web page.
You get the action and the page's interactive elements as an indexed list: each line starts with
[index]. Choose the element the action must be performed on.
Answer with one JSON object and nothing else:
  {"index": <number>}                      the element to act on
  {"index": null, "need_screenshot": true} the list alone is not enough to decide (only when no screenshot is shown)
  {"index": null, "reason": "<short>"}     no element on the page fits the action"""


def parse_index(text: str) -> tuple[int | None, bool, str]:
    """(index, wants_screenshot, reason) from a model's answer; tolerant of prose around the JSON."""
    for m in re.finditer(r"\{[^{}]*\}", text, re.DOTALL):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or "index" not in obj:
            continue
        idx = obj.get("index")
        reason = str(obj.get("reason") or "")
        if isinstance(idx, bool):
            idx = None
        if isinstance(idx, str) and idx.strip().lstrip("[").rstrip("]").isdigit():
            idx = int(idx.strip().lstrip("[").rstrip("]"))
        if isinstance(idx, float) and idx.is_integer():
            idx = int(idx)
        return (idx if isinstance(idx, int) else None), bool(obj.get("need_screenshot")), reason
    m = re.search(r"index\D{0,5}(\d+)", text, re.IGNORECASE)
    if m:
        return int(m.group(1)), False, ""
    return None, False, NO_INDEX


NO_INDEX = "the answer named no element index"


def read_index(text: str) -> tuple[int | None, bool, str] | None:
    """parse_index's reading of an answer, or None when the answer says nothing readable."""
    idx, wants, reason = parse_index(text)
    return (idx, wants, reason) if idx is not None or wants or reason != NO_INDEX else None


LOCATE_REMINDER = ("Your previous answer could not be read. Answer with exactly one JSON object and nothing "
                   'else: {"index": <number>} or {"index": null, "reason": "<short>"}')


class LLMLocator:
    """The paper's way: a model picks the element index from browser-use's element list, and gets a
    screenshot of the viewport when it says the list is not enough."""

    name = "llm"

    def __init__(self, model: Model, *, timeout: float = 120.0, max_tokens: int = 300, max_attempts: int = 3):
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.max_attempts = max(1, max_attempts)

    async def locate(self, action: Action, elements: Sequence[Element], page_screenshot: bytes | None = None,
                     *, listing: str | None = None, anchors: AnchorSource = None) -> Choice:
        by_index = {e.index: e for e in elements}
        if not elements:
            return Choice(None, self.name, reason="the page has no interactive elements", candidates=0)
        listing = listing or "\n".join(f"[{e.index}]{e.summary(100)}" for e in elements)
        params = {k: v for k, v in action.parameters.items() if k != "description"}
        prompt = (f"Action type: {action.type}\nDescription: {action.description}\n"
                  f"Parameters: {json.dumps(params, ensure_ascii=False)}\n\nInteractive elements:\n{listing}\n")
        tokens = [0, 0]
        idx, wants, reason = await self._ask(prompt, None, tokens)
        used_shot = False
        if idx is None and wants and page_screenshot:
            used_shot = True
            idx, _wants, reason = await self._ask(prompt + "\nThe screenshot shows the current viewport.",
                                                  page_screenshot, tokens)
        extra = f" (tokens in/out {tokens[0]}/{tokens[1]}{', with screenshot' if used_shot else ''})"
        if idx is None:
            return Choice(None, self.name, reason=(reason or "the model found no fitting element") + extra,
                          candidates=len(elements))
        if idx not in by_index:
            return Choice(None, self.name, reason=f"the model chose index {idx}, which is not on the page" + extra,
                          candidates=len(elements))
        return Choice(by_index[idx], self.name, reason=f"model's choice{extra}", candidates=len(elements))

    async def _ask(self, prompt: str, shot: bytes | None, tokens: list[int]) -> tuple[int | None, bool, str]:
        """The model's answer. An answer that cannot be read (prose, a refusal, a reply cut off) is the
        locator model's failure, not the page's: it is asked again with a reminder (and dropped from the
        response cache, so a rerun asks afresh), and after `max_attempts` the replay stops with an
        InfrastructureError: the task is an error to retry, never a step the page failed."""
        name = getattr(self.model, "name", "?")

        def request(attempt: int) -> ModelRequest:
            text = prompt if attempt == 1 else f"{prompt}\n{LOCATE_REMINDER} (attempt {attempt})"
            parts: tuple = (TextPart(text),) if shot is None else (TextPart(text), ImagePart(shot, "image/png",
                                                                                              "viewport"))
            return ModelRequest(parts=parts, system=LOCATE_SYSTEM, max_tokens=self.max_tokens, temperature=0.0,
                                timeout=self.timeout, purpose="locate")

        try:
            reply = await ask_json(self.model, request, read_index, max_attempts=self.max_attempts, what="locator")
        except ModelError as exc:
            raise InfrastructureError(f"locator model {name} failed: {exc}") from exc
        tokens[0] += reply.input_tokens
        tokens[1] += reply.output_tokens
        if reply.value is not None:
            return reply.value
        raise InfrastructureError(f"locator model {name} gave no readable answer in {self.max_attempts} attempts; "
                                  f"last: {reply.last!r}")
