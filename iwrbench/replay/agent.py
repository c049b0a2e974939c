"""Replaying a task's recorded actions on a candidate page: perceive, locate, act, capture.

For each action: look at the page (browser-use's element list), pick the element the description
names (the offline locator or a model), act on it through Playwright (browser-use's own click/fill
as the fallback), wait for the page to settle (events, not sleeps), and capture the state after it
(screenshot step_<k>.png, visible text, form values, scroll, focus). The replay stops at the first
action that cannot be performed. The replay records facts only (StepFacts, written to trace.json by
the evaluator); the judges (judges/) decide whether each action's assertion holds.

A page that hangs or crashes is the page's fault and is recorded in its steps; `ReplayResult.error`
is only for infrastructure failures (Chromium gone, the locator model unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Action, Task
from iwrbench.errors import InfrastructureError
from iwrbench.layout import step_screenshot_name
from iwrbench.locate.description import QUOTE_RE, parse_description, text_from_description
from iwrbench.locate.element import Element
from iwrbench.locate.keys import key_from_description, normalize_key, without_key
from iwrbench.locate.protocol import Choice, Locator
from iwrbench.locate.scoring import is_label_of
from iwrbench.locate.spatial import Anchor
from iwrbench.locate.words import normalize
from iwrbench.perception.elements import Perceived, Perception
from iwrbench.records.evaluation import LocatorInfo, StepFacts
from iwrbench.replay.page_scripts import (
    HIDDEN_CONTROL_LABEL,
    HOLDS_FOCUS,
    LIST_EDGE,
    QUOTED_PART,
    RENDERED_ELEMENTS,
    SCROLL_PROBE,
    STATE_SCRIPT,
)
from iwrbench.replay.states import PageState, ReplayResult, ReplayStep
from iwrbench.sandbox.browser import Browser
from iwrbench.sandbox.faults import BrowserDied, PageCrashed, PageHung, PageScriptError
from iwrbench.sandbox.page_sandbox import PageSandbox

log = logging.getLogger("iwrbench.agent")

# Seconds an action may take to settle: its navigation's load, the page's requests, frame callbacks,
# animations and one-shot timers (debounced searches, autocomplete delays). A page that is quiet sooner
# is captured sooner (usually after one or two frames); the cap only bounds a page that never is.
SETTLE_CAP = 3.0
TEXT_CAP = 100_000  # characters of innerText kept per state
CLICK_TIMEOUT = 3.0  # Playwright's actionability wait before the browser-use fallback
STRONG_MATCH = 6.0  # a locator score that names the element itself (its own text), not only its surroundings

# Pointer actions, which reach what is drawn at the element's place.
POINTED = ("Click", "DoubleClick", "Hover")
# Elements a <label> can stand for: only these are asked whether the page hides them behind one.
LABELLED_CONTROLS = frozenset({"input", "select", "textarea", "button", "meter", "output", "progress"})
# Controls a click reaches the same anywhere on (a button with a badge in it): never narrowed to a part.
ONE_TARGET = frozenset({"button", "link", "tab", "menuitem", "option", "checkbox", "radio", "switch", "textbox",
                        "combobox", "slider", "spinbutton", "listitem", "treeitem", "row", "cell", "heading"})
SCROLL_CONTAINERS = {"list", "panel", "sidebar", "container", "menu", "table", "feed", "chat", "modal", "dialog",
                     "column", "carousel", "gallery"}  # words that make a Scroll aim at a panel, not the page


def typed_text(action: Action) -> str:
    """The text a Type action types ('' for other actions): the state read after it marks a password
    field that holds it, so the judge can tell the typing arrived though the value is masked."""
    if action.type != "Type":
        return ""
    text = action.text if action.text is not None else text_from_description(action.description)
    return text or ""


def looks_first(action: Action, before: PageState) -> bool:
    """Whether performing `action` on the page in state `before` starts by reading its element list:
    always for Click and Type; for a Press that names a field the focus is not in; for a Scroll that
    names a panel."""
    if action.type in ("Click", "Type", "DoubleClick", "Hover", "Select", "Drag"):
        return True
    if action.type == "Press":
        # "Press Enter in the 'Search' field", "Press the Up arrow key in the field": a place named
        # after the key; "Press Enter to submit" names none.
        rest = without_key(action.description)
        named = parse_description(rest)
        place = bool(re.match(r"\s*(?:in|on|into|inside|within|at|from)\s", rest, re.IGNORECASE)) and \
            bool(named.roles or named.words or named.named)
        return bool(named.quoted or named.context_quoted or place) and not before.extra.get("focused_editable")
    query = parse_description(action.description)
    if action.type == "Scroll":
        return bool(query.quoted or set(query.words) & SCROLL_CONTAINERS)
    return False


async def _cancel_look(look: asyncio.Future[Perceived]) -> None:
    """Cancel a look whose element list is no longer wanted and wait until it has stopped."""
    look.cancel()
    await asyncio.wait([look])  # a cancellation of the caller's own task still propagates
    if not look.cancelled():
        look.exception()  # its outcome no longer matters; read, so asyncio does not report it


class NotPerformed(Exception):
    """The action could not be performed on this page (the page's shortcoming, recorded as such)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def pick_option(wanted: str, options: Sequence[tuple[str, str]]) -> str | None:
    """The value of the <select> option `wanted` names: its label exactly, else its value, else
    the label it matches once case, spacing and punctuation are ignored, else one label that
    contains it. None when nothing fits."""
    if not options:
        return None
    for label, value in options:
        if label.strip() == wanted.strip():
            return value
    for _label, value in options:
        if value.strip() == wanted.strip():
            return value
    want = normalize(wanted)
    loose = [value for label, value in options if normalize(label) == want or normalize(value) == want]
    if loose:
        return loose[0]
    inside = [value for label, value in options if want and want in normalize(label)]
    return inside[0] if len(inside) == 1 else None


DROP_EDGE = re.compile(r"^\s*(?:the\s+)?(top|start|beginning|head|bottom|end|tail)\s+of\s+(?:the\s+|its\s+|this\s+)?"
                       r"(?:list|column|queue|stack|table|items?|rows?)\b", re.IGNORECASE)
DROP_SIDE = re.compile(r"^\s*(above|before|over|below|under|beneath|after|onto|on to|into|on|over to|to)\s+(.+)$",
                       re.IGNORECASE)


def drop_edge(where: str) -> tuple[str, str | None]:
    """Where a Drag's target puts the element: ('top' | 'bottom' | 'center', the place's own words).
    'the top of the list' -> ('top', None): the dragged element's own list; "above 'Item 1'" ->
    ('top', "'Item 1'"); "the 'Done' column" -> ('center', "the 'Done' column")."""
    m = DROP_EDGE.match(where)
    if m:
        return ("top" if m.group(1).lower() in ("top", "start", "beginning", "head") else "bottom"), None
    m = DROP_SIDE.match(where)
    if m:
        word = m.group(1).lower()
        edge = "top" if word in ("above", "before", "over") else "bottom" if word in ("below", "under", "beneath",
                                                                                         "after") else "center"
        return edge, m.group(2)
    return "center", where


def weak(choice: Choice) -> bool:
    """The offline locator found the element only by its surroundings, not its own text (a model's
    choice has no score and is taken as it is)."""
    return choice.score is not None and choice.score < STRONG_MATCH


def anchor_for(words: str, anchors: Sequence[Anchor]) -> Anchor | None:
    """The visible text a description of a place names ("the 'Done' column"): its quoted phrase, else
    its words, matched against the page's short texts; the one with the best match, None when no text
    matches well or two match equally (ambiguous)."""
    quoted = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(words)]
    phrases = quoted or [" ".join(parse_description(words).words)]
    scored: list[tuple[float, Anchor]] = []
    for a in anchors:
        text = normalize(a.text)
        score = max((10.0 if text == normalize(p) else 6.0 if normalize(p) and normalize(p) in text.split(" ")
                     else 0.0) for p in phrases)
        if score > 0:
            scored.append((score, a))
    if not scored:
        return None
    top = max(score for score, _ in scored)
    best = [a for score, a in scored if score == top]
    # Texts at one place (a heading and the icon label inside it) are one place: the largest box.
    first = best[0].bbox
    if all(_overlap(a.bbox, first) for a in best):
        return max(best, key=lambda a: a.bbox[2] * a.bbox[3])
    return None


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


# ---------------------------------------------------------------- ground truth for Scroll


def ground_truth_moved(task: Task, k: int, *, threshold: float = 1.0) -> bool | None:
    """Did the recorded view change across action k? None when the data cannot tell."""
    from PIL import Image, ImageChops, ImageStat

    before, after = task.checkpoint(k - 1), task.checkpoint(k)
    if before is None or after is None:
        return None
    try:
        with Image.open(before) as a, Image.open(after) as b:
            size = (160, 90)
            ga = a.convert("L").resize(size, Image.Resampling.BILINEAR)
            gb = b.convert("L").resize(size, Image.Resampling.BILINEAR)
            diff = ImageStat.Stat(ImageChops.difference(ga, gb)).mean[0]
    except OSError as exc:
        log.warning("task %s: cannot compare checkpoints %d and %d: %s", task.id, k - 1, k, exc)
        return None
    return diff > threshold


# ---------------------------------------------------------------- one task's replay


class Replayer:
    """Replays one task on one sandboxed page."""

    def __init__(self, sandbox: PageSandbox, task: Task, out_dir: Path, locator: Locator, *,
                 step_timeout: float, use_browser_use: bool = True,
                 on_step: Callable[[ReplayStep], None] | None = None):
        self.on_step = on_step
        self.sandbox = sandbox
        self.page = sandbox.page
        self.task = task
        self.out_dir = out_dir
        self.locator = locator
        self.step_timeout = step_timeout
        self.perception = Perception(sandbox, use_browser_use=use_browser_use)
        self.last_shot: bytes | None = None
        self._ahead: tuple[int, asyncio.Future[Perceived]] | None = None  # the next action's look, started early

    # ------------------------------------------------------------ state

    async def capture(self, k: int, then: Action | None = None, data: dict[str, Any] | None = None) -> PageState:
        """The page's state and screenshot after action k (0: after loading). `data` is the state
        already read (by settling), else it is read here.

        When the next action (`then`) starts by looking at the page, that look starts as soon as the
        state is read and runs while Chromium takes the screenshot: both see the same settled page,
        and the next step finds its element list ready (or nearly) instead of waiting ~35 ms for it.
        """
        if data is None:
            data = await self.sandbox.read(STATE_SCRIPT, [TEXT_CAP, ""], what="reading the page state")
        state = self._state(k, data)
        if then is not None and looks_first(then, state):
            self._ahead = (then.index, asyncio.ensure_future(self._perceive(then, state)))
        self.last_shot = await self.sandbox.screenshot(state.screenshot)
        return state

    def _state(self, k: int, data: dict[str, Any]) -> PageState:
        path = self.out_dir / step_screenshot_name(k)
        return PageState(screenshot=path, text=str(data.get("text") or ""),
                         screen_text=None if data.get("screen") is None else str(data["screen"]),
                         inputs={str(k): str(v) for k, v in (data.get("inputs") or {}).items()},
                         url=str(data.get("url") or ""), scroll=tuple(float(v) for v in data["scroll"]),
                         scroll_size=tuple(float(v) for v in data["size"]), focused=str(data.get("focused") or ""),
                         extra={"title": str(data.get("title") or ""), "viewport": list(data.get("viewport") or []),
                                "focused_editable": bool(data.get("focused_editable")),
                                "elements": int(data.get("elements") or 0),
                                "text_truncated": bool(data.get("truncated"))})

    def viewport(self, state: PageState) -> tuple[float, float, float, float]:
        vw, vh = (state.extra.get("viewport") or [self.task.width, self.task.height])[:2]
        return (state.scroll[0], state.scroll[1], float(vw), float(vh))

    # ------------------------------------------------------------ the loop

    async def run(self, result: ReplayResult) -> None:
        phases = result.sandbox.setdefault("phases", {})
        t = time.monotonic()
        self.perception.start(timeout=max(self.step_timeout, 10.0))
        try:
            await self.sandbox.load()
        except PageHung as exc:
            if await self.sandbox.browser_died():
                raise BrowserDied("Chromium stopped answering while the page loaded") from exc
            self._stop_all(result, f"the page hung while loading ({exc})", PageState(screenshot=None,
                           extra={"error": str(exc)}))
            return
        except PageCrashed as exc:
            self._stop_all(result, f"the page crashed while loading ({exc})", PageState(screenshot=None,
                           extra={"error": str(exc)}))
            return
        phases["load"] = round(time.monotonic() - t, 3)
        try:
            await self._replay(result, phases)
        finally:
            await self._drop_ahead()

    async def _replay(self, result: ReplayResult, phases: dict[str, float]) -> None:
        actions = self.task.actions
        t = time.monotonic()
        try:
            result.initial = await self.capture(0, then=actions[0] if actions else None)
            phases["initial"] = round(time.monotonic() - t, 3)
        except (PageHung, PageCrashed, PageScriptError) as exc:
            self._stop_all(result, f"the page stopped responding after loading ({exc})",
                           PageState(screenshot=None, extra={"error": str(exc)}))
            return
        state = result.initial
        for i, action in enumerate(actions):
            if result.stopped_at is not None:
                result.steps.append(self._unreached(action, state, result.stopped_at))
                continue
            step = await self.step(action, state, then=actions[i + 1] if i + 1 < len(actions) else None)
            result.steps.append(step)
            if self.on_step is not None and step.record.executed:
                self.on_step(step)
            if not step.record.executed:
                result.stopped_at = action.index
                await self._drop_ahead()
            elif step.after is not None:
                state = step.after

    async def _drop_ahead(self) -> None:
        """Cancel a look started for an action that will not run (the replay stopped or ended)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await _cancel_look(ahead[1])

    def _stop_all(self, result: ReplayResult, reason: str, initial: PageState) -> None:
        result.initial = initial
        result.stopped_at = 1
        for action in self.task.actions:
            rec = StepFacts(index=action.index, type=action.type, description=action.description,
                            error=reason if action.index == 1 else None,
                            not_reached=reason if action.index != 1 else None)
            result.steps.append(ReplayStep(record=rec, before=initial, after=None))

    @staticmethod
    def _unreached(action: Action, state: PageState, stopped_at: int) -> ReplayStep:
        reason = f"not reached: action {stopped_at} could not be performed"
        rec = StepFacts(index=action.index, type=action.type, description=action.description, not_reached=reason)
        return ReplayStep(record=rec, before=state, after=None)

    async def step(self, action: Action, before: PageState, then: Action | None = None) -> ReplayStep:
        rec = StepFacts(index=action.index, type=action.type, description=action.description)
        timings: dict[str, float] = {}
        start = time.monotonic()
        after: PageState | None = None
        try:
            navs = self.sandbox.navigations
            await self.perform(action, before, rec, timings)
            t = time.monotonic()
            data = await self.sandbox.settle(cap=SETTLE_CAP, navigated=self.sandbox.navigations != navs,
                                             then=(STATE_SCRIPT, [TEXT_CAP, typed_text(action)]))
            timings["settle"] = time.monotonic() - t
            rec.settle = {"cap": SETTLE_CAP, "capped": self.sandbox.last_settle == "cap",
                          "seconds": round(timings["settle"], 4)}
            t = time.monotonic()
            after = await self.capture(action.index, then=then, data=data)
            timings["capture"] = time.monotonic() - t
            rec.executed = True
            rec.screenshot = step_screenshot_name(action.index)
        except (NotPerformed, PageHung, PageCrashed, PageScriptError) as exc:
            if await self.sandbox.browser_died():
                raise BrowserDied(f"Chromium stopped answering during action {action.index}") from exc
            if isinstance(exc, NotPerformed | PageScriptError):
                rec.error = str(exc)[:500]
            elif isinstance(exc, PageHung):
                rec.error = f"the page hung: {exc}"[:500]
            else:
                rec.error = f"the page crashed: {exc}"[:500]
            after = None
        except Exception as exc:
            if await self.sandbox.browser_died():
                raise BrowserDied(f"Chromium stopped answering during action {action.index}") from exc
            raise
        finally:
            timings["total"] = time.monotonic() - start
            rec.timings = {k: round(v, 4) for k, v in timings.items()}
        if not rec.executed:
            after = None
        return ReplayStep(record=rec, before=before, after=after)

    # ------------------------------------------------------------ perceive and locate

    async def look(self, action: Action, before: PageState, timings: dict[str, float]) -> Perceived:
        """The element list for `action`: the one started during the last capture, else a new look."""
        t = time.monotonic()
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == action.index:
            seen = await ahead[1]
            timings["perceive_ahead"] = seen.seconds
        else:
            if ahead is not None:
                await _cancel_look(ahead[1])
            seen = await self._perceive(action, before)
        timings["perceive"] = time.monotonic() - t
        return seen

    async def _perceive(self, action: Action, before: PageState) -> Perceived:
        query = parse_description(action.description)
        hints = list(query.quoted) + [p for p, _rel in query.context_quoted]
        return await self.perception.look(self.viewport(before), timeout=self.step_timeout,
                                          dom_size=int(before.extra.get("elements") or 0), hints=hints)

    async def locate(self, action: Action, seen: Perceived, timings: dict[str, float]) -> Choice:
        t = time.monotonic()
        choice = await self.locator.locate(action, seen.elements, self.last_shot, listing=seen.listing,
                                           anchors=seen.anchors)
        timings["locate"] = time.monotonic() - t
        return choice

    def _record_choice(self, rec: StepFacts, choice: Choice, seen: Perceived) -> None:
        info = choice.info()
        extra = {"perception": seen.source}
        if seen.notes:
            extra["perception_notes"] = list(seen.notes)
        rec.locator = LocatorInfo(**{**info.model_dump(), **extra})

    async def _target(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float],
                      ) -> tuple[Any, Element, Perceived]:
        """Locate the element an action names and get a Playwright handle on it."""
        seen = await self.look(action, before, timings)
        choice = await self.locate(action, seen, timings)
        self._record_choice(rec, choice, seen)
        if choice.element is None:
            raise NotPerformed(f"no element found for {action.description!r}: {choice.reason}")
        rec.attempted = True
        ref = seen.ref(choice.element.index)
        handle = await self.perception.handle(ref) if ref is not None else None
        if handle is not None and action.type in POINTED:
            if choice.element.tag.lower() in LABELLED_CONTROLS:
                handle = await self._shown_stand_in(handle, rec)
            handle = await self._quoted_part(handle, choice.element, action, rec)
        return handle, choice.element, seen

    async def _quoted_part(self, handle: Any, element: Element, action: Action, rec: StepFacts) -> Any:
        """"Click 'Item 6'" when the element list only has the list around it (a widget whose items are
        plain text): the part of the chosen element whose whole text is the quote is what the user
        pointed at, not the middle of the list."""
        quoted = parse_description(action.description).quoted
        if element.kind in ONE_TARGET or len(quoted) != 1 or normalize(element.label()) == normalize(quoted[0]) \
                or normalize(quoted[0]) not in normalize(element.label()):
            return handle
        return await self._pointed_instead(handle, rec, QUOTED_PART, quoted[0], f"its part that reads {quoted[0]!r}")

    async def _shown_stand_in(self, handle: Any, rec: StepFacts) -> Any:
        """A control the page hides from sight (a styled radio or checkbox: the native input clipped
        to a pixel, its label drawn instead) is pointed at through its label, as a user would; a
        click on the hidden pixel reaches nothing."""
        return await self._pointed_instead(handle, rec, HIDDEN_CONTROL_LABEL, None,
                                           "its label (the control itself is hidden)")

    async def _pointed_instead(self, handle: Any, rec: StepFacts, script: str, arg: Any, why: str) -> Any:
        """The element `script` finds from the chosen one (else the chosen one), the step saying why."""
        try:
            found = await self.sandbox.call(why, handle.evaluate_handle(script, arg), timeout=min(3.0, self.step_timeout))
            other = found.as_element()
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception:
            return handle
        if other is None:
            return handle
        rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "fallback": why[:300]})
        return other

    # ------------------------------------------------------------ actions

    async def perform(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        if action.type == "Click":
            await self.click(action, before, rec, timings)
        elif action.type == "Type":
            await self.type(action, before, rec, timings)
        elif action.type == "Press":
            await self.press(action, before, rec, timings)
        elif action.type == "Scroll":
            await self.scroll(action, before, rec, timings)
        elif action.type == "DoubleClick":
            await self.double_click(action, before, rec, timings)
        elif action.type == "Hover":
            await self.hover(action, before, rec, timings)
        elif action.type == "Select":
            await self.select(action, before, rec, timings)
        elif action.type == "Drag":
            await self.drag(action, before, rec, timings)
        else:  # evaluation refuses such a task as a data error before it gets here
            raise NotPerformed(f"the harness cannot perform action type {action.type!r}")

    async def click(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        handle, element, seen = await self._target(action, before, rec, timings)
        t = time.monotonic()
        try:
            if handle is None:
                raise NotPerformed(f"the element {element.summary()} is no longer on the page")
            timeout = min(CLICK_TIMEOUT, self.step_timeout)
            await self.sandbox.call("click", handle.click(timeout=timeout * 1000), timeout=timeout + 2)
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            await self._fallback("click", seen, element, rec, exc)
        finally:
            timings["act"] = time.monotonic() - t

    async def _fallback(self, what: str, seen: Perceived, element: Element, rec: StepFacts, exc: BaseException,
                        text: str | None = None) -> None:
        """browser-use's own action when Playwright's failed on a live page (e.g. a covered element)."""
        reason = exc if isinstance(exc, NotPerformed) else f"{what} failed: {_first_line(exc)}"
        ref = seen.ref(element.index)
        if ref is None or ref.backend_node_id is None or not self.perception.can_fallback:
            raise NotPerformed(str(reason)) from None
        view = self.perception.view
        assert view is not None
        try:
            if what == "click":
                await view.click(ref, timeout=self.step_timeout)
            else:
                await view.fill(ref, text or "", timeout=self.step_timeout)
        except Exception as exc2:
            self.sandbox.check()
            if not await self.sandbox.responsive():
                raise PageHung(f"{what}: the page stopped responding") from None
            raise NotPerformed(f"{reason}; browser-use's {what} failed too: {_first_line(exc2)}") from None
        rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "fallback": f"browser-use {what} ({reason})"[:300]})

    async def type(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        text = action.text if action.text is not None else text_from_description(action.description)
        if text is None:
            raise NotPerformed("the action gives no text to type")
        seen = await self.look(action, before, timings)
        choice = await self.locate(action, seen, timings)
        self._record_choice(rec, choice, seen)
        handle = None
        element = choice.element
        if element is not None:
            rec.attempted = True
            ref = seen.ref(element.index)
            handle = await self.perception.handle(ref) if ref is not None else None
        elif before.extra.get("focused_editable") and not parse_description(action.description,
                                                                              typed_text=text).quoted:
            # "Type 'laptop'" names no field: type where the caret is, as the user did.
            rec.attempted = True
            handle = (await self.sandbox.call("focused element", self.page.evaluate_handle(
                "document.activeElement"))).as_element()
            rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "method": "focused", "element": before.focused})
        if handle is None:
            raise NotPerformed(f"no field to type into for {action.description!r}: {choice.reason}")
        t = time.monotonic()
        try:
            await self._type_into(handle, text)
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            if element is None:
                raise NotPerformed(f"typing failed: {_first_line(exc)}") from None
            await self._fallback("fill", seen, element, rec, exc, text=text)
        finally:
            timings["act"] = time.monotonic() - t

    async def _type_into(self, handle: Any, text: str) -> None:
        """fill() all but the last character, then type the last one as a real key press, so pages
        that react to input events and pages that react to key events both see the typing."""
        timeout = min(CLICK_TIMEOUT, self.step_timeout)
        try:
            await self.sandbox.call("fill", handle.fill(text[:-1] if text else "", timeout=timeout * 1000),
                                    timeout=timeout + 2)
            if text:
                await self.sandbox.call("type", self.page.keyboard.type(text[-1]))
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            if "not an <input>" not in str(exc) and "contenteditable" not in str(exc):
                raise
            # A custom widget that listens to keys: focus it and type every key.
            await self.sandbox.call("click", handle.click(timeout=timeout * 1000), timeout=timeout + 2)
            await self.sandbox.call("type", self.page.keyboard.type(text))

    async def press(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        key = normalize_key(action.key) if action.key else None
        if key is None:
            key = key_from_description(action.description)
        if key is None:
            raise NotPerformed(f"no key named in {action.description!r}")
        rec.locator = LocatorInfo(method="key", element=before.focused or "<body>", key=key)
        if not before.text.strip():
            shown = await self.sandbox.read(RENDERED_ELEMENTS, what="counting rendered elements")
            if not shown:
                raise NotPerformed(f"the page is empty: nothing there to receive {key}")
        if looks_first(action, before):
            # "Press Enter in the 'Search' field": put the focus there first when it is not.
            seen = await self.look(action, before, timings)
            target = replace(action, description=without_key(action.description))
            choice = await self.locate(target, seen, timings)
            if choice.element is not None:
                ref = seen.ref(choice.element.index)
                handle = await self.perception.handle(ref) if ref is not None else None
                if handle is not None:
                    # Keys go where the focus is: when it already sits on, inside or around the element
                    # named (a tab list whose tab has the focus), it stays; only elsewhere is it moved.
                    held = False
                    with contextlib.suppress(Exception):
                        held = bool(await self.sandbox.call("focus check", handle.evaluate(HOLDS_FOCUS),
                                                            timeout=min(CLICK_TIMEOUT, self.step_timeout)))
                    if not held:
                        with contextlib.suppress(Exception):
                            await self.sandbox.call("focus", handle.focus(),
                                                    timeout=min(CLICK_TIMEOUT, self.step_timeout))
                    rec.locator = LocatorInfo(**{**choice.info().model_dump(), "method": "key+" + choice.method,
                                                 "key": key, "perception": seen.source,
                                                 "focus": "kept" if held else "moved"})
        rec.attempted = True
        t = time.monotonic()
        try:
            await self.sandbox.call("key press", self.page.keyboard.press(key))
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            raise NotPerformed(f"pressing {key} failed: {_first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

    async def scroll(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        vw, vh = self.viewport(before)[2:]
        amount = max(0.0, action.scroll_page)
        direction = action.direction
        dx = dy = 0.0
        if direction in ("up", "down"):
            dy = amount * vh * (-1 if direction == "up" else 1)
        else:
            dx = amount * vw * (-1 if direction == "left" else 1)
        point = (vw / 2, vh / 2)
        target = "the page"
        if looks_first(action, before):
            # "Scroll down the 'Messages' panel": wheel over that panel if it is clearly there.
            seen = await self.look(action, before, timings)
            scrollables = [e for e in seen.elements if e.scrollable and e.in_viewport and e.bbox]
            if scrollables:
                choice = await self._locate_among(action, scrollables, timings)
                if choice.element is not None and choice.element.bbox:
                    x, y, w, h = choice.element.bbox
                    sx, sy = before.scroll
                    px, py = x - sx + w / 2, y - sy + h / 2
                    if 0 <= px < vw and 0 <= py < vh:
                        point, target = (px, py), choice.element.summary()
        rec.attempted = True
        t = time.monotonic()
        probe_before = await self.sandbox.read(SCROLL_PROBE, list(point), what="reading scroll offsets")
        await self.sandbox.call("mouse move", self.page.mouse.move(*point))
        await self.sandbox.call("wheel", self.page.mouse.wheel(dx, dy))
        probe_after = await self.sandbox.settle(cap=SETTLE_CAP, then=(SCROLL_PROBE, list(point)))
        how = "wheel"
        if probe_after == probe_before and target == "the page":
            # A page that swallows wheel events may still scroll programmatically.
            await self.sandbox.evaluate("([dx, dy]) => window.scrollBy({left: dx, top: dy, behavior: 'instant'})",
                                        [dx, dy], what="scrolling")
            probe_after = await self.sandbox.read(SCROLL_PROBE, list(point), what="reading scroll offsets")
            how = "scrollBy"
        timings["act"] = time.monotonic() - t
        moved = probe_after != probe_before
        info = {"method": "scroll", "element": target, "direction": direction, "delta": [dx, dy], "moved": moved,
                "how": how}
        if not moved:
            shot = await self.sandbox.screenshot()
            if self.last_shot is not None and shot != self.last_shot:
                moved = True  # the page moved its content itself (a custom wheel handler)
                info.update(moved=True, how="page's own wheel handler")
        if not moved:
            gt = ground_truth_moved(self.task, action.index)
            info["ground_truth_moved"] = gt
            rec.locator = LocatorInfo(**{**rec.locator.model_dump(), **info})
            if gt:
                raise NotPerformed(f"scrolling {direction} did not move the view, but the recording's view moved")
            rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "note":
                                         "the view did not move; the recording's did not either (page end)"
                                         if gt is False else "the view did not move; no recording to compare"})
            return
        rec.locator = LocatorInfo(**{**rec.locator.model_dump(), **info})

    async def double_click(self, action: Action, before: PageState, rec: StepFacts,
                           timings: dict[str, float]) -> None:
        await self._pointer(action, before, rec, timings, "double-click")

    async def hover(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        await self._pointer(action, before, rec, timings, "hover")

    async def _pointer(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float],
                       what: str) -> None:
        """Double-click or hover what the description names. Rows and labels that react to a double
        click or a hover are often no interactive element (the listener sits on the list): when no
        element matches the description well, the visible text it quotes is the place."""
        seen = await self.look(action, before, timings)
        choice = await self.locate(action, seen, timings)
        self._record_choice(rec, choice, seen)
        quoted = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(action.description)]
        if choice.element is None or (weak(choice) and quoted):
            box, found = await self._place(choice, seen, " ".join(f"'{q}'" for q in quoted) or action.description)
            rec.attempted = True
            t = time.monotonic()
            try:
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                await self.sandbox.call("mouse move", self.page.mouse.move(x, y))
                if what == "double-click":
                    await self.sandbox.call(what, self.page.mouse.dblclick(x, y))
                rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "element": found})
            finally:
                timings["act"] = time.monotonic() - t
            return
        rec.attempted = True
        ref = seen.ref(choice.element.index)
        handle = await self.perception.handle(ref) if ref is not None else None
        t = time.monotonic()
        try:
            if handle is None:
                raise NotPerformed(f"the element {choice.element.summary()} is no longer on the page")
            timeout = min(CLICK_TIMEOUT, self.step_timeout)
            call = handle.dblclick if what == "double-click" else handle.hover
            try:
                await self.sandbox.call(what, call(timeout=timeout * 1000), timeout=timeout + 2)
            except (PageHung, PageCrashed, BrowserDied):
                raise
            except Exception as exc:
                # Covered or moving: act where the element is, as a user's mouse would.
                await self._mouse_at(handle, choice.element, what, exc, clicks=2 if what == "double-click" else 0)
                rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "fallback": "mouse at the element's box"})
        finally:
            timings["act"] = time.monotonic() - t

    async def _mouse_at(self, handle: Any, element: Element, what: str, exc: BaseException, *, clicks: int) -> None:
        """Move the mouse to the element's box (and click `clicks` times) when Playwright's own
        actionability checks refuse (an element covered by a transparent layer, still animating)."""
        box = None
        with contextlib.suppress(Exception):
            box = await self.sandbox.call("element box", handle.bounding_box(), timeout=min(3.0, self.step_timeout))
        if not box or box["width"] <= 0 or box["height"] <= 0:
            raise NotPerformed(f"{what} failed: {_first_line(exc)}") from None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await self.sandbox.call("mouse move", self.page.mouse.move(x, y))
        if clicks:
            await self.sandbox.call(what, self.page.mouse.click(x, y, click_count=clicks))

    async def select(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        """Pick `parameters.option` in the control the description names: a native <select> takes it
        directly (by label, else value, else the closest label); a custom dropdown is opened by a click
        and the option is then clicked like any element."""
        option = action.option
        if not option:
            raise NotPerformed("the action names no option to select")
        handle, element, _seen = await self._target(action, before, rec, timings)
        t = time.monotonic()
        try:
            if handle is None:
                raise NotPerformed(f"the element {element.summary()} is no longer on the page")
            timeout = min(CLICK_TIMEOUT, self.step_timeout)
            tag = await self.sandbox.call("element tag", handle.evaluate("e => e.tagName"), timeout=timeout + 2)
            if str(tag).upper() == "SELECT":
                labels = await self.sandbox.call("options", handle.evaluate(
                    "e => Array.from(e.options).map(o => [o.label || o.text, o.value])"), timeout=timeout + 2)
                picked = pick_option(option, [(str(a), str(b)) for a, b in labels])
                if picked is None:
                    raise NotPerformed(f"the list {element.summary()} has no option {option!r}")
                await self.sandbox.call("select", handle.select_option(value=picked, timeout=timeout * 1000),
                                        timeout=timeout + 2)
                rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "option": picked})
                return
            await self.sandbox.call("click", handle.click(timeout=timeout * 1000), timeout=timeout + 2)
            await self.sandbox.settle(cap=SETTLE_CAP)
            opened = await self.perception.look(self.viewport(before), timeout=self.step_timeout, hints=[option])
            pick = Action(index=action.index, type="Click", description=f"Click the option '{option}'",
                          logical_assertion="", visual_evaluation_flag=False)
            pool = [e for e in opened.elements if e.kind in ("option", "menuitem", "listitem", "radio", "generic",
                                                              "button", "link", "cell")]
            choice = await self._locate_among(pick, pool or opened.elements, timings)
            if choice.element is None:
                raise NotPerformed(f"the dropdown {element.summary()} shows no option {option!r}: {choice.reason}")
            ref = opened.ref(choice.element.index)
            target = await self.perception.handle(ref) if ref is not None else None
            if target is None:
                raise NotPerformed(f"the option {choice.element.summary()} is no longer on the page")
            await self.sandbox.call("click", target.click(timeout=timeout * 1000), timeout=timeout + 2)
            rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "option": choice.element.summary()})
        except (PageHung, PageCrashed, BrowserDied, NotPerformed):
            raise
        except Exception as exc:
            raise NotPerformed(f"selecting {option!r} failed: {_first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

    async def drag(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        """Press on what the description names, move in small steps to what `parameters.target`
        describes, release: what both HTML5 drag-and-drop and pointer-driven sortable lists react to.
        Cards, list items and drop zones are often no interactive element: when no element matches the
        description well, the visible text it quotes is the place (its box on the screen)."""
        where = action.target
        if not where:
            raise NotPerformed("the action names no place to drop on")
        seen = await self.look(action, before, timings)
        choice = await self.locate(action, seen, timings)
        self._record_choice(rec, choice, seen)
        drop_words = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(where)]
        source_words = " ".join(f"'{p}'" for m in QUOTE_RE.finditer(action.description)
                                for p in [next(g for g in m.groups() if g is not None)] if p not in drop_words)
        a, what = await self._place(choice, seen, source_words or action.description)
        rec.attempted = True
        x0, y0 = a["x"] + a["width"] / 2, a["y"] + a["height"] / 2
        edge, place = drop_edge(where)
        if place is None:
            # "the top of the list": the first (or last) item of the list the dragged element is in
            b = await self.sandbox.read(LIST_EDGE, [x0, y0, edge], what="finding the list's ends")
            if not b:
                raise NotPerformed(f"the dragged element is in no list, so {where!r} names no place")
            target = f"the {edge} of its list"
        else:
            drop = Action(index=action.index, type="Click", description=f"Drop on {place}", logical_assertion="",
                          visual_evaluation_flag=False)
            pool = [e for e in seen.elements if choice.element is None or e.index != choice.element.index]
            b, target = await self._place(await self._locate_among(drop, pool, timings), seen, place)
        t = time.monotonic()
        try:
            x1 = b["x"] + b["width"] / 2
            # above / before: a quarter down the target; below / after: a quarter up from its bottom
            y1 = b["y"] + b["height"] * {"top": 0.25, "bottom": 0.75}.get(edge, 0.5)
            mouse = self.page.mouse
            await self.sandbox.call("mouse move", mouse.move(x0, y0))
            await self.sandbox.call("mouse down", mouse.down())
            await self.sandbox.call("mouse move", mouse.move(x0 + 4, y0 + 4, steps=2))
            await self.sandbox.call("mouse move", mouse.move(x1, y1, steps=12))
            await self.sandbox.call("mouse up", mouse.up())
            rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "element": what, "target": target})
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            raise NotPerformed(f"dragging failed: {_first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

    async def _place(self, choice: Choice, seen: Perceived, words: str) -> tuple[dict[str, float], str]:
        """The on-screen box of the element `choice` found (scrolled into view), or of the visible text
        `words` quote when the choice is weak or empty; NotPerformed when neither is there."""
        timeout = min(CLICK_TIMEOUT, self.step_timeout)
        quoted = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(words)]
        if choice.element is not None and not weak(choice) and (not quoted or choice.score is None or
                                                                any(is_label_of(q, choice.element) for q in quoted)):
            # An element whose text merely contains the quoted words (the list around 'Item 1') is not
            # the place: the text itself is.
            ref = seen.ref(choice.element.index)
            handle = await self.perception.handle(ref) if ref is not None else None
            if handle is not None:
                with contextlib.suppress(Exception):
                    await self.sandbox.call("scroll", handle.scroll_into_view_if_needed(timeout=timeout * 1000),
                                            timeout=timeout + 2)
                box = await self.sandbox.call("element box", handle.bounding_box(), timeout=timeout + 2)
                if box and box["width"] > 0 and box["height"] > 0:
                    return box, choice.element.summary()
        spot = anchor_for(words, seen.anchors())
        if spot is None:
            raise NotPerformed(f"nothing on the page matches {words!r}" + (f": {choice.reason}" if choice.reason else ""))
        sx, sy = await self.sandbox.read("() => [scrollX, scrollY]", what="reading scroll offsets")
        x, y, w, h = spot.bbox
        return {"x": x - sx, "y": y - sy, "width": w, "height": h}, f"the text {spot.text!r}"

    async def _locate_among(self, action: Action, pool: list[Element], timings: dict[str, float]) -> Choice:
        t = time.monotonic()
        choice = await self.locator.locate(action, pool, self.last_shot)
        timings["locate"] = time.monotonic() - t
        return choice


# ---------------------------------------------------------------- entry point


async def replay_task(browser: Browser, task: Task, page_dir: Path, out_dir: Path, *, locator: Locator,
                      step_timeout: float = 10.0, load_timeout: float = 15.0,
                      use_browser_use: bool = True,
                      on_step: Callable[[ReplayStep], None] | None = None) -> ReplayResult:
    """Replay every action of `task` on the page in `page_dir`; screenshots go to `out_dir`.
    `on_step` is called with each executed step as soon as its state is captured (the evaluator starts
    judging it while the next action replays).

    Never raises for the page's faults (hangs, crashes, missing page, actions that cannot be
    performed): those are in the steps. `result.error` is set only when the browser or the locator
    model failed (infrastructure).
    """
    start = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ReplayResult(initial=PageState(screenshot=None), steps=[])
    sandbox: PageSandbox | None = None
    replayer: Replayer | None = None
    try:
        t = time.monotonic()
        sandbox = await browser.open_sandbox(Path(page_dir), task.width, task.height, step_timeout=step_timeout,
                                             load_timeout=load_timeout)
        result.sandbox["phases"] = {"open": round(time.monotonic() - t, 3)}
        replayer = Replayer(sandbox, task, out_dir, locator, step_timeout=step_timeout,
                            use_browser_use=use_browser_use, on_step=on_step)
        await replayer.run(result)
    except InfrastructureError as exc:
        result.error = str(exc)[:500] or type(exc).__name__
        _complete(result, task, f"replay stopped: {result.error}")
    except Exception as exc:
        # Anything else that escapes is the harness's or Chromium's failure, never the page's.
        if sandbox is not None and not browser.is_alive():
            result.error = f"Chromium died during the replay: {_first_line(exc)}"
        else:
            log.exception("task %s: replay failed", task.id)
            result.error = f"replay failed: {type(exc).__name__}: {_first_line(exc)}"
        _complete(result, task, f"replay stopped: {result.error}")
    finally:
        t = time.monotonic()
        if replayer is not None:
            await replayer.perception.close()
            if replayer.perception.notes:
                result.sandbox["perception_notes"] = list(dict.fromkeys(replayer.perception.notes))[:5]
        if sandbox is not None:
            await sandbox.close()
            result.sandbox = {**sandbox.info(), **result.sandbox}
        if "phases" in result.sandbox:
            result.sandbox["phases"]["close"] = round(time.monotonic() - t, 3)
        result.seconds = round(time.monotonic() - start, 3)
    return result


def _complete(result: ReplayResult, task: Task, reason: str) -> None:
    """Give every action without a step one, so eval.json always has one entry per action."""
    done = {s.record.index for s in result.steps}
    state = result.steps[-1].after or result.steps[-1].before if result.steps else result.initial
    for action in task.actions:
        if action.index in done:
            continue
        rec = StepFacts(index=action.index, type=action.type, description=action.description,
                        not_reached=reason[:500])
        result.steps.append(ReplayStep(record=rec, before=state, after=None))
    result.steps.sort(key=lambda s: s.record.index)
    if result.stopped_at is None:
        missing = [a.index for a in task.actions if a.index not in done]
        result.stopped_at = missing[0] if missing else None
