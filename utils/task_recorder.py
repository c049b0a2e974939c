"""Replaying an authored action script in Chromium and capturing what it shows (used by make_task.py).

Two modes. The project's own sample sites are recorded deterministically (Math.random seeded,
animations off, clock fixed, settle until two screenshots agree): byte-identical checkpoints on every
run. Real third-party sites are recorded as they are (`real=True`): no seed, no animation switch, no
fixed clock, and each state is captured once the screenshots have stayed the same for a quiet window
(capped), so a widget that reacts 300 ms after a key, an AMD loader or an accordion's animation is
captured after it finished, as a person watching the page would see it.

Actions may target an element inside a same-origin iframe (`frame`, a CSS selector of the iframe).
`record(..., stop_on_error=False)` records up to the first action that cannot be performed and says
which: that is how broken reconstructions are probed.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from iwrbench.errors import InfrastructureError, UserError
from iwrbench.media.videowriter import Frame
from iwrbench.sandbox.chromium_path import CHROMIUM_BASE_ARGS, find_chromium

FIXED_TIME = "2025-03-14T10:00:00Z"
DEFAULT_SEED = 20250314
ACTION_TIMEOUT_MS = 10_000
HOLD_FRAMES = 3      # frames a settled state stays on screen (1 s at 3 fps)
AIM_FRAMES = 2       # frames showing the pointer on its target before the action
REAL_QUIET_S = 0.6   # real sites: a state is settled once screenshots stayed identical this long
REAL_CAP_S = 8.0     # ... or after this long (a page that never stops moving: a spinner, a clock)
MOVING_MARGIN = 16   # px around an endlessly animated element also left out (a pulsing shadow, a glow)
REAL_TYPE_DELAY_MS = 40  # between keystrokes when typing on a real site (debounced handlers see real keys)

LAUNCH_ARGS = [
    *CHROMIUM_BASE_ARGS,
    # Without this, re-rastering only the damaged tiles leaves anti-aliased edges (a rounded input
    # border after focus) differing by a pixel from run to run: measured 1 of 7 checkpoints.
    "--disable-partial-raster",
]

# Deterministic mode only. Runs before any page script: seeded Math.random (xorshift32) and no
# animations, transitions, caret blink or smooth scrolling, so every run renders the same pixels.
INIT_SCRIPT = """
(() => {
  let s = (%d >>> 0) || 1;
  Math.random = function () {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const css = '*,*::before,*::after{animation-duration:0s!important;animation-delay:0s!important;' +
    'transition-duration:0s!important;transition-delay:0s!important;caret-color:transparent!important;' +
    'scroll-behavior:auto!important}';
  const add = () => {
    const st = document.createElement('style');
    st.setAttribute('data-iwrbench-recorder', '');
    st.textContent = css;
    (document.head || document.documentElement).appendChild(st);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', add); else add();
})();
"""

SETTLE_SCRIPT = """
() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))
"""

# Boxes of elements running an endless animation (a pulsating badge, a spinner): they never stop moving,
# so a real site's settle compares screenshots outside them (and says which they were).
MOVING_SCRIPT = """
() => {
  const out = [];
  for (const a of document.getAnimations ? document.getAnimations() : []) {
    const t = a.effect && a.effect.target, timing = a.effect && a.effect.getComputedTiming();
    if (!t || !timing || timing.iterations !== Infinity || a.playState !== 'running') continue;
    const r = t.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) out.push([Math.floor(r.x), Math.floor(r.y), Math.ceil(r.width), Math.ceil(r.height)]);
  }
  return out.slice(0, 20);
}
"""

# What the recorded target element was: the agreement tool compares it with what the locator picked.
TARGET_SCRIPT = """
el => {
  const r = el.getBoundingClientRect();
  const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
  const txt = (field ? '' : (el.innerText || el.textContent || '')).replace(/\\s+/g, ' ').trim();
  const label = field && el.labels && el.labels.length ? el.labels[0].innerText.trim() : null;
  return {tag: el.tagName.toLowerCase(), text: txt.slice(0, 80), aria_label: el.getAttribute('aria-label'),
          title: el.getAttribute('title'), id: el.id || null, label: label && label.slice(0, 80),
          placeholder: el.getAttribute('placeholder'), name: el.getAttribute('name'),
          box: [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]};
}
"""


class ActionLike(Protocol):
    type: str
    description: str
    parameters: dict[str, Any]
    selector: str | None
    frame: str | None
    target_selector: str | None


@dataclass(frozen=True)
class RecordMode:
    """How to record: deterministic (the project's sample sites) or as a real site behaves."""

    real: bool = False
    seed: int = DEFAULT_SEED
    quiet_s: float = REAL_QUIET_S
    cap_s: float = REAL_CAP_S


@dataclass
class ActionTrace:
    """What happened at one action while recording (1-based index, as checkpoints number them)."""

    index: int
    type: str
    url_before: str
    url_after: str = ""
    target: dict[str, Any] | None = None
    settle_s: float = 0.0
    settle_capped: bool = False
    error: str | None = None

    @property
    def navigated(self) -> bool:
        """The action changed the document's URL (a new page, or a hash route)."""
        return bool(self.url_after) and self.url_after != self.url_before


@dataclass
class Recording:
    checkpoints: list[bytes]                     # step_0 .. step_n (PNG); shorter if an action failed
    frames: list[Frame]
    blocked: list[str] = field(default_factory=list)   # requests to other origins, aborted
    missing: list[str] = field(default_factory=list)   # local files the page asked for and did not get
    page_errors: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)  # same-origin paths served, in first-request order
    actions: list[ActionTrace] = field(default_factory=list)
    moving: list[list[int]] = field(default_factory=list)  # boxes of endless animations seen while settling
    initial_settle_s: float = 0.0
    initial_settle_capped: bool = False
    failed_at: int | None = None                 # 1-based action that could not be performed

    def summary(self) -> dict[str, Any]:
        """The recording's facts, for the task folder's recording.json (no screenshots)."""
        return {"blocked": sorted(set(self.blocked)), "missing": sorted(set(self.missing)),
                "page_errors": self.page_errors[:20], "initial_settle_s": round(self.initial_settle_s, 3),
                "initial_settle_capped": self.initial_settle_capped, "failed_at": self.failed_at,
                "moving": self.moving,
                "actions": [{**asdict(a), "settle_s": round(a.settle_s, 3), "navigated": a.navigated}
                            for a in self.actions]}


# ---------------------------------------------------------------- loopback server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll interval: shutdown() waits for serve_forever to notice, once per page served.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="make-task-http",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------- settling


async def _screenshot(page: Any, mode: RecordMode) -> bytes:
    if mode.real:  # the page's own animations run; only the caret is hidden (it blinks on its own clock)
        return await page.screenshot(caret="hide")
    return await page.screenshot(animations="disabled", caret="hide")


async def _settled_deterministic(page: Any, mode: RecordMode, tries: int = 20) -> tuple[bytes, float, bool]:
    """Screenshot once two consecutive shots agree (fonts loaded, layout and images stable)."""
    start = time.monotonic()
    try:
        await asyncio.wait_for(page.evaluate(SETTLE_SCRIPT), timeout=5)
    except TimeoutError:
        pass  # a page that never settles its fonts still gets its screenshot compared below
    last = await _screenshot(page, mode)
    for _ in range(tries):
        await page.wait_for_timeout(60)
        shot = await _screenshot(page, mode)
        if shot == last:
            return shot, time.monotonic() - start, False
        last = shot
    return last, time.monotonic() - start, True


async def _moving_boxes(page: Any) -> list[list[int]]:
    try:
        return list(await asyncio.wait_for(page.evaluate(MOVING_SCRIPT), timeout=2))
    except Exception:  # noqa: BLE001 - between documents, or a page that broke getAnimations
        return []


def _masked(png: bytes, boxes: list[list[int]]) -> bytes:
    """The screenshot with the boxes blanked (for comparing only what is meant to come to rest)."""
    if not boxes or not png:
        return png
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return png
    m = MOVING_MARGIN
    for x, y, w, h in boxes:
        img[max(0, y - m):max(0, y + h + m), max(0, x - m):max(0, x + w + m)] = 0
    return img.tobytes()


async def _settled_real(page: Any, mode: RecordMode, initial: bool = False,
                        moving: list[list[int]] | None = None) -> tuple[bytes, float, bool]:
    """Screenshot once the page looked the same for `quiet_s` (or `cap_s` passed): timers, loaders,
    debounced handlers and library animations have had their turn. The first state also waits for the
    network to go idle (script loaders); later ones for a navigation's load, then the screenshots.
    Elements running an endless animation are left out of the comparison (and added to `moving`)."""
    start = time.monotonic()
    deadline = start + mode.cap_s
    for state in ("load", "networkidle") if initial else ("load",):
        try:
            await page.wait_for_load_state(state, timeout=max(1, int((deadline - time.monotonic()) * 1000)))
        except Exception:  # noqa: BLE001 - a page that never idles is settled by the screenshots below
            break
    try:
        await asyncio.wait_for(page.evaluate(SETTLE_SCRIPT), timeout=max(0.1, deadline - time.monotonic()))
    except Exception:  # noqa: BLE001 - fonts that never load, or a navigation under way
        pass
    last, since, shot = b"", time.monotonic(), b""
    while True:
        try:
            shot = await _screenshot(page, mode)
        except Exception:  # noqa: BLE001 - the page is between documents; try again
            shot = b""
        boxes = await _moving_boxes(page)
        if moving is not None:
            moving.extend(b for b in boxes if b not in moving)
        key = _masked(shot, boxes)
        now = time.monotonic()
        if key != last or not shot:
            last, since = key, now
        elif now - since >= mode.quiet_s:
            return shot, now - start, False
        if now >= deadline:
            return shot or await _screenshot(page, mode), now - start, True
        await page.wait_for_timeout(100)


async def settled_screenshot(page: Any, mode: RecordMode, initial: bool = False,
                             moving: list[list[int]] | None = None) -> tuple[bytes, float, bool]:
    """(png, seconds it took, whether the cap was hit)."""
    if mode.real:
        return await _settled_real(page, mode, initial, moving)
    return await _settled_deterministic(page, mode)


# ---------------------------------------------------------------- acting


def _scope(page: Any, action: ActionLike) -> Any:
    return page.frame_locator(action.frame) if action.frame else page


def _locator(page: Any, action: ActionLike, selector: str | None = None) -> Any:
    return _scope(page, action).locator(selector or action.selector).first


async def _target(page: Any, action: ActionLike, where: str) -> tuple[tuple[float, float], dict[str, Any]]:
    loc = _locator(page, action)
    try:
        await loc.scroll_into_view_if_needed(timeout=ACTION_TIMEOUT_MS)
        box = await loc.bounding_box(timeout=ACTION_TIMEOUT_MS)
        info = await loc.evaluate(TARGET_SCRIPT, timeout=ACTION_TIMEOUT_MS)
    except Exception as exc:  # Playwright raises its own TimeoutError/Error types
        raise UserError(f"selector {action.selector!r} is not visible on the page ({type(exc).__name__})",
                        field=where) from None
    if box is None:
        raise UserError(f"selector {action.selector!r} has no box on the page", field=where)
    if action.frame:
        info["frame"] = action.frame
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2), info


def _caption(action: ActionLike) -> str | None:
    if action.type == "Press":
        return f"Key: {action.parameters['key']}"
    if action.type == "Scroll":
        return f"Scroll {action.parameters['direction']}"
    if action.type == "Select":
        return f"Select: {action.parameters['option']}"
    return None


async def _type(page: Any, loc: Any, text: str, point: tuple[float, float], frames: list[Frame],
                mode: RecordMode) -> None:
    """Replace the field's text. Real sites get real keystrokes (their handlers listen to keys)."""
    steps = sorted({len(text) * i // 4 for i in range(1, 4)} - {0, len(text)})
    if mode.real:
        await loc.fill("", timeout=ACTION_TIMEOUT_MS)
        done = 0
        for cut in [*steps, len(text)]:
            await loc.press_sequentially(text[done:cut], delay=REAL_TYPE_DELAY_MS, timeout=ACTION_TIMEOUT_MS)
            done = cut
            if cut < len(text):
                frames.append(Frame(await _screenshot(page, mode), pointer=point))
        return
    for cut in steps:
        await loc.fill(text[:cut], timeout=ACTION_TIMEOUT_MS)
        frames.append(Frame((await settled_screenshot(page, mode))[0], pointer=point))
    await loc.fill(text, timeout=ACTION_TIMEOUT_MS)


async def _drag(page: Any, action: ActionLike, point: tuple[float, float], frames: list[Frame],
                mode: RecordMode, where: str) -> None:
    dest = _locator(page, action, action.target_selector)
    box = await dest.bounding_box(timeout=ACTION_TIMEOUT_MS)
    if box is None:
        raise UserError(f"drag target {action.target_selector!r} has no box on the page", field=where)
    end = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.move(*point)
    await page.mouse.down()
    for k in range(1, 11):
        at = (point[0] + (end[0] - point[0]) * k / 10, point[1] + (end[1] - point[1]) * k / 10)
        await page.mouse.move(*at)
        if k in (4, 8):
            frames.append(Frame(await _screenshot(page, mode), pointer=at))
    await page.mouse.up()


async def _perform(page: Any, action: ActionLike, size: tuple[int, int], point: tuple[float, float],
                   frames: list[Frame], where: str, mode: RecordMode) -> None:
    """Do one action with Playwright; add typing and dragging progress frames."""
    loc = _locator(page, action) if action.selector else None
    try:
        if action.type == "Click":
            await loc.click(timeout=ACTION_TIMEOUT_MS)
        elif action.type == "DoubleClick":
            await loc.dblclick(timeout=ACTION_TIMEOUT_MS)
        elif action.type == "Hover":
            await loc.hover(timeout=ACTION_TIMEOUT_MS)
        elif action.type == "Select":
            option = action.parameters["option"]
            try:
                await loc.select_option(label=option, timeout=ACTION_TIMEOUT_MS)
            except Exception:  # noqa: BLE001 - the option may be named by its value instead
                await loc.select_option(value=option, timeout=ACTION_TIMEOUT_MS)
        elif action.type == "Drag":
            await _drag(page, action, point, frames, mode, where)
        elif action.type == "Type":
            await _type(page, loc, action.parameters["text"], point, frames, mode)
        elif action.type == "Press":
            if loc is not None:
                await loc.focus(timeout=ACTION_TIMEOUT_MS)
            await page.keyboard.press(action.parameters["key"])
        elif action.type == "Scroll":
            amount = float(action.parameters["scroll_page"])
            direction = action.parameters["direction"]
            dx = dy = 0.0
            if direction in ("up", "down"):
                dy = amount * size[1] * (-1 if direction == "up" else 1)
            else:
                dx = amount * size[0] * (-1 if direction == "left" else 1)
            await page.mouse.move(*point)
            await page.mouse.wheel(dx, dy)
    except UserError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{action.type} failed: {first}", field=where) from None


# ---------------------------------------------------------------- the recording


async def _open_context(browser: Any, size: tuple[int, int], mode: RecordMode) -> Any:
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=1,
                                        locale="en-US", timezone_id="UTC", color_scheme="light",
                                        reduced_motion="no-preference" if mode.real else "reduce",
                                        service_workers="block")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    if not mode.real:
        await context.add_init_script(INIT_SCRIPT % mode.seed)
    return context


async def _run_actions(page: Any, actions: list[Any], size: tuple[int, int], mode: RecordMode, rec: Recording,
                       stop_on_error: bool) -> None:
    first = await settled_screenshot(page, mode, initial=True, moving=rec.moving)
    shot, rec.initial_settle_s, rec.initial_settle_capped = first
    rec.checkpoints.append(shot)
    rec.frames.append(Frame(shot, repeat=HOLD_FRAMES))
    centre = (size[0] / 2, size[1] / 2)
    point = centre
    for i, action in enumerate(actions):
        where = f"actions[{i}] ({action.type}" + (f" {action.selector}" if action.selector else "") + ")"
        trace = ActionTrace(index=i + 1, type=action.type, url_before=page.url)
        rec.actions.append(trace)
        try:
            if action.selector:
                point, trace.target = await _target(page, action, where)
            elif action.type == "Scroll":
                point = centre
            aim = (await settled_screenshot(page, mode))[0] if not mode.real else shot
            caption = _caption(action)
            rec.frames.append(Frame(aim, pointer=point, caption=caption, repeat=AIM_FRAMES))
            if action.type in ("Click", "DoubleClick"):
                rec.frames.append(Frame(aim, pointer=point, click=True))
            await _perform(page, action, size, point, rec.frames, where, mode)
        except UserError as exc:
            if stop_on_error:
                raise
            trace.error = str(exc)
            rec.failed_at = i + 1
            return
        shot, trace.settle_s, trace.settle_capped = await settled_screenshot(page, mode, moving=rec.moving)
        trace.url_after = page.url
        rec.checkpoints.append(shot)
        rec.frames.append(Frame(shot, pointer=point, caption=caption, repeat=HOLD_FRAMES))


LAUNCH_TRIES = 3


async def _launch(pw: Any, exe: str, env: dict[str, str]) -> Any:
    """Chromium, launched again when it dies while starting (seen on a machine under heavy load)."""
    for attempt in range(1, LAUNCH_TRIES + 1):
        try:
            return await pw.chromium.launch(executable_path=exe, args=LAUNCH_ARGS, env=env, headless=True)
        except Exception as exc:
            if attempt == LAUNCH_TRIES:
                raise InfrastructureError(f"cannot launch Chromium at {exe} ({attempt} tries): "
                                          f"{str(exc).splitlines()[0]}") from None
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


async def record(url: str, actions: list[Any], *, size: tuple[int, int], home: Path,
                 mode: RecordMode | None = None, stop_on_error: bool = True) -> Recording:
    """Replay the actions on `url` and capture per-action checkpoints and video frames."""
    from playwright.async_api import async_playwright

    mode = mode or RecordMode()
    exe = find_chromium()
    if exe is None:
        raise InfrastructureError("no Chromium found: install chromium or set IWRBENCH_CHROMIUM")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    rec = Recording(checkpoints=[], frames=[])
    # Chromium puts its sockets under TMPDIR: a deep folder (a test's tmp_path under xdist) passes the
    # 108-byte limit of a socket path and the browser dies while starting. A short one of its own, then.
    short_tmp = tempfile.mkdtemp(prefix="iwr-rec-")
    env = {**os.environ, "HOME": str(home), "TMPDIR": short_tmp, "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}

    async def guard(route: Any) -> None:
        req_url = route.request.url
        if req_url.startswith(origin + "/") or req_url.startswith(("data:", "blob:", "about:")):
            await route.continue_()
        else:
            rec.blocked.append(req_url)
            await route.abort("blockedbyclient")

    def on_response(resp: Any) -> None:
        if not resp.url.startswith(origin):
            return
        path = unquote(urlsplit(resp.url).path)
        if resp.status >= 400 and path != "/favicon.ico":
            rec.missing.append(f"{path} ({resp.status})")
        elif resp.status < 300 and path not in rec.requested:
            rec.requested.append(path)

    try:
        async with async_playwright() as pw:
            browser = await _launch(pw, exe, env)
            try:
                context = await _open_context(browser, size, mode)
                await context.route("**/*", guard)
                page = await context.new_page()
                if not mode.real:
                    await page.clock.set_fixed_time(FIXED_TIME)
                page.on("response", on_response)
                page.on("pageerror", lambda err: rec.page_errors.append(str(err).splitlines()[0] if str(err) else "?"))
                await page.goto(url, wait_until="load")
                await _run_actions(page, actions, size, mode, rec, stop_on_error)
                await context.close()
            finally:
                await browser.close()
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)
    return rec
