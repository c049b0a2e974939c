"""Mouse gestures: scroll, double-click, hover and drag, aimed at places as much as at elements.

Apart from the other actions (actions.py) because their target is often no interactive element: a
panel under the wheel, a row whose listener sits on the list, a card dragged to "the top of the list"
or onto a column. When no element matches the description well, the visible text it quotes is the
place (ElementFinder.place); a Scroll that moves nothing is checked against the recording's own view.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

from iwrbench.data.tasks import Action, Task
from iwrbench.locate.description import QUOTE_RE
from iwrbench.locate.element import Element
from iwrbench.records.evaluation import LocatorInfo, StepFacts
from iwrbench.replay.capture import SETTLE_CAP
from iwrbench.replay.element_finder import (
    CLICK_TIMEOUT,
    ElementFinder,
    NotPerformed,
    first_line,
    looks_first,
    weak,
)
from iwrbench.replay.page_scripts import LIST_EDGE, SCROLL_PROBE
from iwrbench.replay.states import PageState
from iwrbench.sandbox.faults import BrowserDied, PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox

log = logging.getLogger("iwrbench.agent")

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


class Gestures:
    """Performs the mouse gestures of one task's actions on one sandboxed page."""

    def __init__(self, sandbox: PageSandbox, finder: ElementFinder, task: Task, *, step_timeout: float):
        self.sandbox = sandbox
        self.page = sandbox.page
        self.finder = finder
        self.perception = finder.perception
        self.task = task
        self.step_timeout = step_timeout

    async def scroll(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        vw, vh = self.finder.viewport(before)[2:]
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
            seen = await self.finder.look(action, before, timings)
            scrollables = [e for e in seen.elements if e.scrollable and e.in_viewport and e.bbox]
            if scrollables:
                choice = await self.finder.locate_among(action, scrollables, timings)
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
            if self.finder.last_shot is not None and shot != self.finder.last_shot:
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
        seen = await self.finder.look(action, before, timings)
        choice = await self.finder.locate(action, seen, timings)
        self.finder.record_choice(rec, choice, seen)
        quoted = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(action.description)]
        if choice.element is None or (weak(choice) and quoted):
            box, found = await self.finder.place(choice, seen, " ".join(f"'{q}'" for q in quoted) or action.description)
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
            raise NotPerformed(f"{what} failed: {first_line(exc)}") from None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await self.sandbox.call("mouse move", self.page.mouse.move(x, y))
        if clicks:
            await self.sandbox.call(what, self.page.mouse.click(x, y, click_count=clicks))

    async def drag(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        """Press on what the description names, move in small steps to what `parameters.target`
        describes, release: what both HTML5 drag-and-drop and pointer-driven sortable lists react to.
        Cards, list items and drop zones are often no interactive element: when no element matches the
        description well, the visible text it quotes is the place (its box on the screen)."""
        where = action.target
        if not where:
            raise NotPerformed("the action names no place to drop on")
        seen = await self.finder.look(action, before, timings)
        choice = await self.finder.locate(action, seen, timings)
        self.finder.record_choice(rec, choice, seen)
        drop_words = [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(where)]
        source_words = " ".join(f"'{p}'" for m in QUOTE_RE.finditer(action.description)
                                for p in [next(g for g in m.groups() if g is not None)] if p not in drop_words)
        a, what = await self.finder.place(choice, seen, source_words or action.description)
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
            b, target = await self.finder.place(await self.finder.locate_among(drop, pool, timings), seen, place)
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
            raise NotPerformed(f"dragging failed: {first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

