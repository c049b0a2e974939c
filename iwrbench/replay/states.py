"""What the replay hands to the judges: the page's state before and after each action.

The replay (agent.py) fills these with facts; the assertion judges and visual scorers (judges/) read them
and decide. trace.py writes them to trace.json (and reads them back for evaluate.py --rejudge); eval.json
holds the StepRecords the evaluator builds from the facts and the judges' decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iwrbench.records.evaluation import StepFacts


@dataclass
class PageState:
    """A snapshot of the candidate page at one moment."""

    screenshot: Path | None  # viewport PNG at the task's resolution
    text: str = ""  # document.body.innerText (visible text)
    screen_text: str | None = None  # text shown in the viewport (js/page_state.js); None: not read
    inputs: dict[str, str] = field(default_factory=dict)  # form-field label/name -> current value
    url: str = ""
    scroll: tuple[float, float] = (0.0, 0.0)
    scroll_size: tuple[float, float] = (0.0, 0.0)  # scrollWidth, scrollHeight of the document
    focused: str = ""  # short description of document.activeElement
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReplayStep:
    """One action as replayed: what was done, and the page before and after it."""

    record: StepFacts
    before: PageState
    after: PageState | None  # None when the action was not executed


@dataclass
class ReplayResult:
    initial: PageState
    steps: list[ReplayStep]
    stopped_at: int | None = None  # 1-based index of the first action that could not be performed
    sandbox: dict[str, Any] = field(default_factory=dict)  # blocked requests, dialogs, pop-ups
    error: str | None = None  # infrastructure failure (browser crashed, page hung at load ...)
    seconds: float = 0.0
