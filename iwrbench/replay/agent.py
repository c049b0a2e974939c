"""Replaying a task's recorded actions on a candidate page: perceive, locate, act, capture.

For each action: look at the page (browser-use's element list), pick the element the description
names (the offline locator or a model), act on it through Playwright (browser-use's own click/fill
as the fallback), wait for the page to settle (events, not sleeps), and capture the state after it
(screenshot step_<k>.png, visible text, form values, scroll, focus). The replay stops at the first
action that cannot be performed. The replay records facts only (StepFacts, written to trace.json by
the evaluator); the judges (judges/) decide whether each action's assertion holds.

A page that hangs or crashes is the page's fault and is recorded in its steps; `ReplayResult.error`
is only for infrastructure failures (Chromium gone, the locator model unreachable).

The replay's parts: agent.py (here) runs the loop over a task's actions and is the entry
(`replay_task`); element_finder.py looks at the page and finds the element an action names;
actions.py and gestures.py perform one action; capture.py reads the page's state after it;
page_scripts.py holds the JavaScript they run in the page (js/*.js). The locators themselves are the
locate stage's (locate/offline.py, locate/model_locator.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from iwrbench.data.tasks import Action, Task
from iwrbench.errors import InfrastructureError
from iwrbench.layout import step_screenshot_name
from iwrbench.locate.protocol import Locator
from iwrbench.perception.perception import Perception
from iwrbench.records.evaluation import StepFacts
from iwrbench.replay.actions import ActionPerformer
from iwrbench.replay.capture import SETTLE_CAP, STATE_SCRIPT, TEXT_CAP, StateCapture, typed_text
from iwrbench.replay.element_finder import ElementFinder, NotPerformed, first_line
from iwrbench.replay.states import PageState, ReplayResult, ReplayStep
from iwrbench.sandbox.browser import Browser
from iwrbench.sandbox.faults import BrowserDied, PageCrashed, PageHung, PageScriptError
from iwrbench.sandbox.page_sandbox import PageSandbox

log = logging.getLogger("iwrbench.agent")


class Replayer:
    """Replays one task on one sandboxed page: the loop over its actions. The finder (element_finder.py),
    the capture of states (capture.py) and the actions (actions.py) are its collaborators."""

    def __init__(self, sandbox: PageSandbox, task: Task, out_dir: Path, locator: Locator, *,
                 step_timeout: float, use_browser_use: bool = True,
                 on_step: Callable[[ReplayStep], None] | None = None):
        self.on_step = on_step
        self.sandbox = sandbox
        self.task = task
        self.step_timeout = step_timeout
        self.perception = Perception(sandbox, use_browser_use=use_browser_use)
        self.finder = ElementFinder(sandbox, self.perception, locator, task, step_timeout=step_timeout)
        self.states = StateCapture(sandbox, self.finder, out_dir)
        self.actions = ActionPerformer(sandbox, self.finder, task, step_timeout=step_timeout)

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
            await self.finder.drop_ahead()

    async def _replay(self, result: ReplayResult, phases: dict[str, float]) -> None:
        actions = self.task.actions
        t = time.monotonic()
        try:
            result.initial = await self.states.capture(0, then=actions[0] if actions else None)
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
                await self.finder.drop_ahead()
            elif step.after is not None:
                state = step.after

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
            await self.actions.perform(action, before, rec, timings)
            t = time.monotonic()
            data = await self.sandbox.settle(cap=SETTLE_CAP, navigated=self.sandbox.navigations != navs,
                                             then=(STATE_SCRIPT, [TEXT_CAP, typed_text(action)]))
            timings["settle"] = time.monotonic() - t
            rec.settle = {"cap": SETTLE_CAP, "capped": self.sandbox.last_settle == "cap",
                          "seconds": round(timings["settle"], 4)}
            t = time.monotonic()
            after = await self.states.capture(action.index, then=then, data=data)
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
            result.error = f"Chromium died during the replay: {first_line(exc)}"
        else:
            log.exception("task %s: replay failed", task.id)
            result.error = f"replay failed: {type(exc).__name__}: {first_line(exc)}"
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
