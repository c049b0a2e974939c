"""Replaying recorded actions on pages: perceive, locate, act, capture; sample set; the LLM locator."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from iwrbench.data.tasks import Task, load_tasks
from iwrbench.judges.base import not_executed
from iwrbench.locate.model_locator import LLMLocator, parse_index
from iwrbench.locate.offline import OfflineLocator
from iwrbench.records.trace import build_trace
from iwrbench.replay.actions import pick_option
from iwrbench.replay.agent import Replayer, replay_task
from iwrbench.sandbox.browser import Browser
from tests.fixtures_replay import (
    BROKEN_DOM_PAGE,
    FRAMES_KEYS_PAGE,
    MORE_ACTIONS_PAGE,
    PAGES,
    action,
    click,
    press,
    replay_task_of,
    run,
    sample_oracle_dir,
    sample_selectors,
    scroll,
    type_,
    write_page,
)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.jsonl"


async def _replay(b: Browser, task: Task, page: Path, out: Path, **kw):
    kw.setdefault("locator", OfflineLocator())
    kw.setdefault("step_timeout", 10.0)
    kw.setdefault("load_timeout", 10.0)
    return await replay_task(b, task, page, out, **kw)


def _executed(result) -> list[bool]:
    return [s.record.executed for s in result.steps]


# ---------------------------------------------------------------- small pages


def test_replays_clicks_typing_keys_and_scrolls(tmp_path: Path):
    tabs = replay_task_of(tmp_path / "tabs", [
        click("Click the 'Specs' tab"), click("Click the 'Add one' button"), click("Click the 'Add one' button"),
        click("Click the menu icon in the header")], task_id="tabs")
    form = replay_task_of(tmp_path / "form", [
        type_("Type 'Ada Lovelace' into the 'Full name' field", "Ada Lovelace"),
        type_("Type the email address into the Email field", "ada@example.com"),
        click("Click the 'I agree to the terms' checkbox"), click("Click the 'Send' button")], task_id="form")
    todo = replay_task_of(tmp_path / "todo", [
        type_("Type 'Eggs' into the 'What needs to be done?' field", "Eggs"), press("Press Enter to add it"),
        click("Click the checkbox next to 'Milk'")], task_id="todo")
    long = replay_task_of(tmp_path / "long", [
        scroll("Scroll down the page"), click("Click the 'Load more stories' button"),
        scroll("Scroll up a little", direction="up", page=0.5)], task_id="long")

    async def go():
        out = {}
        async with Browser.launch(name="agent-test") as b:
            for task in (tabs, form, todo, long):
                page = write_page(tmp_path / "pages" / task.id, PAGES[task.id])
                out[task.id] = await _replay(b, task, page, tmp_path / "out" / task.id)
        return out

    results = run(go())
    for name, r in results.items():
        assert r.error is None, name
        assert all(_executed(r)), (name, [s.record.error for s in r.steps])
        assert r.stopped_at is None
        assert (tmp_path / "out" / name / "step_0.png").is_file()
        for s in r.steps:
            assert s.record.screenshot == f"step_{s.record.index}.png"
            assert (tmp_path / "out" / name / s.record.screenshot).is_file()
            assert "assertion" not in type(s.record).model_fields  # the replay records facts; judges decide
            assert s.record.attempted and "total" in s.record.timings
            assert s.after is not None and s.after.screenshot is not None
    r = results["tabs"]
    assert "Battery 5000 mAh" in r.steps[0].after.text and "Battery" not in r.initial.text
    assert "Count: 2" in r.steps[2].after.text
    assert r.steps[0].record.locator.method == "offline" and "Specs" in r.steps[0].record.locator.element
    assert r.steps[0].record.locator.perception == "browser-use"
    assert "Open menu" in r.steps[3].record.locator.element
    assert r.steps[1].before is r.steps[0].after  # the state after one action is the state before the next
    r = results["form"]
    assert r.steps[1].after.inputs["Email"] == "ada@example.com"
    assert r.steps[2].after.inputs["I agree to the terms"] == "checked"
    assert "Thanks Ada Lovelace <ada@example.com>" in r.steps[3].after.text
    r = results["todo"]
    assert r.steps[0].after.inputs["New todo"] == "Eggs"
    assert r.steps[1].record.locator.method == "key" and "New todo" in r.steps[1].record.locator.element
    assert "Eggs" in r.steps[1].after.text and "3 left" in r.steps[1].after.text
    assert r.steps[2].after.inputs["Milk"] == "checked" and "2 left" in r.steps[2].after.text
    r = results["long"]
    assert r.initial.scroll == (0.0, 0.0)
    assert r.steps[0].after.scroll[1] == pytest.approx(720, abs=2)
    assert "Loaded" in r.steps[1].after.text  # the button was below the fold: scrolled into view first
    y_before_up = r.steps[1].after.scroll[1]
    assert r.steps[2].after.scroll[1] == pytest.approx(y_before_up - 360, abs=2)


def test_blank_missing_and_unmatched_pages_fail_at_the_first_action(tmp_path: Path):
    task = replay_task_of(tmp_path / "t", [type_("Type 'x' into the search box", "x"), click("Click 'Go'")])
    keys = replay_task_of(tmp_path / "k", [press("Press the right arrow", "ArrowRight"), click("Click 'New game'")],
                          task_id="k")
    vague = replay_task_of(tmp_path / "v", [click("Click the save button"), click("Click 'Reset'")], task_id="v")
    pages = {"missing": write_page(tmp_path / "missing", None), "empty": write_page(tmp_path / "empty", ""),
             "other": write_page(tmp_path / "other", "<h1>Something else</h1><button>Unrelated</button>"),
             "twosaves": write_page(tmp_path / "twosaves", "<button>Save draft</button><button>Save copy</button>"
                                                          "<button>Reset</button>")}

    async def go():
        out = []
        async with Browser.launch(name="blank-test") as b:
            for name in ("missing", "empty", "other"):
                out.append((name, await _replay(b, task, pages[name], tmp_path / "o" / name)))
            out.append(("keys-on-blank", await _replay(b, keys, pages["missing"], tmp_path / "o" / "kb")))
            out.append(("ambiguous", await _replay(b, vague, pages["twosaves"], tmp_path / "o" / "amb")))
        return out

    for name, r in run(go()):
        assert r.error is None, name  # a page's shortcomings are never infrastructure errors
        assert r.stopped_at == 1, name
        first, second = r.steps
        assert not first.record.executed and first.after is None and first.record.error, name
        assert not_executed(first).verdict == "fail" and not_executed(first).reason.startswith("not performed")
        assert not second.record.attempted and "not reached" in second.record.not_reached
        assert "not reached" in not_executed(second).reason
        assert r.initial.screenshot is not None and r.initial.screenshot.is_file(), name
        if name in ("missing", "empty"):
            assert r.sandbox["page_missing"]
        if name == "ambiguous":
            assert "ambiguous" in first.record.error


def test_scroll_at_the_page_end_follows_the_recording(tmp_path: Path):
    short = write_page(tmp_path / "short", "<h1>Short page</h1><p>Nothing below.</p>")
    same = replay_task_of(tmp_path / "same", [scroll("Scroll down")], task_id="same",
                          checkpoints={0: (255, 255, 255), 1: (255, 255, 255)})
    moved = replay_task_of(tmp_path / "moved", [scroll("Scroll down")], task_id="moved",
                           checkpoints={0: (255, 255, 255), 1: (20, 20, 20)})

    async def go():
        async with Browser.launch(name="scroll-test") as b:
            return (await _replay(b, same, short, tmp_path / "o1"), await _replay(b, moved, short, tmp_path / "o2"))

    r_same, r_moved = run(go())
    assert r_same.steps[0].record.executed
    assert r_same.steps[0].record.locator.ground_truth_moved is False
    assert not r_moved.steps[0].record.executed
    assert "did not move" in r_moved.steps[0].record.error


def test_browser_use_click_is_the_fallback_for_a_covered_element(tmp_path: Path):
    html = """<button id=b onclick="document.getElementById('o').textContent='clicked'">Order now</button>
    <p id=o>idle</p><div style="position:fixed;inset:0;background:transparent"></div>"""
    task = replay_task_of(tmp_path / "t", [click("Click the 'Order now' button")])

    async def go():
        async with Browser.launch(name="fallback-test") as b:
            return await _replay(b, task, write_page(tmp_path / "p", html), tmp_path / "o")

    r = run(go())
    step = r.steps[0].record
    assert step.executed, step.error
    assert step.locator.fallback.startswith("browser-use click")
    # like a user's click, browser-use's lands on the overlay on top: the page does not react
    assert "idle" in r.steps[0].after.text


# ---------------------------------------------------------------- the LLM locator


def test_parse_index_tolerates_prose():
    assert parse_index('Sure! {"index": 12}') == (12, False, "")
    assert parse_index('```json\n{"index": "[7]"}\n```')[0] == 7
    assert parse_index('{"index": null, "need_screenshot": true}') == (None, True, "")
    assert parse_index("I would pick index 4.")[0] == 4
    assert parse_index("no idea")[0] is None


def test_llm_locator_picks_from_the_element_list_and_asks_for_a_screenshot(tmp_path: Path, llm_env):
    from iwrbench.models.registry import get_model

    fake = llm_env

    def respond(req):
        if not req.images:  # every step: the list alone is "not enough", the screenshot follows
            return '{"index": null, "need_screenshot": true}'
        wanted = "Specs" if "Specs" in req.text.split("Description:")[1].splitlines()[0] else "Add one"
        for line in req.text.splitlines():
            m = re.match(r"\s*(?:\|[^|]*\|)?\s*\[(\d+)\]", line)
            if m:
                last = int(m.group(1))
            elif line.strip() == wanted:
                return f'Here: {{"index": {last}}}'
        return '{"index": null, "reason": "not found"}'

    fake.set_responder(respond)
    task = replay_task_of(tmp_path / "t", [click("Click the 'Specs' tab"), click("Click the 'Add one' button")])

    async def go():
        model = get_model("openai/gpt-test", allow_builtin=False)
        async with Browser.launch(name="llm-test") as b:
            return await _replay(b, task, write_page(tmp_path / "p", PAGES["tabs"]), tmp_path / "o",
                                 locator=LLMLocator(model))

    r = run(go())
    assert r.error is None
    assert _executed(r) == [True, True], [s.record.error for s in r.steps]
    assert r.steps[0].record.locator.method == "llm" and "Specs" in r.steps[0].record.locator.element
    assert "Battery" in r.steps[0].after.text and "Count: 1" in r.steps[1].after.text
    assert len(fake.requests) == 4
    first = fake.requests[0]
    assert "[" in first.text and "Specs" in first.text and not first.images  # text first, no image
    assert len(fake.requests[1].images) == 1
    assert fake.requests[1].images[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failing_locator_model_is_an_infrastructure_error(tmp_path: Path, llm_env):
    from iwrbench.models.registry import get_model
    from tests.fakes.llm_server import Fault

    llm_env.set_responder(lambda req: Fault.status(401, "invalid api key"))
    task = replay_task_of(tmp_path / "t", [click("Click the 'Specs' tab"), click("Click 'Reset'")])

    async def go():
        model = get_model("openai/gpt-test", allow_builtin=False)
        async with Browser.launch(name="llm-fail-test") as b:
            return await _replay(b, task, write_page(tmp_path / "p", PAGES["tabs"]), tmp_path / "o",
                                 locator=LLMLocator(model))

    r = run(go())
    assert r.error and "locator model" in r.error
    assert len(r.steps) == 2 and not any(_executed(r))
    assert all(not_executed(s).verdict == "fail" for s in r.steps)


# ---------------------------------------------------------------- the sample set


def _sample_tasks() -> list[Task]:
    if not SAMPLE.is_file():
        pytest.skip("data/sample.jsonl is not there yet")
    return [t for t in load_tasks(SAMPLE) if t.reference_page is not None]


MATCHES = "(el, sel) => el.matches(sel) || !!el.closest(sel) || !!el.querySelector(sel)"


class SelectorCheck:
    """Checks every element the replayer's finder locates against the selector the recording used, and
    the focus before every key press (it wraps `replayer.finder.locate` and `replayer.actions.press`)."""

    def __init__(self, replayer: Replayer, selectors: list[str | None]):
        self.selectors = selectors
        self.wrong: list[str] = []
        self.page = replayer.sandbox.page
        self.perception = replayer.perception
        self._locate, self._press = replayer.finder.locate, replayer.actions.press
        replayer.finder.locate = self.locate
        replayer.actions.press = self.press

    async def locate(self, action, seen, timings):
        choice = await self._locate(action, seen, timings)
        sel = self.selectors[action.index - 1] if action.index <= len(self.selectors) else None
        if choice.element is not None and sel:
            handle = await self.perception.handle(seen.ref(choice.element.index))
            ok = handle is not None and await handle.evaluate(MATCHES, sel)
            if not ok:
                self.wrong.append(f"action {action.index}: picked {choice.element.summary()}, recorded {sel}")
        return choice

    async def press(self, action, before, rec, timings):
        sel = self.selectors[action.index - 1] if action.index <= len(self.selectors) else None
        if sel:
            focused_ok = await self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)",
                                                  sel)
            if not focused_ok:
                self.wrong.append(f"action {action.index}: focus is not on {sel}")
        await self._press(action, before, rec, timings)


async def _replay_checked(b: Browser, task: Task, page: Path, out: Path, selectors: list[str | None]):
    from iwrbench.replay.states import PageState, ReplayResult

    sandbox = await b.open_sandbox(page, task.width, task.height, step_timeout=10, load_timeout=10)
    result = ReplayResult(initial=PageState(screenshot=None), steps=[])
    replayer = Replayer(sandbox, task, out, OfflineLocator(), step_timeout=10)
    check = SelectorCheck(replayer, selectors)
    try:
        await replayer.run(result)
    finally:
        await replayer.perception.close()
        await sandbox.close()
    return result, check.wrong


def _signature(result) -> list[tuple]:
    return [(s.record.index, s.record.executed, s.record.locator.method, s.record.locator.element,
             s.record.locator.score) for s in result.steps]


def _sample_ids() -> list[str]:
    try:
        return [t.id for t in load_tasks(SAMPLE) if t.reference_page is not None] if SAMPLE.is_file() else []
    except Exception:  # a half-written sample file must not break collection; the data tests report it
        return []


@pytest.mark.parametrize("task_id", _sample_ids() or [pytest.param("none", marks=pytest.mark.skip("no sample set"))])
def test_sample_oracle_replays_with_the_recorded_elements_and_blank_fails(tmp_path: Path, task_id: str):
    """Every action of the sample task's reference page executes, on the element the recording
    used (utils/sample_sites/*/task.json selectors); the blank page fails at action 1."""
    task = next(t for t in _sample_tasks() if t.id == task_id)
    selectors = sample_selectors().get(task.id, [])

    async def go():
        async with Browser.launch(name=f"sample-{task_id}") as b:
            page = sample_oracle_dir(task, tmp_path / "page")
            checked = await _replay_checked(b, task, page, tmp_path / "o", selectors)
            blank = await _replay(b, task, write_page(tmp_path / "blank", None), tmp_path / "ob")
        return checked, blank

    (result, wrong), blank = run(go())
    assert [s.record.error for s in result.steps if not s.record.executed] == []
    assert result.stopped_at is None and len(result.steps) == len(task.actions)
    assert wrong == []
    assert blank.error is None and blank.stopped_at == 1
    assert not blank.steps[0].record.executed


@pytest.mark.slow
def test_sample_replay_is_deterministic(tmp_path: Path):
    """Three runs (each in a fresh browser) give the same executed flags and locator choices."""
    tasks = _sample_tasks()

    async def one(run_no: int):
        sigs = {}
        async with Browser.launch(name=f"det{run_no}") as b:
            for task in tasks:
                page = sample_oracle_dir(task, tmp_path / f"r{run_no}" / task.id)
                sigs[task.id] = _signature(await _replay(b, task, page, tmp_path / f"o{run_no}" / task.id))
        return sigs

    runs = [run(one(i)) for i in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert all(all(executed for _i, executed, *_ in sig) for sig in runs[0].values())


def test_replay_output_folder_gets_only_screenshots(tmp_path: Path):
    task = replay_task_of(tmp_path / "t", [click("Click the 'Specs' tab")])
    page = write_page(tmp_path / "p", PAGES["tabs"])
    out = page / "eval" / "offline"  # as in outputs/<task>/<model>/eval/<judge>/

    async def go():
        async with Browser.launch(name="out-test") as b:
            return await _replay(b, task, page, out)

    r = run(go())
    assert r.error is None and _executed(r) == [True]
    assert sorted(p.name for p in out.iterdir()) == ["step_0.png", "step_1.png"]
    shutil.rmtree(out)


def _chromium_pid(scratch: Path) -> int:
    """The main Chromium process of a browser we launched (the one without --type=)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(scratch).encode() in a for a in args) and not any(a.startswith(b"--type=") for a in args):
            return int(proc.name)
    raise AssertionError("no Chromium process found for " + str(scratch))


def test_chromium_dying_mid_task_is_an_infrastructure_error(tmp_path: Path):
    import asyncio
    import os
    import signal

    actions = [click("Click the 'Add one' button")] * 6
    task = replay_task_of(tmp_path / "t", actions)
    out = tmp_path / "o"

    async def go():
        async with Browser.launch(name="crash-test") as b:
            async def kill_after_first_step():
                # step_2.png exists only after step 1's record is complete: killing on step_1.png
                # raced with the recording of step 1 itself.
                while not (out / "step_2.png").is_file():
                    await asyncio.sleep(0.02)
                os.kill(_chromium_pid(b.scratch), signal.SIGKILL)

            killer = asyncio.ensure_future(kill_after_first_step())
            result = await _replay(b, task, write_page(tmp_path / "p", PAGES["tabs"]), out)
            await asyncio.wait_for(killer, timeout=5)
            return result, b.is_alive()

    result, alive = run(go())
    assert not alive
    assert result.error, ("a dead browser must be reported as an infrastructure error", [s.record.error for s in result.steps])
    assert len(result.steps) == len(actions)
    assert result.steps[0].record.executed
    assert not result.steps[-1].record.executed


SCREEN_PAGE = """<style>body{margin:0;font:16px sans-serif} .clip{height:40px;overflow:hidden}
.bar{position:fixed;top:0;right:0;background:#eee}</style>
<div class="bar">Fixed header text</div>
<h1 style="margin-top:40px">Shown heading</h1>
<div class="clip"><p>First clipped line</p><p style="margin-top:60px">Clipped away line</p></div>
<p style="display:none">Display none text</p><p style="visibility:hidden">Invisible text</p>
<p style="opacity:0">Transparent text</p>
<input placeholder="Search the shop"> <input value="Typed value"> <input type="password" value="hunter2">
<select><option>First option</option><option selected>Chosen option</option></select>
<textarea>Area text</textarea>
<p style="margin-top:2000px">Below the fold text</p>
"""


def test_page_state_reads_the_text_shown_in_the_viewport(tmp_path: Path):
    """What the offline judge compares with the recording's OCR before paying for OCR of its own: the
    text a reader sees on screen, not what innerText holds off-screen, clipped, hidden or transparent."""
    page = write_page(tmp_path / "screen", SCREEN_PAGE)
    task = replay_task_of(tmp_path / "t", [scroll("Scroll down to the end", page=3.0)], task_id="screen")

    async def go():
        async with Browser.launch(name="screen-test") as b:
            return await _replay(b, task, page, tmp_path / "out")

    result = run(go())
    shown = result.initial.screen_text
    for text in ("Fixed header text", "Shown heading", "First clipped line", "Search the shop", "Typed value",
                 "Chosen option", "Area text"):
        assert text in shown, (text, shown)
    for text in ("Clipped away line", "Display none", "Invisible text", "Transparent text", "hunter2",
                 "First option", "Below the fold"):
        assert text not in shown, (text, shown)
    assert "Below the fold" in result.initial.text  # innerText has it: the viewport text is the narrower view
    after = result.steps[0].after
    assert after is not None and "Below the fold text" in after.screen_text and "Fixed header text" in after.screen_text
    assert "Shown heading" not in after.screen_text


REVEAL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Reveal</title></head><body>
<button onclick="document.getElementById('go').hidden = false">Show</button>
<button id="go" hidden onclick="document.getElementById('out').textContent = 'Went'">Go</button>
<p id="out"></p><input aria-label="Search"></body></html>"""


def test_the_next_action_is_perceived_while_the_screenshot_is_taken(tmp_path: Path, monkeypatch):
    """The element list for action k+1 is read while step k's screenshot is taken, from the page as
    action k left it ('Go' exists only after 'Show'); a look started for an action that then cannot
    run (no key named) is dropped, and the replay ends normally."""
    import time

    from iwrbench.perception.perception import Perception
    from iwrbench.sandbox.page_sandbox import PageSandbox

    events: list[tuple[str, float]] = []
    real_shot, real_look = PageSandbox.screenshot, Perception.look

    async def shot(self, path=None):
        events.append(("shot", time.monotonic()))
        try:
            return await real_shot(self, path)
        finally:
            events.append(("shot-end", time.monotonic()))

    async def look(self, *args, **kwargs):
        events.append(("look", time.monotonic()))
        try:
            return await real_look(self, *args, **kwargs)
        finally:
            events.append(("look-end", time.monotonic()))

    monkeypatch.setattr(PageSandbox, "screenshot", shot)
    monkeypatch.setattr(Perception, "look", look)
    task = replay_task_of(tmp_path / "t", [click("Click the 'Show' button"), click("Click the 'Go' button"),
                                           press("Press in the 'Search' field")])
    page = write_page(tmp_path / "p", REVEAL)

    async def go():
        async with Browser.launch(name="ahead-test") as b:
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None
    assert _executed(r) == [True, True, False]
    assert "Went" in r.steps[1].after.text
    assert "no key named" in (r.steps[2].record.error or "")
    assert "perceive_ahead" in r.steps[0].record.timings and "perceive_ahead" in r.steps[1].record.timings
    # Each look starts while a screenshot is being taken (initial state, step 1, step 2), never after it.
    kinds = [k for k, _ in events]
    assert kinds.count("look") == 3
    for i, kind in enumerate(kinds):
        if kind == "look":
            assert kinds[i - 1] == "shot", kinds


def test_double_click_hover_select_and_drag_are_performed(tmp_path: Path):
    """The four action types beyond the published ones, located by description like the others."""
    task = replay_task_of(tmp_path / "more", [
        action("DoubleClick", "Double-click the 'Buy milk' item to edit it"),
        action("Hover", "Hover over the 'Walk the dog' row"),
        action("Click", "Click the delete button of the 'Walk the dog' row"),
        action("Select", "Select 'Large' in the Size dropdown", option="Large"),
        action("Select", "Choose Green from the colour list", option="Green"),
        action("Drag", "Drag the 'Write report' card to the 'Done' column", target="the 'Done' column"),
    ], task_id="more")

    async def go():
        async with Browser.launch(name="agent-more") as b:
            page = write_page(tmp_path / "pages" / "more", MORE_ACTIONS_PAGE)
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None
    assert all(_executed(r)), [s.record.error for s in r.steps]
    log = r.steps[-1].after.text
    for said in ("edit Buy milk (editing)", "hover", "deleted", "size l", "colour Green", "dropped in Done"):
        assert said in log, (said, log)
    assert "Walk the dog" not in log and "Buy milk" in log  # the hovered row was the one deleted
    assert r.steps[3].record.locator.model_dump().get("option") == "l"


def test_pick_option_prefers_exact_label_then_value_then_loose_match():
    opts = [("Small", "s"), ("Medium", "m"), ("Large", "l"), ("Extra large", "xl")]
    assert pick_option("Large", opts) == "l"
    assert pick_option("xl", opts) == "xl"
    assert pick_option("large ", opts) == "l"
    assert pick_option("medium", opts) == "m"
    assert pick_option("Huge", opts) is None
    assert pick_option("arg", opts) is None  # inside two labels: not one clear option


def test_a_page_that_breaks_the_dom_methods_is_read_in_an_isolated_world(tmp_path: Path):
    """The page's own fault (replaced DOM methods) never turns into an infrastructure error: the
    harness's reads run again in an isolated world, and the sandbox record says so."""
    task = replay_task_of(tmp_path / "broken", [click("Click the 'Go' button")], task_id="broken")

    async def go():
        async with Browser.launch(name="agent-broken-dom") as b:
            page = write_page(tmp_path / "pages" / "broken", BROKEN_DOM_PAGE)
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None and all(_executed(r)), [s.record.error for s in r.steps]
    assert "clicked" in r.steps[0].after.text and r.steps[0].after.screen_text
    assert r.sandbox["isolated_reads"] >= 1 and r.sandbox["script_errors"]


def test_iframe_editor_password_and_keys_to_the_focused_tab(tmp_path: Path):
    task = replay_task_of(tmp_path / "frames", [
        type_("Type 'Hello from the frame' into the editor", "Hello from the frame"),
        type_("Type the password into the 'Password' field", "s3cret-pass"),
        click("Click the 'First' tab"),
        press("Press the right arrow key on the 'First' tab", "ArrowRight"),
    ], task_id="frames")

    async def go():
        async with Browser.launch(name="agent-frames") as b:
            page = write_page(tmp_path / "pages" / "frames", FRAMES_KEYS_PAGE)
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None and all(_executed(r)), [s.record.error for s in r.steps]
    typed, password, _clicked, pressed = (s.after for s in r.steps)
    assert "Hello from the frame" in typed.text and "Hello from the frame" in typed.screen_text
    assert any(v == "Hello from the frame" for k, v in typed.inputs.items() if k.startswith("frame 1"))
    assert password.inputs["Password"] == "\u2022" * len("s3cret-pass") + " [typed]"
    assert "s3cret" not in password.text + (password.screen_text or "") + "".join(password.inputs.values())
    trace = build_trace(r, task_id=task.id, model="m", epoch=1, run_slug="m", agent="offline",
                        page=tmp_path / "pages" / "frames" / "index.html")
    assert "s3cret" not in trace.model_dump_json()  # the stored trace holds the masked value only
    assert "Panel two" in pressed.text
    assert r.steps[3].record.locator.model_dump().get("focus") == "kept"


STYLED_CHOICES_PAGE = """<style>
  .hidden { position: absolute; clip: rect(0 0 0 0); width: 1px; height: 1px; overflow: hidden; }
  label { display: inline-block; padding: 8px 14px; border: 1px solid #999; margin: 4px; }
  input:checked + label, label.on { background: #36c; color: white; }
</style>
<fieldset><legend>Select a Location</legend>
  <input type="radio" name="city" id="r1" class="hidden"><label for="r1">New York</label>
  <input type="radio" name="city" id="r2" class="hidden"><label for="r2">Paris</label>
</fieldset>
<p id="out">none</p>
<script>
  for (const r of document.querySelectorAll('input')) r.addEventListener('change', () => {
    document.getElementById('out').textContent = 'picked ' + r.nextElementSibling.textContent;
  });
</script>"""


def test_a_control_hidden_behind_its_label_is_clicked_through_the_label(tmp_path: Path):
    """A styled radio (the native input clipped to a pixel, its label drawn as the button): the
    locator names the input, the click goes where a user clicks, its label, and the radio changes."""
    task = replay_task_of(tmp_path / "styled", [click("Click 'Paris' in the 'Select a Location' group")],
                          task_id="styled")

    async def go():
        async with Browser.launch(name="agent-styled") as b:
            page = write_page(tmp_path / "pages" / "styled", STYLED_CHOICES_PAGE)
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None and all(_executed(r)), [s.record.error for s in r.steps]
    assert "picked Paris" in r.steps[0].after.text, r.steps[0].after.text


PLAIN_ITEMS_PAGE = """<ol id="sel" onclick="document.getElementById('out').textContent = 'selected ' + event.target.textContent"
  style="list-style: none; padding: 0; width: 300px">
  <li>Item 1</li><li>Item 2</li><li>Item 3</li><li>Item 4</li><li>Item 5</li><li>Item 6</li><li>Item 7</li>
</ol><p id="out">none</p>"""


def test_a_quoted_item_inside_the_only_listed_element_is_clicked_itself(tmp_path: Path):
    """A widget whose items are plain text (the list has the handler): the element list names the list,
    and the click goes to its part that reads the quote, not to the list's middle."""
    task = replay_task_of(tmp_path / "plain", [click("Click 'Item 6'"), click("Click 'Item 1' at the top")],
                          task_id="plain")

    async def go():
        async with Browser.launch(name="agent-plain-items") as b:
            page = write_page(tmp_path / "pages" / "plain", PLAIN_ITEMS_PAGE)
            return await _replay(b, task, page, tmp_path / "out")

    r = run(go())
    assert r.error is None and all(_executed(r)), [s.record.error for s in r.steps]
    assert "selected Item 6" in r.steps[0].after.text, r.steps[0].after.text
    assert "selected Item 1" in r.steps[1].after.text, r.steps[1].after.text
