"""Performing one action on the page: the dispatch by action type, and click, type, press and select.

Apart from the loop (agent.py), which only asks for an action to be performed and then captures the
page, and from the mouse gestures (gestures.py: scroll, double-click, hover, drag), which aim at places
as much as at elements. Every action acts through Playwright on the element the finder gives
(element_finder.py); a click or a fill that Playwright refuses on a live page falls back to
browser-use's own. An action that cannot be performed raises NotPerformed (the page's shortcoming).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from iwrbench.data.tasks import Action, Task
from iwrbench.locate.description import parse_description, text_from_description
from iwrbench.locate.element import Element
from iwrbench.locate.keys import key_from_description, normalize_key, without_key
from iwrbench.locate.words import normalize
from iwrbench.perception.perceived import Perceived
from iwrbench.records.evaluation import LocatorInfo, StepFacts
from iwrbench.replay.capture import SETTLE_CAP
from iwrbench.replay.element_finder import CLICK_TIMEOUT, ElementFinder, NotPerformed, first_line, looks_first
from iwrbench.replay.gestures import Gestures
from iwrbench.replay.page_scripts import HOLDS_FOCUS, RENDERED_ELEMENTS
from iwrbench.replay.states import PageState
from iwrbench.sandbox.faults import BrowserDied, PageCrashed, PageHung
from iwrbench.sandbox.page_sandbox import PageSandbox


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


class ActionPerformer:
    """Performs the actions of one task on one sandboxed page; owns the mouse gestures."""

    def __init__(self, sandbox: PageSandbox, finder: ElementFinder, task: Task, *, step_timeout: float):
        self.sandbox = sandbox
        self.page = sandbox.page
        self.finder = finder
        self.perception = finder.perception
        self.step_timeout = step_timeout
        self.gestures = Gestures(sandbox, finder, task, step_timeout=step_timeout)

    async def perform(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        if action.type == "Click":
            await self.click(action, before, rec, timings)
        elif action.type == "Type":
            await self.type(action, before, rec, timings)
        elif action.type == "Press":
            await self.press(action, before, rec, timings)
        elif action.type == "Scroll":
            await self.gestures.scroll(action, before, rec, timings)
        elif action.type == "DoubleClick":
            await self.gestures.double_click(action, before, rec, timings)
        elif action.type == "Hover":
            await self.gestures.hover(action, before, rec, timings)
        elif action.type == "Select":
            await self.select(action, before, rec, timings)
        elif action.type == "Drag":
            await self.gestures.drag(action, before, rec, timings)
        else:  # evaluation refuses such a task as a data error before it gets here
            raise NotPerformed(f"the harness cannot perform action type {action.type!r}")

    async def click(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        handle, element, seen = await self.finder.target(action, before, rec, timings)
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
        reason = exc if isinstance(exc, NotPerformed) else f"{what} failed: {first_line(exc)}"
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
            raise NotPerformed(f"{reason}; browser-use's {what} failed too: {first_line(exc2)}") from None
        rec.locator = LocatorInfo(**{**rec.locator.model_dump(), "fallback": f"browser-use {what} ({reason})"[:300]})

    async def type(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        text = action.text if action.text is not None else text_from_description(action.description)
        if text is None:
            raise NotPerformed("the action gives no text to type")
        seen = await self.finder.look(action, before, timings)
        choice = await self.finder.locate(action, seen, timings)
        self.finder.record_choice(rec, choice, seen)
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
                raise NotPerformed(f"typing failed: {first_line(exc)}") from None
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
            seen = await self.finder.look(action, before, timings)
            target = replace(action, description=without_key(action.description))
            choice = await self.finder.locate(target, seen, timings)
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
            raise NotPerformed(f"pressing {key} failed: {first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

    async def select(self, action: Action, before: PageState, rec: StepFacts, timings: dict[str, float]) -> None:
        """Pick `parameters.option` in the control the description names: a native <select> takes it
        directly (by label, else value, else the closest label); a custom dropdown is opened by a click
        and the option is then clicked like any element."""
        option = action.option
        if not option:
            raise NotPerformed("the action names no option to select")
        handle, element, _seen = await self.finder.target(action, before, rec, timings)
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
            opened = await self.perception.look(self.finder.viewport(before), timeout=self.step_timeout, hints=[option])
            pick = Action(index=action.index, type="Click", description=f"Click the option '{option}'",
                          logical_assertion="", visual_evaluation_flag=False)
            pool = [e for e in opened.elements if e.kind in ("option", "menuitem", "listitem", "radio", "generic",
                                                              "button", "link", "cell")]
            choice = await self.finder.locate_among(pick, pool or opened.elements, timings)
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
            raise NotPerformed(f"selecting {option!r} failed: {first_line(exc)}") from None
        finally:
            timings["act"] = time.monotonic() - t

