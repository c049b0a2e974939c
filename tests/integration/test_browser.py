"""The sandbox around a candidate page: loopback server, Chromium launch, contexts, guards, timeouts."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from iwrbench.perception.browser_use_view import BrowserUseView
from iwrbench.sandbox.browser import Browser
from iwrbench.sandbox.faults import PageHung
from iwrbench.sandbox.page_server import HARNESS_FILES, LoopbackServer
from iwrbench.sandbox.traffic import _is_browser_service
from tests.fixtures_replay import PAGES, run, write_page

browser = pytest.mark.browser


# ---------------------------------------------------------------- loopback server (no browser)


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, resp.getheader("Content-Type") or ""


def test_server_serves_only_its_folder(tmp_path: Path):
    site = write_page(tmp_path / "site", "<p>hello</p>", {"assets/001.png": b"\x89PNG fake", "app.js": "x=1",
                                                           "eval/offline/eval.json": "{}",
                                                           "generation.json": "{}"})
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    (site / "link.txt").symlink_to(tmp_path / "secret.txt")
    server = LoopbackServer(site, hidden=HARNESS_FILES)
    server.start()
    try:
        port = server.port
        assert _get(port, "/")[:2] == (200, b"<p>hello</p>")
        status, body, ctype = _get(port, "/assets/001.png")
        assert status == 200 and ctype == "image/png"
        assert _get(port, "/app.js")[2].startswith("text/javascript")
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/..%2fsecret.txt",
                     "/link.txt", "/%2e%2e%5csecret.txt", "/eval/offline/eval.json", "/generation.json",
                     "/nothing.css"):
            status, body, _ = _get(port, path)
            assert status in (403, 404), path
            assert b"TOPSECRET" not in body, path
        assert _get(port, "/", method="POST")[0] == 405
        assert _get(port, "/", method="HEAD")[:2] == (200, b"")
        assert "/nothing.css" in server.missing
        assert server.denied  # the traversal attempts were noted
        assert not server.page_missing
    finally:
        server.stop()


@pytest.mark.parametrize("html", [None, ""])
def test_missing_or_empty_page_is_served_blank(tmp_path: Path, html: str | None):
    server = LoopbackServer(write_page(tmp_path / "site", html))
    server.start()
    try:
        status, body, ctype = _get(server.port, "/")
        assert status == 200 and b"<body></body>" in body and ctype.startswith("text/html")
        assert server.page_missing
    finally:
        server.stop()


def test_browser_service_traffic_is_told_apart():
    assert _is_browser_service("CONNECT content-autofill.googleapis.com:443 HTTP/1.1")
    assert _is_browser_service("GET http://clients2.google.com/x HTTP/1.1")
    assert not _is_browser_service("CONNECT 127.0.0.1:4000 HTTP/1.1")
    assert not _is_browser_service("GET http://evil.example/ HTTP/1.1")
    assert not _is_browser_service("")


# ---------------------------------------------------------------- Chromium


@browser
def test_launch_uses_a_scratch_folder_and_cleans_it(tmp_path: Path):
    async def go() -> Path:
        before = set(os.listdir(Path.home())) if Path.home().is_dir() else set()
        async with Browser.launch(name="scratch-test") as b:
            scratch = b.scratch
            assert b.is_alive()
            assert (scratch / "profile" / "DevToolsActivePort").is_file()
            assert (scratch / "home" / ".config").is_dir()
            # browser-use attaches here: the CDP endpoint answers on loopback only
            version = json.loads(urllib.request.urlopen(b.cdp_url + "/json/version", timeout=5).read())
            assert version["webSocketDebuggerUrl"].startswith("ws://127.0.0.1:")
        assert not b.is_alive()
        after = set(os.listdir(Path.home())) if Path.home().is_dir() else set()
        assert after <= before | {".cache", ".config"}  # nothing new of ours in the real home
        return scratch

    scratch = run(go())
    assert not scratch.exists()


@browser
def test_contexts_get_the_task_resolution_and_their_own_origin(tmp_path: Path):
    page = write_page(tmp_path / "p", "<p>x</p><script>localStorage.n=(+localStorage.n||0)+1</script>")

    async def go():
        async with Browser.launch(name="ctx-test") as b:
            a = await b.open_sandbox(page, 1280, 720)
            c = await b.open_sandbox(page, 800, 600)
            try:
                await a.load()
                await c.load()
                assert await a.evaluate("[innerWidth, innerHeight]") == [1280, 720]
                assert await c.evaluate("[innerWidth, innerHeight]") == [800, 600]
                assert a.origin != c.origin
                assert await a.evaluate("localStorage.n") == "1" == await c.evaluate("localStorage.n")
                png = await a.screenshot(tmp_path / "a.png")
                assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "a.png").read_bytes() == png
            finally:
                await a.close()
                await c.close()

    run(go())


@browser
def test_dialogs_popups_and_outside_requests(tmp_path: Path, outside_server):
    html = f"""<p id=o>start</p><script>
      alert('hi'); const c = confirm('sure?'); const p = prompt('name?');
      document.getElementById('o').textContent = 'confirm=' + c + ' prompt=' + p;
      window.open('/other.html'); window.open('{outside_server.origin}/popup');
      fetch('{outside_server.origin}/x').catch(() => 0);
      new Image().src = '{outside_server.origin}/img.png';
    </script>"""
    page = write_page(tmp_path / "p", html, {"other.html": "<p>other</p>"})

    async def go():
        async with Browser.launch(name="guard-test") as b:
            sb = await b.open_sandbox(page, 1024, 768)
            try:
                await sb.load()
                assert await sb.evaluate("document.getElementById('o').textContent") == "confirm=false prompt=null"
                for _ in range(500):  # pop-ups open and are closed asynchronously: wait for both, not a time
                    if sb.log.popups == 2 and len(sb.context.pages) == 1:
                        break
                    await sb.page.wait_for_timeout(20)
                assert len(sb.context.pages) == 1
            finally:
                await sb.close()
            info = sb.info()
            assert [d["type"] for d in info["dialogs"]] == ["alert", "confirm", "prompt"]
            assert info["popups"] == 2
            assert info["blocked_requests"] >= 3  # fetch, image, the pop-up's navigation
            assert any("/x" in u for u in info["blocked_samples"])

    run(go())
    assert outside_server.hits == [] and outside_server.connections == 0


@browser
def test_a_hung_page_costs_its_own_sandbox_only(tmp_path: Path):
    hung = write_page(tmp_path / "hung", "<button onclick='while(true){}'>Freeze</button>")
    fine = write_page(tmp_path / "fine", PAGES["tabs"])

    async def go():
        async with Browser.launch(name="hang-test") as b:
            sb = await b.open_sandbox(hung, 800, 600, step_timeout=2)
            other = await b.open_sandbox(fine, 800, 600, step_timeout=2)
            try:
                await sb.load()
                await other.load()
                with pytest.raises(PlaywrightTimeout):  # the click never returns: the page froze
                    await sb.page.click("button", timeout=1000)
                t = time.monotonic()
                with pytest.raises(PageHung):
                    await sb.evaluate("1 + 1", timeout=1)
                assert time.monotonic() - t < 5
                assert sb.log.hung
                assert await other.evaluate("document.title") == "Tabs"
            finally:
                t = time.monotonic()
                await sb.close()
                assert time.monotonic() - t < 5
            assert await other.evaluate("1 + 1") == 2
            await other.close()
            assert b.is_alive()

    run(go())


@browser
def test_browser_use_keeps_the_viewport_and_lets_go(tmp_path: Path):
    page = write_page(tmp_path / "p", PAGES["tabs"])

    async def go():
        async with Browser.launch(name="bu-test") as b:
            sb = await b.open_sandbox(page, 1280, 720)
            try:
                await sb.load()
                view = BrowserUseView(sb)
                assert await view.attach(timeout=20), view.error
                elements, refs, listing, _anchors = await view.elements((0, 0, 1280, 720), timeout=20)
                assert any(e.text == "Specs" for e in elements) and "Specs" in listing
                assert all(refs[e.index].backend_node_id for e in elements)
                await view.close()
                assert view.session is None
                # browser-use must not leave its own viewport emulation behind
                assert await sb.evaluate("[innerWidth, innerHeight]") == [1280, 720]
            finally:
                await sb.close()

    run(go())


def test_abandoned_browser_use_tasks_print_no_traceback(caplog):
    """A look abandoned mid-flight leaves browser-use's snapshot tasks to fail when the session closes;
    they log a traceback each. Those records are dropped unless browser-use logs at DEBUG (-vv);
    browser-use's other records pass."""
    import logging

    from iwrbench.sandbox.scratch import prepare_process_env

    prepare_process_env()
    tasks_log = logging.getLogger("browser_use.utils")

    def emit() -> list[str]:
        caplog.clear()
        try:
            raise RuntimeError("Client is not started. Call start() first")
        except RuntimeError as exc:
            tasks_log.error("Exception in background task [get_snapshot]: RuntimeError: %s", exc, exc_info=exc)
        tasks_log.error("a browser-use error of another kind")
        return [r.getMessage()[:30].strip() for r in caplog.records]

    with caplog.at_level(logging.WARNING, logger="browser_use"):
        assert emit() == ["a browser-use error of another"]
    with caplog.at_level(logging.DEBUG, logger="browser_use"):
        assert emit() == ["Exception in background task [", "a browser-use error of another"]


SETTLE_PAGE = """<style>#box{opacity:0;transition:opacity 200ms linear} #box.on{opacity:1}</style>
<div id=box>box</div><p id=t>start</p>
<button id=now onclick="t.textContent='now'">Now</button>
<button id=one onclick="requestAnimationFrame(() => t.textContent='one frame')">One</button>
<button id=vue onclick="requestAnimationFrame(() => requestAnimationFrame(() => {
  box.classList.add('on'); t.textContent='two frames'; }))">Vue</button>"""


@browser
def test_settling_waits_for_what_the_action_started(tmp_path: Path):
    """After an action, settling sees a change made at once, in the next frame, or in a nested frame
    that starts a transition (the way Vue starts one), and waits for that transition to end."""
    page = write_page(tmp_path / "p", SETTLE_PAGE)

    async def go():
        async with Browser.launch(name="settle-test") as b:
            sb = await b.open_sandbox(page, 800, 600)
            try:
                await sb.load()
                for button, text in (("now", "now"), ("one", "one frame"), ("vue", "two frames")):
                    await sb.page.click(f"#{button}")
                    await sb.settle(cap=2.0)
                    assert await sb.evaluate("t.textContent") == text
                assert await sb.evaluate("getComputedStyle(box).opacity") == "1"
                # A read to run once settled comes back with it, in the same round trip.
                await sb.page.click("#now")
                assert await sb.settle(cap=2.0, then=("(x) => x + t.textContent", "read: ")) == "read: now"
            finally:
                await sb.close()

    run(go())


@browser
def test_the_frame_counter_keeps_requestAnimationFrame_as_it_was(tmp_path: Path):
    """The page's requestAnimationFrame is counted (so one settling frame can be enough) and behaves
    as the native one: callbacks get a timestamp, cancelling works, a non-function is a TypeError."""
    page = write_page(tmp_path / "p", "<p>x</p>")

    async def go():
        async with Browser.launch(name="raf-test") as b:
            sb = await b.open_sandbox(page, 800, 600)
            try:
                await sb.load()
                got = await sb.evaluate("""() => new Promise(resolve => {
                  const out = {idle: __iwrRaf.pending()};
                  const a = requestAnimationFrame(() => { out.cancelled_ran = true; });
                  out.two = (requestAnimationFrame(t => {
                    out.stamp = typeof t; out.after = __iwrRaf.pending();
                    try { requestAnimationFrame('x'); } catch (e) { out.error = e.name; }
                    resolve(out);
                  }), __iwrRaf.pending());
                  cancelAnimationFrame(a);
                  out.one = __iwrRaf.pending();
                  const w = webkitRequestAnimationFrame(() => { out.cancelled_ran = true; });
                  out.prefixed = __iwrRaf.pending();
                  webkitCancelAnimationFrame(w);
                  out.prefixed_cancelled = __iwrRaf.pending();
                  out.enumerable = Object.keys(window).includes('__iwrRaf');
                })""")
                assert got == {"idle": 0, "two": 2, "one": 1, "prefixed": 2, "prefixed_cancelled": 1,
                               "stamp": "number", "after": 0, "error": "TypeError",
                               "enumerable": False}
            finally:
                await sb.close()

    run(go())


SETTLE_TIMERS_PAGE = """<p id=t>start</p><div id=box style="position:relative;left:0">box</div>
<button id=debounce onclick="clearTimeout(window.d); window.d = setTimeout(() => t.textContent = 'searched', 300)">D</button>
<button id=js onclick="const t0 = performance.now(); const f = () => { const k = Math.min(1, (performance.now() - t0) / 400);
  box.style.left = (k * 200) + 'px'; if (k < 1) requestAnimationFrame(f); else t.textContent = 'moved'; };
  requestAnimationFrame(f)">J</button>
<button id=chunks onclick="let n = 0; const f = () => { t.textContent = 'chunk ' + (++n); if (n < 20) setTimeout(f, 5); }; f()">C</button>
<button id=late onclick="setTimeout(() => t.textContent = 'toast gone', 8000); t.textContent = 'toast'">L</button>
<button id=fetch onclick="setTimeout(() => fetch('data.txt').then(r => r.text()).then(x => t.textContent = x), 100)">F</button>
<script>
  // A poller re-armed from its own timer, and a frame loop running since the page loaded (a game).
  (function poll() { window.polls = (window.polls || 0) + 1; setTimeout(poll, 250); })();
  (function spin() { window.spins = (window.spins || 0) + 1; requestAnimationFrame(spin); })();
</script>"""


@browser
def test_settling_waits_for_timers_frames_and_requests_the_action_started(tmp_path: Path):
    """A debounced update (300 ms), a script animation driven by frames (400 ms), work done in chunks
    of 5 ms timers and a request made after a timer are waited for; a timer due after the cap, a
    poller that re-arms itself and a frame loop that ran before the action are not."""
    page = write_page(tmp_path / "p", SETTLE_TIMERS_PAGE, {"data.txt": "fetched"})

    async def go():
        async with Browser.launch(name="settle-timers") as b:
            sb = await b.open_sandbox(page, 800, 600)
            try:
                await sb.load()
                await asyncio.sleep(1.2)  # the frame loop has now run for over a second: a loop, not an animation
                for button, text in (("debounce", "searched"), ("js", "moved"), ("chunks", "chunk 20"),
                                     ("fetch", "fetched")):
                    await sb.page.click(f"#{button}")
                    assert await sb.settle(cap=3.0, then=("() => t.textContent", None)) == text, button
                    assert sb.last_settle == "settled", button
                started = time.monotonic()
                await sb.page.click("#late")
                assert await sb.settle(cap=3.0, then=("() => t.textContent", None)) == "toast"
                assert time.monotonic() - started < 2.9 and sb.last_settle == "settled"  # under the 3 s cap
            finally:
                await sb.close()

    run(go())


HOSTILE_GLOBALS_PAGE = """<p id=t>start</p><button id=b onclick="t.textContent = 'clicked'">B</button>
<script>
  window.setTimeout = () => { throw new Error('no timers here'); };
  window.Promise = function () { throw new Error('no promises here'); };
  Document.prototype.getAnimations = () => { throw new Error('no animations here'); };
  window.requestAnimationFrame = () => 0;
</script>"""


@browser
def test_settling_survives_a_page_that_replaces_the_functions_it_uses(tmp_path: Path):
    """Settling calls only the functions page_init.js saved before the page ran."""
    page = write_page(tmp_path / "p", HOSTILE_GLOBALS_PAGE)

    async def go():
        async with Browser.launch(name="settle-hostile") as b:
            sb = await b.open_sandbox(page, 800, 600)
            try:
                await sb.load()
                await sb.page.click("#b")
                assert await sb.settle(cap=2.0, then=("() => document.getElementById('t').textContent", None)) \
                    == "clicked"
                assert sb.last_settle == "settled"
            finally:
                await sb.close()

    run(go())


SEARCH_PAGE = """<form action="results.html"><input name=q id=q value="proxy"><button>Go</button></form>"""
RESULTS_PAGE = """<p id=out>Searching...</p>
<script>
  setTimeout(() => { const s = document.createElement('script'); s.src = 'index.js'; document.head.appendChild(s); }, 150);
</script>"""
RESULTS_JS = "setTimeout(() => { document.getElementById('out').textContent = 'Found 3 pages'; }, 20);"


@browser
def test_settling_follows_a_navigation_to_a_page_filled_in_by_script(tmp_path: Path):
    """Enter in a search form: the results page loads, fetches its index by a script and fills itself
    in; settling waits for all of it, however late the navigation's request reaches the harness."""
    page = write_page(tmp_path / "p", SEARCH_PAGE, {"results.html": RESULTS_PAGE, "index.js": RESULTS_JS})

    async def go():
        async with Browser.launch(name="settle-nav") as b:
            sb = await b.open_sandbox(page, 800, 600)
            try:
                await sb.load()
                for _ in range(3):
                    await sb.page.goto(sb.origin + "/")
                    await sb.page.focus("#q")
                    navs = sb.navigations
                    await sb.page.keyboard.press("Enter")
                    got = await sb.settle(cap=3.0, navigated=sb.navigations != navs,
                                          then=("() => document.body.innerText", None))
                    assert "Found 3 pages" in got and sb.last_settle == "settled", got
            finally:
                await sb.close()

    run(go())
