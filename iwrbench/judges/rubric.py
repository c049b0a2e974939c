"""The high-level visual judge (--judge <model>): a rubric score of a candidate screenshot against
the ground-truth checkpoint of the same step.

Rubric (100 points): layout 10, elements 15, content and text 40, style 15, overall 20. The model is
told which image is the reference and which the candidate, answers JSON, and each part is clamped to
its range. Unreadable answers are asked again; then the score is missing (None) with the reason, which
scoring treats as a judge error, never as 0.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iwrbench.judges.assertion_llm import screenshot_part
from iwrbench.models.base import Model, ModelError, TextPart
from iwrbench.models.llm_json import ask_json, json_objects, judge_request, short

log = logging.getLogger("iwrbench.judges.rubric")

RUBRIC: dict[str, int] = {"layout": 10, "elements": 15, "content": 40, "style": 15, "overall": 20}
ALIASES: dict[str, tuple[str, ...]] = {
    "layout": ("layout",),
    "elements": ("elements", "ui_elements", "components"),
    "content": ("content", "content_and_text", "content_text", "text_content", "text"),
    "style": ("style", "styling", "visual_style"),
    "overall": ("overall", "overall_impression", "impression"),
}

SYSTEM = """You grade how faithfully a rebuilt web page reproduces a reference web page at the same moment
of an interaction. Image 1 is the REFERENCE (the original page). Image 2 is the CANDIDATE (the rebuilt
page). Score the candidate against the reference:
- layout (0-10): placement, sizes and alignment of the main regions;
- elements (0-15): the same components are present: navigation, buttons, inputs, images, cards, tables;
- content (0-40): the same text and data: headings, labels, numbers, list items, messages;
- style (0-15): colours, fonts, spacing, borders, shadows;
- overall (0-20): overall, could the candidate pass for the reference in this state?
Give each part an integer in its range; a missing part or a blank page scores 0 on it.
Reply with one JSON object and nothing else:
{"layout": n, "elements": n, "content": n, "style": n, "overall": n, "reason": "<one short sentence>"}"""

REMINDER = ("Your previous reply could not be read. Reply with exactly one JSON object and nothing else: "
            '{"layout": 0-10, "elements": 0-15, "content": 0-40, "style": 0-15, "overall": 0-20, '
            '"reason": "<one short sentence>"}')


@dataclass
class RubricResult:
    score: float | None  # 0-100, None when the judge failed
    source: str
    detail: dict[str, Any]  # the parts, the reason, or the error


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = re.match(r"\s*(-?\d+(?:\.\d+)?)", value)  # "8", "8/10", "8 points"
        return float(m.group(1)) if m else None
    if isinstance(value, dict):  # {"score": 8, "reason": ...}
        return _number(value.get("score"))
    return None


def parse_rubric(text: str) -> dict[str, Any] | None:
    """{"layout": .., ..., "total": 0-100, "reason": ..} from a reply, clamped; None when a part is missing."""
    for obj in json_objects(text):
        lowered = {str(k).strip().lower().replace(" ", "_"): v for k, v in obj.items()}
        if isinstance(lowered.get("scores"), dict):  # {"scores": {...}, "reason": ...}
            lowered = {**lowered, **{str(k).strip().lower().replace(" ", "_"): v
                                     for k, v in lowered["scores"].items()}}
        parts: dict[str, Any] = {}
        for part, top in RUBRIC.items():
            value = next((_number(lowered[a]) for a in ALIASES[part] if a in lowered), None)
            if value is None:
                break
            parts[part] = int(round(min(float(top), max(0.0, value))))
        else:
            parts["total"] = sum(parts[p] for p in RUBRIC)
            parts["reason"] = short(lowered.get("reason") or "", 300)
            return parts
    return None


class RubricJudge:
    def __init__(self, model: Model, *, max_attempts: int = 3):
        self.model = model
        self.source = model.name
        self.max_attempts = max(1, max_attempts)

    async def score(self, candidate: Path, reference: Path) -> RubricResult:
        ref = screenshot_part(reference, "reference")
        cand = screenshot_part(candidate, "candidate")
        if ref is None or cand is None:
            which = "reference" if ref is None else "candidate"
            return RubricResult(None, self.source, {"error": f"the {which} screenshot is missing or unreadable"})
        parts = (TextPart("Image 1: REFERENCE (the original page)."), ref,
                 TextPart("Image 2: CANDIDATE (the rebuilt page, to be graded)."), cand,
                 TextPart("Grade the candidate against the reference. Reply with the JSON object only."))

        def request(attempt: int):
            extra = () if attempt == 1 else (TextPart(f"{REMINDER} (attempt {attempt})"),)
            return judge_request(self.model, parts + extra, system=SYSTEM, purpose="rubric")

        try:
            reply = await ask_json(self.model, request, parse_rubric, max_attempts=self.max_attempts, what="rubric")
        except ModelError as exc:
            return RubricResult(None, self.source, {"error": short(f"judge call failed: {exc}", 300)})
        if reply.value is not None:
            return RubricResult(float(reply.value["total"]), self.source, reply.value)
        return RubricResult(None, self.source,
                            {"error": f"no readable rubric after {self.max_attempts} attempts; last reply: {reply.last}"})


__all__ = ["RUBRIC", "RubricJudge", "RubricResult", "parse_rubric"]
