"""Hostile pages (tests/hostile_pages/): endless loops, dialogs, pop-ups, navigation away, requests to
other origins and file:// URLs, 20,000 elements. All run in one browser next to a normal page: each
finishes in bounded time, nothing leaves the page's origin, and the normal page is unharmed.

Proof of "nothing leaves": the pages aim everything at a counting server on another loopback port
(which must see no request and no connection) and at a secret file outside the page folder (whose
content must never show up in the page).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from iwrbench.locate.offline import OfflineLocator
from iwrbench.replay.agent import replay_task
from iwrbench.sandbox.browser import Browser
from tests.fixtures_replay import PAGES, click, hostile_actions, hostile_page, replay_task_of, run, write_page

pytestmark = [pytest.mark.browser, pytest.mark.faults]
SECRET = "TOPSECRET-4242"
STEP_TIMEOUT, LOAD_TIMEOUT = 8.0, 8.0  # generous: the first click must land on two busy cores
# A hostile task may cost at most: load + its steps at their timeouts + recovery; generous for 2 busy cores.
TASK_BOUND = 45.0


def _normal_task(root: Path):
    return replay_task_of(root / "normal", [click("Click the 'Specs' tab"), click("Click the 'Add one' button"),
                                            click("Click the 'Add one' button")], task_id="normal")


def _signature(result) -> list[tuple]:
    return [(s.record.executed, s.record.locator.element, s.after.text if s.after else None) for s in result.steps]


async def _replay(b: Browser, name: str, tmp: Path, outside: str, secret: Path):
    task = replay_task_of(tmp / "tasks" / name, hostile_actions()[name], task_id=name)
    page = hostile_page(name, tmp / "pages" / name, outside, secret)
    t = time.monotonic()
    result = await replay_task(b, task, page, tmp / "out" / name, locator=OfflineLocator(),
                               step_timeout=STEP_TIMEOUT, load_timeout=LOAD_TIMEOUT)
    return result, time.monotonic() - t


def _texts(result) -> str:
    states = [result.initial] + [s.after for s in result.steps if s.after is not None]
    return "\n".join(st.text + " " + " ".join(st.inputs.values()) for st in states)


def _check(name: str, r, secs: float, origin_port: int | None = None) -> None:
    assert r.error is None, (name, r.error)  # a hostile page is never an infrastructure error
    assert secs < TASK_BOUND, (name, secs)
    assert SECRET not in _texts(r), name
    executed = [s.record.executed for s in r.steps]
    sb = r.sandbox
    if name == "loop_at_load":
        assert r.stopped_at == 1 and not any(executed) and sb["hung"]
        assert r.initial.screenshot is None and "hung" in r.steps[0].record.error
    elif name == "loop_on_click":
        assert executed == [True, False, False] and r.stopped_at == 2
        assert "hung" in r.steps[1].record.error and sb["hung"]
        assert "not reached" in r.steps[2].record.not_reached
    elif name == "dialogs":
        assert executed == [True]
        text = r.steps[0].after.text
        assert "confirm=false prompt=null" in text and "after click confirm=false" in text
        assert sb["dialog_count"] >= 5 and {d["type"] for d in sb["dialogs"]} >= {"alert", "confirm", "prompt"}
    elif name == "popups":
        assert executed == [True, True]
        # Every pop-up is counted and closed at once; whether a closed one had asked for its outside URL
        # first is a race, so only some of those requests show as blocked. None ever reaches the outside
        # server (checked by the caller).
        assert sb["popups"] >= 8 and sb["blocked_requests"] >= 1
        assert urlsplit(r.steps[-1].after.url).path == "/"
    elif name == "navigate_away":
        assert executed == [True, True, True]
        assert sb["navigations_blocked"] >= 3
        for s in r.steps:
            assert urlsplit(s.after.url).hostname == "127.0.0.1" and "still home" in s.after.text
    elif name == "exfiltrate":
        assert executed == [True]
        assert sb["blocked_requests"] >= 10 and sb["websockets_blocked"] >= 1
        assert "blocked" in r.steps[0].after.text
    elif name == "huge_dom":
        assert executed == [True, True]
        assert "picked 3" in r.steps[0].after.text and "last clicked" in r.steps[1].after.text
        assert r.steps[1].record.locator.perception in ("playwright-scan", "browser-use")
    else:
        raise AssertionError(f"no expectations written for hostile page {name}")


@pytest.mark.slow
def test_all_hostile_pages_in_one_browser(tmp_path: Path, outside_server):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    normal_page = write_page(tmp_path / "pages" / "normal", PAGES["tabs"])
    normal = _normal_task(tmp_path)

    async def go():
        started = time.monotonic()
        async with Browser.launch(name="hostile") as b:
            baseline = await replay_task(b, normal, normal_page, tmp_path / "out" / "normal0", locator=OfflineLocator())
            outcomes = []
            for name in hostile_actions():
                outcomes.append((name, *await _replay(b, name, tmp_path, outside_server.origin, secret)))
            # a page that freezes, next to a normal page replaying at the same time
            (frozen, secs), during = await asyncio.gather(
                _replay(b, "loop_on_click", tmp_path / "again", outside_server.origin, secret),
                replay_task(b, normal, normal_page, tmp_path / "out" / "normal1", locator=OfflineLocator()))
            outcomes.append(("loop_on_click", frozen, secs))
            after = await replay_task(b, normal, normal_page, tmp_path / "out" / "normal2", locator=OfflineLocator())
            alive = b.is_alive()
        return baseline, outcomes, during, after, alive, time.monotonic() - started

    baseline, outcomes, during, after, alive, total = run(go())
    for name, result, secs in outcomes:
        _check(name, result, secs)
    assert alive
    assert all(s.record.executed for s in baseline.steps)
    assert _signature(during) == _signature(baseline) == _signature(after)
    assert outside_server.hits == [] and outside_server.connections == 0
    assert total < 240


def test_freezing_and_exfiltrating_pages_next_to_a_normal_one(tmp_path: Path, outside_server):
    """The quick version for every run: a frozen page and an exfiltrating page in one browser."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    normal_page = write_page(tmp_path / "pages" / "normal", PAGES["tabs"])
    normal = _normal_task(tmp_path)

    async def go():
        async with Browser.launch(name="hostile-quick") as b:
            frozen = await _replay(b, "loop_on_click", tmp_path, outside_server.origin, secret)
            leaky = await _replay(b, "exfiltrate", tmp_path, outside_server.origin, secret)
            fine = await replay_task(b, normal, normal_page, tmp_path / "out" / "normal", locator=OfflineLocator())
        return frozen, leaky, fine

    (frozen, s1), (leaky, s2), fine = run(go())
    _check("loop_on_click", frozen, s1)
    _check("exfiltrate", leaky, s2)
    assert fine.error is None and all(s.record.executed for s in fine.steps)
    assert "Count: 2" in fine.steps[-1].after.text
    assert outside_server.hits == [] and outside_server.connections == 0
