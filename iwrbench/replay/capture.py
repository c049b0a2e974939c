"""Capturing the page's state after an action: what the judges read (PageState) and the screenshot.

Apart from the loop (agent.py) and the actions because it is the replay's record-keeping: how long a
page may take to settle, what the state script (js/page_state.js) is asked for, and how its answer
becomes a PageState. The capture also starts the next action's look at the page (element_finder.py)
while Chromium takes the screenshot, and hands the screenshot to the model locator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Action
from iwrbench.layout import step_screenshot_name
from iwrbench.locate.description import text_from_description
from iwrbench.replay.element_finder import ElementFinder
from iwrbench.replay.page_scripts import STATE_SCRIPT
from iwrbench.replay.states import PageState
from iwrbench.sandbox.page_sandbox import PageSandbox

# Seconds an action may take to settle: its navigation's load, the page's requests, frame callbacks,
# animations and one-shot timers (debounced searches, autocomplete delays). A page that is quiet sooner
# is captured sooner (usually after one or two frames); the cap only bounds a page that never is.
SETTLE_CAP = 3.0
TEXT_CAP = 100_000  # characters of innerText kept per state


def typed_text(action: Action) -> str:
    """The text a Type action types ('' for other actions): the state read after it marks a password
    field that holds it, so the judge can tell the typing arrived though the value is masked."""
    if action.type != "Type":
        return ""
    text = action.text if action.text is not None else text_from_description(action.description)
    return text or ""



class StateCapture:
    """Reads one sandboxed page's state and screenshot after each action."""

    def __init__(self, sandbox: PageSandbox, finder: ElementFinder, out_dir: Path):
        self.sandbox = sandbox
        self.finder = finder
        self.out_dir = out_dir

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
        if then is not None:
            self.finder.look_ahead(then, state)
        self.finder.last_shot = await self.sandbox.screenshot(state.screenshot)
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

