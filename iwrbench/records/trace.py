"""trace.json: what the replay saw and did on one task, written next to eval.json, so the judges can run
again without a browser (evaluate.py --rejudge).

The replay records facts only: per action, the element it chose and why, what it did, the page's state
before and after (its text, form values, the text shown in the viewport, focus, scroll) and the screenshot
files. The judges read exactly this, with the task, and decide. Form values are as the replay read them:
a password field's value is masked by js/page_state.js (bullets, and "[typed]" when it holds the typed
text), so no password is ever in a trace.

Page states are stored once each and referred to by position: the state after action k is also the
state before action k+1.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from iwrbench import __version__
from iwrbench.fsutil import atomic_write_json, read_json
from iwrbench.layout import TRACE_FILE
from iwrbench.records.base import TRACE_SCHEMA_VERSION, Details, Record, VersionedRecord, parse_record
from iwrbench.records.evaluation import SandboxRecord, StepFacts
from iwrbench.replay.states import PageState, ReplayResult, ReplayStep


class TraceState(Record):
    """The page at one moment (states.PageState); `screenshot` is a file name in the trace's folder."""

    screenshot: str | None = None
    text: str = ""  # document.body.innerText (capped by the replay)
    screen_text: str | None = None  # the text shown in the viewport; None: not read
    inputs: dict[str, str] = Field(default_factory=dict)  # form field -> value (passwords masked)
    url: str = ""
    scroll: tuple[float, float] = (0.0, 0.0)
    scroll_size: tuple[float, float] = (0.0, 0.0)
    focused: str = ""  # short description of the focused element
    details: Details = Field(default_factory=dict)  # title, viewport, focused_editable, elements, ...


class TraceStep(StepFacts):
    """One action's facts, with its page states (positions in `Trace.states`)."""

    before: int
    after: int | None = None  # None: the action was not performed


class Trace(VersionedRecord):
    schema_version: int = TRACE_SCHEMA_VERSION
    task_id: str
    model: str
    epoch: int = 1
    run_slug: str
    agent: str  # slug of what picked the elements ("offline" or a model)
    page_sha256: str | None = None  # of the index.html replayed: a rejudge refuses a page changed since
    states: list[TraceState]
    initial: int  # position of the state after loading
    steps: list[TraceStep]
    stopped_at: int | None = None  # the first action that could not be performed
    sandbox: SandboxRecord = Field(default_factory=SandboxRecord)
    error: str | None = None  # the replay's infrastructure failure, if any
    seconds: float = 0.0
    harness_version: str = ""
    finished_at: str = ""


def page_sha256(page: Path) -> str | None:
    try:
        return hashlib.sha256(page.read_bytes()).hexdigest()
    except OSError:
        return None


def _state_record(state: PageState) -> TraceState:
    return TraceState(screenshot=state.screenshot.name if state.screenshot is not None else None, text=state.text,
                      screen_text=state.screen_text, inputs=dict(state.inputs), url=state.url,
                      scroll=tuple(state.scroll), scroll_size=tuple(state.scroll_size), focused=state.focused,
                      details=dict(state.extra))


def build_trace(replay: ReplayResult, *, task_id: str, model: str, epoch: int, run_slug: str, agent: str,
                page: Path) -> Trace:
    """The trace of a finished replay (its states stored once each, in the order first seen)."""
    states: list[TraceState] = []
    position: dict[int, int] = {}

    def ref(state: PageState) -> int:
        if id(state) not in position:
            position[id(state)] = len(states)
            states.append(_state_record(state))
        return position[id(state)]

    initial = ref(replay.initial)
    steps = []
    for step in replay.steps:
        before = ref(step.before)
        after = ref(step.after) if step.after is not None else None
        steps.append(TraceStep(**step.record.model_dump(), before=before, after=after))
    return Trace(task_id=task_id, model=model, epoch=epoch, run_slug=run_slug, agent=agent,
                 page_sha256=page_sha256(page), states=states, initial=initial, steps=steps,
                 stopped_at=replay.stopped_at, sandbox=SandboxRecord.model_validate(replay.sandbox),
                 error=replay.error, seconds=replay.seconds, harness_version=__version__,
                 finished_at=datetime.now(UTC).isoformat(timespec="seconds"))


def write_trace(folder: Path, trace: Trace) -> Path:
    return atomic_write_json(Path(folder) / TRACE_FILE, trace.model_dump(mode="json"))


def read_trace(path: Path) -> Trace | None:
    """The trace at `path`, or None when there is none (raises pydantic.ValidationError when it is not one)."""
    data = read_json(path)
    return None if data is None else parse_record(Trace, data)


def replay_of(trace: Trace, folder: Path) -> ReplayResult:
    """The ReplayResult the judges read, rebuilt from a trace whose screenshots are in `folder`."""
    states = [_page_state(s, Path(folder)) for s in trace.states]
    steps = [ReplayStep(record=StepFacts(**s.model_dump(exclude={"before", "after"})), before=states[s.before],
                        after=states[s.after] if s.after is not None else None) for s in trace.steps]
    return ReplayResult(initial=states[trace.initial], steps=steps, stopped_at=trace.stopped_at,
                        sandbox=trace.sandbox.model_dump(mode="json"), error=trace.error, seconds=trace.seconds)


def _page_state(state: TraceState, folder: Path) -> PageState:
    extra: dict[str, Any] = dict(state.details)
    return PageState(screenshot=folder / state.screenshot if state.screenshot else None, text=state.text,
                     screen_text=state.screen_text, inputs=dict(state.inputs), url=state.url,
                     scroll=tuple(state.scroll), scroll_size=tuple(state.scroll_size), focused=state.focused,
                     extra=extra)


def screenshots_of(trace: Trace) -> list[str]:
    """The screenshot files a trace refers to."""
    return sorted({s.screenshot for s in trace.states if s.screenshot})
