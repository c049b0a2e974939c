"""Finding what an action acts on: the page's element list, the locator's choice, a handle on it.

The replay's eyes, shared by every kind of action (actions.py, gestures.py) and by the capture of page
states (capture.py), which starts the next action's look early. It looks at the page (browser-use's
element list, through perception/), asks the locator (offline or a model) for the element the
description names, records the choice in the step's facts, and turns it into a Playwright handle: for
a pointer action, the part of the element the user pointed at (a hidden control's label, the quoted
item inside a list). When no element fits a gesture well, the place is the visible text the
description quotes (`place`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Sequence
from typing import Any

from iwrbench.data.tasks import Action, Task
from iwrbench.locate.description import QUOTE_RE, parse_description
from iwrbench.locate.element import Element
from iwrbench.locate.keys import without_key
from iwrbench.locate.protocol import Choice, Locator
from iwrbench.locate.scoring import is_label_of
from iwrbench.locate.spatial import Anchor
from iwrbench.locate.words import normalize
from iwrbench.perception.perceived import Perceived
from iwrbench.perception.perception import Perception
from iwrbench.records.evaluation import LocatorInfo, StepFacts
from iwrbench.replay.page_scripts import HIDDEN_CONTROL_LABEL, QUOTED_PART
from iwrbench.replay.states import PageState
from iwrbench.sandbox.faults import BrowserDied, PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox

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


class NotPerformed(Exception):
    """The action could not be performed on this page (the page's shortcoming, recorded as such)."""


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type when it has none), for a step's error."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


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


class ElementFinder:
    """Looks at one sandboxed page and finds the elements a task's actions name."""

    def __init__(self, sandbox: PageSandbox, perception: Perception, locator: Locator, task: Task, *,
                 step_timeout: float):
        self.sandbox = sandbox
        self.perception = perception
        self.locator = locator
        self.task = task
        self.step_timeout = step_timeout
        self.last_shot: bytes | None = None  # the latest captured state's screenshot (set by capture.py)
        self._ahead: tuple[int, asyncio.Future[Perceived]] | None = None  # the next action's look, started early

    def viewport(self, state: PageState) -> tuple[float, float, float, float]:
        vw, vh = (state.extra.get("viewport") or [self.task.width, self.task.height])[:2]
        return (state.scroll[0], state.scroll[1], float(vw), float(vh))

    # ------------------------------------------------------------ looking at the page

    def look_ahead(self, then: Action, state: PageState) -> None:
        """Start the look `then` will need on the page in `state`, when it starts by looking."""
        if looks_first(then, state):
            self._ahead = (then.index, asyncio.ensure_future(self._perceive(then, state)))

    async def drop_ahead(self) -> None:
        """Cancel a look started for an action that will not run (the replay stopped or ended)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await _cancel_look(ahead[1])

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

    async def locate_among(self, action: Action, pool: list[Element], timings: dict[str, float]) -> Choice:
        t = time.monotonic()
        choice = await self.locator.locate(action, pool, self.last_shot)
        timings["locate"] = time.monotonic() - t
        return choice

    # ------------------------------------------------------------ the element acted on

    def record_choice(self, rec: StepFacts, choice: Choice, seen: Perceived) -> None:
        info = choice.info()
        extra = {"perception": seen.source}
        if seen.notes:
            extra["perception_notes"] = list(seen.notes)
        rec.locator = LocatorInfo(**{**info.model_dump(), **extra})

    async def target(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float],
                      ) -> tuple[Any, Element, Perceived]:
        """Locate the element an action names and get a Playwright handle on it."""
        seen = await self.look(action, before, timings)
        choice = await self.locate(action, seen, timings)
        self.record_choice(rec, choice, seen)
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

    async def place(self, choice: Choice, seen: Perceived, words: str) -> tuple[dict[str, float], str]:
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

