"""Chromium for the replay: one browser per worker, one sandboxed context per task.

A generated page is untrusted code. Each task gets a fresh context at the task's resolution; the
page is served over loopback HTTP from its own folder (nothing outside it is readable); every
request to another origin is aborted and counted, and a dead proxy behind the context catches what
request interception cannot see (worker WebSockets, preconnects), so nothing leaves the origin;
DNS is off; dialogs are dismissed and pop-ups closed, both logged. Every browser call has a timeout:
a page that hangs raises `PageHung` for its own task only. Browser files live in a scratch folder.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import mimetypes
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from iwrbench.errors import InfrastructureError
from iwrbench.records.evaluation import SandboxRecord
from iwrbench.sandbox.chromium_path import CHROMIUM_BASE_ARGS, find_chromium

log = logging.getLogger("iwrbench.browser")

# The recorder's flags (browser_path.CHROMIUM_BASE_ARGS: no DNS, no background connections, the same
# rendering), plus every other background service off and the DevTools port browser-use attaches to.
LAUNCH_ARGS = [
    *CHROMIUM_BASE_ARGS,
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-pings",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--remote-debugging-port=0",  # browser-use attaches over CDP; the port is read from DevToolsActivePort
    "--remote-debugging-address=127.0.0.1",
    # A page that allocates without end dies at 1 GB of JS heap (PageCrashed, its own task) instead of
    # taking ~4 GB per worker before V8's default limit, enough to start the OOM killer on a small box.
    "--js-flags=--max-old-space-size=1024",
]
# Runs before the page's own scripts in every document: seeded Math.random, and the counters that let
# settling wait for what an action started (frame callbacks, one-shot timers, animations), with every
# function it calls saved before the page could replace it. See the file's header.
INIT_SCRIPT = (Path(__file__).parent / "js" / "page_init.js").read_text(encoding="utf-8")
# Settling inside the page: the init script's __iwrSettle (cap in ms), or, in a document it did not
# reach, two frames and the finite animations.
SETTLE_SCRIPT = """
(cap) => (typeof window.__iwrSettle === 'function') ? window.__iwrSettle(cap) : new Promise(resolve => {
  let finished = false;
  const done = (why) => { if (!finished) { finished = true; resolve(why); } };
  setTimeout(() => done('cap'), cap);
  const check = () => {
    let anims = [];
    try {
      anims = document.getAnimations().filter(a => a.playState === 'running' &&
        Number.isFinite(a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming().endTime : Infinity));
    } catch (e) {}
    if (!anims.length) return done('settled');
    Promise.all(anims.map(a => a.finished.catch(() => null))).then(() => requestAnimationFrame(() => done('settled')));
  };
  requestAnimationFrame(() => requestAnimationFrame(check));
})
"""
BLANK_PAGE = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title></title></head><body></body></html>"
SAMPLE_LIMIT = 10  # how many blocked URLs / dialogs / errors are kept as examples


class PageHung(Exception):
    """The page stopped answering (a script that never yields, a load that never ends): its own fault."""


class PageCrashed(Exception):
    """The page's renderer died (out of memory, a crash): its own fault, recorded for its task."""


class PageScriptError(Exception):
    """The page broke a harness script even in an isolated world: the page's fault, recorded for its task."""


SCRIPT_ERROR = "__iwrScriptError"


def _guarded(script: str) -> str:
    """A page script as an expression that returns {__iwrScriptError: message} instead of throwing."""
    return (f"((arg) => {{ try {{ return ({script.strip()})(arg); }} catch (e) {{ "
            f"return {{{SCRIPT_ERROR}: String(e && e.message || e)}}; }} }})")


def _script_failed(value: Any) -> bool:
    return isinstance(value, dict) and SCRIPT_ERROR in value


class BrowserDied(InfrastructureError):
    """Chromium itself went away or could not start: an infrastructure error, not the page's fault."""


# ---------------------------------------------------------------- scratch environment


_BU_DIR: Path | None = None


class AbandonedTaskFilter(logging.Filter):
    """browser-use runs the parts of its DOM snapshot as fire-and-forget tasks that log their own
    failures with a traceback. When a look is abandoned (it was started ahead for an action that will
    not run, or its task hit its hard timeout), those parts fail once the session closes: noise, as
    the look's outcome no longer matters. They are dropped unless browser-use logs at DEBUG (-vv)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Exception in background task"):
            return logging.getLogger("browser_use").isEnabledFor(logging.DEBUG)
        return True


def prepare_process_env() -> Path:
    """Settings browser-use reads from the environment, set before it is imported.

    Telemetry and the version check are always off; its config folder goes to a scratch folder
    (never the user's home) unless BROWSER_USE_CONFIG_DIR is set already.
    """
    global _BU_DIR
    os.environ["ANONYMIZED_TELEMETRY"] = "false"
    os.environ["BROWSER_USE_VERSION_CHECK"] = "false"
    os.environ.setdefault("BROWSER_USE_SETUP_LOGGING", "false")
    if _BU_DIR is None:
        given = os.environ.get("BROWSER_USE_CONFIG_DIR")
        _BU_DIR = Path(given or tempfile.mkdtemp(prefix="iwrbench-browser-use-"))
        if not given:  # ours: marked, and removed when this process ends
            _mark_owner(_BU_DIR)
            atexit.register(shutil.rmtree, _BU_DIR, True)
        os.environ["BROWSER_USE_CONFIG_DIR"] = str(_BU_DIR)
    for name in ("browser_use", "cdp_use", "bubus"):
        lg = logging.getLogger(name)
        if lg.level == logging.NOTSET:
            lg.setLevel(logging.ERROR)  # its teardown warnings are noise; our steps record failures
    tasks_log = logging.getLogger("browser_use.utils")
    if not any(isinstance(f, AbandonedTaskFilter) for f in tasks_log.filters):
        tasks_log.addFilter(AbandonedTaskFilter())
    return _BU_DIR


OWNER_FILE = ".iwrbench-owner"  # "<pid> <start time>" of the process that made a scratch folder
_swept: set[str] = set()


def _start_time(pid: int) -> str | None:
    """A process's start time (Linux), which tells a reused pid apart; None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


def _mark_owner(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid()) or '-'}\n")


def _owner_gone(folder: Path) -> bool:
    """True only when the folder's owner is known and no longer running (unknown: never removed)."""
    try:
        pid_text, start = (folder / OWNER_FILE).read_text().split()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, someone else's
    now = _start_time(pid)
    return start != "-" and now is not None and now != start


def sweep_stale_scratch(parent: str | os.PathLike | None = None) -> int:
    """Remove the scratch folders (Chromium profiles, browser-use config) that runs killed with
    SIGKILL left in `parent` (default: the temp folder); once per folder and process. Returns how many."""
    parent = Path(parent or tempfile.gettempdir())
    if str(parent) in _swept:
        return 0
    _swept.add(str(parent))
    removed = 0
    with contextlib.suppress(OSError):
        for folder in parent.glob("iwrbench-*"):
            if folder.is_dir() and not folder.is_symlink() and _owner_gone(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    if removed:
        log.info("removed %d scratch folder(s) of killed runs from %s", removed, parent)
    return removed


def chromium_env(scratch: Path) -> dict[str, str]:
    """Environment for Chromium: HOME, TMPDIR and XDG folders inside the scratch folder."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN", "_SECRET"))}
    home = scratch / "home"
    for sub in ("", ".config", ".cache", ".local/share", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), TMPDIR=str(home / "tmp"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"))
    return env


# ---------------------------------------------------------------- loopback static server


class LoopbackServer:
    """Serves one page folder on 127.0.0.1:<free port>: GET/HEAD only, nothing outside the folder.

    Paths are resolved (symlinks included) and must stay inside the folder; `hidden` names (such
    as the harness's own eval/ output) are never served. A missing or empty index.html is served
    as a blank page, so a page that is not there replays as a blank page.
    """

    def __init__(self, root: Path, *, hidden: Iterable[str] = ()):
        self.root = Path(root).resolve()
        self.hidden = {h.strip("/") for h in hidden}
        self.requests = 0
        self.missing: list[str] = []
        self.denied: list[str] = []
        self.page_missing = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def start(self) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        # stop() waits for serve_forever to notice; a long poll interval would add that much to every task.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"page-server-{self.port}", daemon=True)
        self._thread.start()
        return self.origin

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def resolve(self, raw_path: str) -> tuple[int, Path | None]:
        """(status, file) for a request path: 200 with the file, or 403/404 with None."""
        path = unquote(urlsplit(raw_path).path)
        if "\x00" in path or "\\" in path:
            return 403, None
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            return 403, None
        if parts and (parts[0] in self.hidden or "/".join(parts) in self.hidden):
            return 404, None
        candidate = self.root.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except (FileNotFoundError, RuntimeError, OSError):
            return 404, None
        if real != self.root and self.root not in real.parents:
            return 403, None
        if real.is_dir():
            real = real / "index.html"
            if not real.is_file():
                return 404, None
        return (200, real) if real.is_file() else (404, None)

    def _note(self, bucket: list[str], path: str) -> None:
        with self._lock:
            if len(bucket) < SAMPLE_LIMIT * 2:
                bucket.append(path[:200])

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "iwrbench"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
                return

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                self._serve(head=True)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self._serve(head=False)

            def _refuse(self) -> None:
                self.send_error(405)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

            def _serve(self, head: bool) -> None:
                with server._lock:
                    server.requests += 1
                status, file = server.resolve(self.path)
                body: bytes
                if urlsplit(self.path).path in ("", "/") and (file is None or file.stat().st_size == 0):
                    server.page_missing = True
                    status, body, ctype = 200, BLANK_PAGE, "text/html; charset=utf-8"
                elif status != 200 or file is None:
                    server._note(server.denied if status == 403 else server.missing, self.path)
                    self.send_error(status)
                    return
                else:
                    try:
                        body = file.read_bytes()
                    except OSError:
                        server._note(server.missing, self.path)
                        self.send_error(404)
                        return
                    ctype = guess_type(file)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                if not head:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

        return Handler


def guess_type(path: Path) -> str:
    extra = {".mjs": "text/javascript", ".js": "text/javascript", ".webp": "image/webp", ".svg": "image/svg+xml",
             ".woff2": "font/woff2", ".woff": "font/woff", ".json": "application/json", ".wasm": "application/wasm"}
    ctype = extra.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in {"application/json", "image/svg+xml"}:
        ctype += "; charset=utf-8"
    return ctype


# Chromium's own background services (autofill, safe browsing ...) also reach the proxy; they are
# counted apart so `proxy_attempts` stays about what the page did. They die here all the same.
# (Playwright passes its own --disable-features list; adding a second one would replace it.)
BROWSER_SERVICE_HOSTS = ("googleapis.com", "gstatic.com", "google.com", "gvt1.com", "gvt2.com",
                         "googleusercontent.com", "chromium.org")


class Blackhole:
    """The context's proxy: accepts a connection, notes what it asked for, closes it.

    Everything that is not the page's own origin goes through the proxy, so whatever request
    interception cannot see (a WebSocket opened by a worker, a preconnect) still dies here, and is
    counted.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.background = 0
        self.samples: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="blackhole", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.2)
                try:
                    first = conn.recv(512).split(b"\r\n", 1)[0].decode("latin-1", "replace")
                except OSError:
                    first = ""
                if _is_browser_service(first):
                    self.background += 1
                    continue
                self.attempts += 1
                if first and len(self.samples) < SAMPLE_LIMIT:
                    self.samples.append(first[:200])

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()


def _is_browser_service(request_line: str) -> bool:
    parts = request_line.split()
    if len(parts) < 2:
        return False
    target = parts[1]
    host = (urlsplit(target).hostname if "://" in target else target.rsplit(":", 1)[0]) or ""
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in BROWSER_SERVICE_HOSTS)


# ---------------------------------------------------------------- the per-task sandbox


def _sample(bucket: list, item: Any) -> None:
    if len(bucket) < SAMPLE_LIMIT:
        bucket.append(item)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


NAVIGATION_RETRIES = 5
LOAD_SETTLE_CAP = 5.0  # seconds a loaded page may keep loading scripts and rendering (an AMD loader)
SETTLE_ROUNDS = 8  # settle passes per wait: each one ends when the page is quiet or starts new requests
_NAVIGATED = ("execution context was destroyed", "cannot find context with specified id", "frame was detached",
              "navigating frame was detached", "unable to capture screenshot")


def _navigated_away(exc: BaseException) -> bool:
    """Did a call fail because the page replaced its document under it?"""
    text = str(exc).lower()
    return any(marker in text for marker in _NAVIGATED)


def _is_closed_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(s in text for s in ("has been closed", "Target closed", "Browser closed", "Connection closed"))


class PageSandbox:
    """One task's context, page, loopback server and proxy. Use `Browser.open_sandbox`."""

    def __init__(self, browser: Browser, page_dir: Path, width: int, height: int, *, step_timeout: float,
                 load_timeout: float, hidden: Iterable[str]):
        self.browser = browser
        self.width, self.height = width, height
        self.step_timeout = step_timeout
        self.load_timeout = load_timeout
        self.server = LoopbackServer(page_dir, hidden=hidden)
        self.blackhole: Blackhole | None = None
        self.log = SandboxRecord()  # what the page tried that the sandbox stopped or noticed
        self.context: Any = None
        self.page: Any = None
        self.origin = ""
        self._cdp: Any = None
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._navigations = 0
        self._navigated = asyncio.Event()  # set (and replaced) at every main-frame navigation
        self.last_settle = ""
        self._world: tuple[int, int] | None = None  # (navigation count, context id) of the isolated world
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    # ------------------------------------------------------------ setup

    async def open(self) -> PageSandbox:
        self.origin = self.server.start()
        self.blackhole = Blackhole()
        port = self.server.port
        try:
            self.context = await asyncio.wait_for(self.browser.raw.new_context(
                viewport={"width": self.width, "height": self.height}, device_scale_factor=1,
                proxy={"server": self.blackhole.address, "bypass": f"127.0.0.1:{port}"},
                service_workers="block", accept_downloads=False, locale="en-US", timezone_id="UTC",
                color_scheme="light", reduced_motion="no-preference"), timeout=30)
        except Exception as exc:
            raise BrowserDied(f"could not open a browser context: {_first_line(exc)}") from exc
        self.context.set_default_timeout(self.step_timeout * 1000)
        self.context.set_default_navigation_timeout(self.load_timeout * 1000)
        await self.context.add_init_script(INIT_SCRIPT)
        # Only requests that are not plainly the page's own origin are intercepted (then judged by
        # _guard): the page's own files go straight to the loopback server instead of taking a round
        # trip through Python each (~35 ms of a page load).
        await self.context.route(re.compile(rf"^(?!http://127\.0\.0\.1:{port}/)"), self._guard)
        await self.context.route_web_socket(lambda url: True, self._guard_ws)
        self.context.on("page", self._on_page)
        self.page = await asyncio.wait_for(self.context.new_page(), timeout=30)
        page = self.page
        page.on("dialog", self._on_dialog)
        page.on("pageerror", self._on_page_error)
        page.on("crash", self._on_crash)
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_done)
        page.on("requestfailed", self._on_request_done)
        page.on("framenavigated", self._on_navigated)
        return self

    def _same_origin(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            return (parts.scheme in ("http", "ws") and parts.hostname == "127.0.0.1"
                    and parts.port == self.server.port and not parts.username and not parts.password)
        except ValueError:
            return False

    async def _guard(self, route: Any) -> None:
        request = route.request
        url = request.url
        try:
            if self._same_origin(url):
                await route.continue_()
                return
            self.log.blocked_requests += 1
            _sample(self.log.blocked_samples, url[:200])
            main_nav = False
            with contextlib.suppress(Exception):  # service-worker requests have no frame
                main_nav = request.is_navigation_request() and request.frame.parent_frame is None \
                    and request.frame.page == self.page
            if main_nav:
                # "aborted" cancels the navigation and leaves the current page in place, where
                # "blockedbyclient" would replace it with an error page.
                self.log.navigations_blocked += 1
                await route.abort("aborted")
            else:
                await route.abort("blockedbyclient")
        except Exception as exc:  # the page or context closed under the route: nothing left to guard
            if not _is_closed_error(exc):
                log.debug("route guard: %s", _first_line(exc))

    async def _guard_ws(self, ws: Any) -> None:
        if not self._same_origin(ws.url):
            self.log.websockets_blocked += 1
            self.log.blocked_requests += 1
            _sample(self.log.blocked_samples, ws.url[:200])
        with contextlib.suppress(Exception):
            await ws.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_page(self, page: Any) -> None:
        if self.page is None or page == self.page:
            return
        self.log.popups += 1
        _sample(self.log.popup_samples, (page.url or "about:blank")[:200])
        self._spawn(self._close_quietly(page))

    @staticmethod
    async def _close_quietly(page: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(page.close(), timeout=5)

    def _on_dialog(self, dialog: Any) -> None:
        self.log.dialog_count += 1
        _sample(self.log.dialogs, {"type": dialog.type, "message": str(dialog.message)[:200]})
        self._spawn(self._dismiss(dialog))

    @staticmethod
    async def _dismiss(dialog: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dialog.dismiss(), timeout=5)

    def _on_page_error(self, error: Any) -> None:
        self.log.page_error_count += 1
        _sample(self.log.page_errors, _first_line(error))

    def _on_crash(self, _page: Any) -> None:
        self.log.crashed = True

    def _on_request(self, request: Any) -> None:
        if self._same_origin(request.url):
            self._inflight += 1
            self._idle.clear()

    def _on_request_done(self, request: Any) -> None:
        if self._same_origin(request.url):
            self._inflight = max(0, self._inflight - 1)
            if self._inflight == 0:
                self._idle.set()

    def _on_navigated(self, frame: Any) -> None:
        if frame.parent_frame is None:
            self._navigations += 1
            self._navigated.set()
            self._navigated = asyncio.Event()

    @property
    def navigations(self) -> int:
        return self._navigations

    # ------------------------------------------------------------ guarded calls

    def check(self) -> None:
        """Raise if the page or the browser is already gone."""
        if self.log.crashed:
            raise PageCrashed("the page crashed")
        if not self.browser.is_alive():
            raise BrowserDied("Chromium is no longer running")

    async def call(self, what: str, coro: Awaitable[Any], timeout: float | None = None) -> Any:
        """Run one browser call under a hard timeout.

        Past the hard timeout the page is at fault (PageHung: it stopped responding, or it kept the
        call waiting that long). A Playwright call's own timeout (an element that never became
        clickable) is re-raised for the caller when the page still responds. A dead renderer is
        PageCrashed; a dead browser BrowserDied.
        """
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        timeout = self.step_timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(coro, timeout=timeout)
        except TimeoutError:
            self.check()
            alive = await self.responsive()
            why = "the page stopped responding (a script that never yields?)" if not alive else \
                f"no answer within {timeout:.0f}s"
            if not alive:
                self.log.hung = self.log.hung or f"{what}: {why}"
            raise PageHung(f"{what}: {why}") from None
        except PlaywrightTimeout:
            self.check()
            if not await self.responsive():
                self.log.hung = self.log.hung or f"{what}: the page stopped responding"
                raise PageHung(f"{what}: the page stopped responding (a script that never yields?)") from None
            raise
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            self.check()
            if self.log.crashed or "crash" in str(exc).lower():
                self.log.crashed = True
                raise PageCrashed(f"{what}: the page crashed") from exc
            raise

    async def browser_died(self) -> bool:
        """Did Chromium itself go away (an infrastructure fault)? Not when the page crashed first: a
        page that exhausts memory can take the whole browser down with it, and that is the page's
        crash. Either way the browser is marked gone, so the worker starts a new one."""
        if await self.browser.ping():
            return False
        self.browser._disconnected = True
        return not self.log.crashed

    async def responsive(self, timeout: float = 1.5) -> bool:
        """Does the page's main thread still run scripts? Raises BrowserDied when it is Chromium
        that is gone, so a dead browser is never blamed on the page."""
        try:
            await asyncio.wait_for(self.page.evaluate("1"), timeout=timeout)
            return True
        except Exception:
            if await self.browser_died():
                raise BrowserDied("Chromium stopped answering") from None
            if not self.browser.is_alive():  # the page crashed first and took the browser with it: its fault
                raise PageCrashed("the page crashed (and Chromium with it)") from None
            return False

    async def evaluate(self, script: str, arg: Any = None, *, timeout: float | None = None,
                       what: str = "evaluate") -> Any:
        """page.evaluate has no timeout of its own: always go through here.

        A page that replaces its own document (a reload loop, a redirect in a script) destroys the
        context an evaluation runs in; the evaluation is retried on the new document a few times, and a
        page that never holds still is the page's fault (PageHung), never the harness's."""
        return await self._steady(what, lambda: self.page.evaluate(script, arg), timeout)

    async def _steady(self, what: str, make: Callable[[], Awaitable[Any]], timeout: float | None) -> Any:
        """`call` for reads that a navigating page can break (evaluate, screenshot): retried on the new
        document; a page that keeps navigating ends as PageHung (its own fault)."""
        for _ in range(NAVIGATION_RETRIES):
            navigations = self._navigations
            try:
                return await self.call(what, make(), timeout)
            except (PageHung, PageCrashed, BrowserDied):
                raise
            except Exception as exc:
                # A screenshot can also just time out while the document is being replaced under it.
                if not (_navigated_away(exc) or self._navigations != navigations):
                    raise
                self.log.context_resets += 1
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.page.wait_for_load_state("domcontentloaded", timeout=2000), timeout=3)
        self.log.hung = self.log.hung or f"{what}: the page keeps replacing its document"
        raise PageHung(f"{what}: the page keeps replacing its document (a navigation loop?)")

    async def load(self) -> None:
        """Navigate to the page and wait for it to load; raises PageHung if it never does."""
        try:
            await asyncio.wait_for(self.page.goto(self.origin + "/", wait_until="commit",
                                                  timeout=self.load_timeout * 1000), timeout=self.load_timeout + 2)
        except Exception as exc:
            self.check()
            if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
                self.log.hung = "load: the page did not start loading in time"
                raise PageHung(self.log.hung) from None
            raise
        deadline = time.monotonic() + self.load_timeout
        try:
            await asyncio.wait_for(self.page.wait_for_load_state("domcontentloaded", timeout=self.load_timeout * 1000),
                                   timeout=self.load_timeout + 2)
        except Exception as exc:
            self.check()
            if not await self.responsive():
                self.log.hung = "load: the page's scripts never yielded while loading"
                raise PageHung(self.log.hung) from None
            log.debug("domcontentloaded wait: %s", _first_line(exc))
        # The load event may wait on a slow or blocked resource: wait a little, not the full timeout.
        remaining = max(0.1, min(3.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.page.wait_for_load_state("load", timeout=remaining * 1000),
                                   timeout=remaining + 1)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.page.evaluate("document.fonts ? document.fonts.ready.then(() => 1) : 1"),
                                   timeout=min(2.0, self.step_timeout))
        await self.settle(cap=LOAD_SETTLE_CAP)

    async def settle(self, cap: float = 0.4, *, navigated: bool = False,
                     then: tuple[str, Any] | None = None) -> Any:
        """Event-driven wait after an action, within `cap` seconds: the navigation it started (its load),
        the page's same-origin requests, then inside the page its frame callbacks, animations and
        one-shot timers due within the cap (page_init.js); repeated while that work starts new requests
        or a navigation. `then` is a page script and its argument, run in the page as soon as it has
        settled, in the same round trip; its result is returned (None without it).
        `last_settle` says how the wait ended: "settled", or "cap" when the page was still busy."""
        deadline = time.monotonic() + cap
        navs = self._navigations - (1 if navigated else 0)
        script, arg = then if then is not None else ("() => null", None)
        both = (f"async ([cap, arg]) => {{ const why = await ({SETTLE_SCRIPT.strip()})(cap); "
                f"return [why, {_guarded(script)}(arg)]; }}")
        value: Any = None
        self.last_settle = "cap"
        for _ in range(SETTLE_ROUNDS):
            if self._navigations != navs:
                navs = self._navigations
                with contextlib.suppress(Exception):
                    remain = max(0.05, deadline - time.monotonic())
                    await asyncio.wait_for(self.page.wait_for_load_state("load", timeout=remain * 1000),
                                           timeout=remain + 0.5)
            if not self._idle.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), timeout=max(0.01, deadline - time.monotonic()))
            remain_ms = max(30.0, (deadline - time.monotonic()) * 1000)
            timeout = remain_ms / 1000 + self.step_timeout / 2
            why, value = await self.evaluate(both, [remain_ms, arg], timeout=timeout,
                                             what="waiting for the page to settle and reading it")
            if why == "navigating" and self._navigations == navs:
                # The page is being replaced but the new document has not arrived: wait for it (a
                # cancelled navigation ends the wait at the cap, and the page says so after 2 s).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._navigated.wait(), timeout=max(0.01, deadline - time.monotonic()))
            busy = not self._idle.is_set() or self._navigations != navs or why == "navigating"
            if why == "settled" and not busy:
                self.last_settle = "settled"
                break
            if time.monotonic() >= deadline:
                break
        if then is None:
            return None
        if _script_failed(value):
            value = await self._read_isolated(script, arg, "reading the page", value)
        return value

    async def read(self, script: str, arg: Any = None, *, what: str = "reading the page") -> Any:
        """Run one of the harness's read-only page scripts. In the page's own world first (one round
        trip); when the page has broken what the script calls (a library that replaces DOM methods),
        again in an isolated world, where the page's changes to globals and prototypes do not reach."""
        value = await self.evaluate(f"(arg) => {_guarded(script)}(arg)", arg, what=what)
        if _script_failed(value):
            value = await self._read_isolated(script, arg, what, value)
        return value

    async def _read_isolated(self, script: str, arg: Any, what: str, failed: dict[str, Any]) -> Any:
        self.log.isolated_reads += 1
        _sample(self.log.script_errors, str(failed.get(SCRIPT_ERROR, ""))[:200])
        try:
            return await self.evaluate_isolated(script, arg, what=what)
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            raise PageScriptError(f"{what}: the page breaks the harness's script in its own world "
                                  f"({failed.get(SCRIPT_ERROR)}) and in an isolated one ({_first_line(exc)})") from None

    async def evaluate_isolated(self, script: str, arg: Any = None, *, what: str = "evaluate") -> Any:
        """Call `script` (a function's source) with `arg` in an isolated world of the page's main frame:
        the same DOM, none of the page's JavaScript changes. Over CDP, under the same timeouts."""
        session = await self.cdp()
        for attempt in range(NAVIGATION_RETRIES):
            if self._world is None or self._world[0] != self._navigations:
                tree = await self.call("frame tree", session.send("Page.getFrameTree"))
                made = await self.call("isolated world", session.send("Page.createIsolatedWorld", {
                    "frameId": tree["frameTree"]["frame"]["id"], "worldName": "iwrbench",
                    "grantUniveralAccess": True}))
                self._world = (self._navigations, int(made["executionContextId"]))
            try:
                res = await self.call(what, session.send("Runtime.callFunctionOn", {
                    "functionDeclaration": script, "executionContextId": self._world[1],
                    "arguments": [{"value": arg}], "returnByValue": True, "awaitPromise": True}))
            except (PageHung, PageCrashed, BrowserDied):
                raise
            except Exception as exc:
                if attempt + 1 < NAVIGATION_RETRIES and "context" in str(exc).lower():
                    self._world = None  # the document was replaced: a new world on the new one
                    continue
                raise
            if res.get("exceptionDetails"):
                details = res["exceptionDetails"]
                text = (details.get("exception") or {}).get("description") or details.get("text") or "error"
                raise RuntimeError(str(text).splitlines()[0])
            return (res.get("result") or {}).get("value")
        raise PageHung(f"{what}: the page keeps replacing its document")

    async def screenshot(self, path: Path | None = None) -> bytes:
        """Viewport PNG at the task's resolution (written atomically when `path` is given)."""
        from iwrbench.fsutil import atomic_write_bytes

        data = await self._steady("screenshot", lambda: self.page.screenshot(type="png", caret="hide",
                                                                             timeout=self.step_timeout * 1000),
                                  timeout=self.step_timeout + 2)
        if path is not None:
            atomic_write_bytes(path, data)
        return data

    async def cdp(self) -> Any:
        """A Playwright CDP session on the page (for mapping browser-use node ids to handles)."""
        if self._cdp is None:
            self._cdp = await self.call("cdp session", self.context.new_cdp_session(self.page), timeout=10)
        return self._cdp

    async def target_id(self) -> str:
        session = await self.cdp()
        info = await self.call("target info", session.send("Target.getTargetInfo"), timeout=10)
        return str(info["targetInfo"]["targetId"])

    async def handle_for_node(self, backend_node_id: int) -> Any | None:
        """An ElementHandle for a DOM node known by its backendNodeId (browser-use's node id).

        The node is resolved over CDP and handed to Playwright through a one-use global that is
        deleted at once; None when the node no longer exists.
        """
        session = await self.cdp()
        key = "__iwr_" + secrets.token_hex(8)
        try:
            resolved = await self.call("resolve node", session.send("DOM.resolveNode", {"backendNodeId": backend_node_id}))
        except (PageHung, PageCrashed):
            raise
        except Exception as exc:
            log.debug("resolve node %s: %s", backend_node_id, _first_line(exc))
            return None
        object_id = resolved.get("object", {}).get("objectId")
        if not object_id:
            return None
        put = ("function(k){ try { Object.defineProperty(globalThis, k, {value: this, configurable: true}); "
               "return true; } catch (e) { return false; } }")
        try:
            res = await self.call("hand over node", session.send("Runtime.callFunctionOn", {
                "objectId": object_id, "functionDeclaration": put, "arguments": [{"value": key}],
                "returnByValue": True}))
        except (PageHung, PageCrashed):
            raise
        except Exception as exc:
            log.debug("hand over node %s: %s", backend_node_id, _first_line(exc))
            return None
        finally:  # off the step's path: the next round trip need not wait for it
            self._spawn(self._release(session, object_id))
        if not res.get("result", {}).get("value"):
            return None
        take = "(k) => { const e = globalThis[k]; try { delete globalThis[k]; } catch (x) {} return e || null; }"
        frames = [self.page.main_frame] + [f for f in self.page.frames if f != self.page.main_frame]
        for frame in frames:
            try:
                handle = await self.call("take node", frame.evaluate_handle(take, key))
            except (PageHung, PageCrashed):
                raise
            except Exception:
                continue
            element = handle.as_element()
            if element is not None:
                return element
            with contextlib.suppress(Exception):
                await handle.dispose()
        return None

    @staticmethod
    async def _release(session: Any, object_id: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.send("Runtime.releaseObject", {"objectId": object_id}), timeout=2)

    def info(self) -> dict[str, Any]:
        """The sandbox record for eval.json."""
        lg = self.log
        lg.missing_files = list(self.server.missing[:SAMPLE_LIMIT])
        lg.denied_paths = list(self.server.denied[:SAMPLE_LIMIT])
        lg.page_missing = self.server.page_missing
        lg.requests_served = self.server.requests
        if self.blackhole is not None:
            lg.proxy_attempts = self.blackhole.attempts
            lg.proxy_samples = list(self.blackhole.samples)
            lg.browser_service_attempts = self.blackhole.background
        return lg.model_dump()

    async def close(self) -> None:
        """Close the context (works on a hung page too), stop the server and the proxy. Never raises."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self.context is not None:
            try:
                await asyncio.wait_for(self.context.close(), timeout=10)
            except Exception as exc:
                log.warning("closing a task's browser context failed: %s", _first_line(exc))
        self.info()  # freeze the counters before the server goes away
        await asyncio.to_thread(self.server.stop)
        if self.blackhole is not None:
            self.blackhole.close()


# ---------------------------------------------------------------- the browser


class _Launch:
    """`await Browser.launch()` or `async with Browser.launch() as browser:`."""

    def __init__(self, factory: Callable[[], Awaitable[Browser]]):
        self._factory = factory
        self._browser: Browser | None = None

    def __await__(self):
        return self._factory().__await__()

    async def __aenter__(self) -> Browser:
        self._browser = await self._factory()
        return self._browser

    async def __aexit__(self, *exc: Any) -> None:
        if self._browser is not None:
            await self._browser.close()


class Browser:
    """One Chromium (one per worker), reused across tasks; each task gets its own sandbox."""

    def __init__(self, name: str, scratch: Path, own_scratch: bool, executable: str):
        self.name = name
        self.scratch = scratch
        self._own_scratch = own_scratch
        self.executable = executable
        self._pw: Any = None
        self._persistent: Any = None
        self.raw: Any = None  # playwright Browser
        self.cdp_url = ""
        self._closed = False
        self._disconnected = False

    @classmethod
    def launch(cls, *, name: str = "browser", scratch: Path | None = None, executable: str | None = None,
               headless: bool = True, timeout: float = 60.0) -> _Launch:
        async def factory() -> Browser:
            exe = executable or find_chromium()
            if not exe:
                raise BrowserDied("no Chromium found: set IWRBENCH_CHROMIUM or install chromium")
            own = scratch is None
            prefix = f"iwrbench-{_safe(name)}-"
            parent = _scratch_parent(prefix)
            if own:
                await asyncio.to_thread(sweep_stale_scratch, parent)
            root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent)) if own else Path(scratch)
            root.mkdir(parents=True, exist_ok=True)
            if own:
                _mark_owner(root)
            browser = cls(name, root, own, exe)
            try:
                await asyncio.wait_for(browser._start(headless), timeout=timeout)
            except BaseException as exc:
                await browser.close()
                if isinstance(exc, BrowserDied):
                    raise
                if isinstance(exc, TimeoutError):
                    raise BrowserDied(f"Chromium did not start within {timeout:.0f}s") from None
                if isinstance(exc, Exception):
                    raise BrowserDied(f"could not start Chromium ({exe}): {_first_line(exc)}") from exc
                raise
            return browser

        return _Launch(factory)

    async def _start(self, headless: bool) -> None:
        from playwright.async_api import async_playwright

        prepare_process_env()
        profile = self.scratch / "profile"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)
        self._pw = await async_playwright().start()
        self._persistent = await self._pw.chromium.launch_persistent_context(
            str(profile), executable_path=self.executable, headless=headless, args=LAUNCH_ARGS,
            env=chromium_env(self.scratch), accept_downloads=False, service_workers="block",
            viewport={"width": 800, "height": 600})
        self.raw = self._persistent.browser
        if self.raw is None:
            raise BrowserDied("Playwright gave no browser handle for the persistent context")
        self.raw.on("disconnected", self._on_disconnected)
        self.cdp_url = await asyncio.to_thread(_read_devtools_port, profile, 10.0)

    def _on_disconnected(self, *_: Any) -> None:
        self._disconnected = True

    async def ping(self, timeout: float = 3.0) -> bool:
        """Ask the browser process itself (not a page) whether it still answers."""
        if not self.is_alive():
            return False
        try:
            await asyncio.wait_for(self._persistent.cookies(), timeout=timeout)
            return True
        except Exception:
            return False

    def is_alive(self) -> bool:
        return bool(self.raw is not None and not self._closed and not self._disconnected and self.raw.is_connected())

    async def open_sandbox(self, page_dir: Path, width: int, height: int, *, step_timeout: float = 10.0,
                           load_timeout: float = 15.0, hidden: Iterable[str] = ("eval", "generation.json"),
                           ) -> PageSandbox:
        """A fresh context at width x height serving `page_dir` on its own loopback origin."""
        if not self.is_alive():
            raise BrowserDied("Chromium is no longer running")
        sandbox = PageSandbox(self, Path(page_dir), width, height, step_timeout=step_timeout,
                              load_timeout=load_timeout, hidden=hidden)
        try:
            return await asyncio.wait_for(sandbox.open(), timeout=60)
        except TimeoutError:
            await sandbox.close()
            raise BrowserDied("Chromium did not open a browser context within 60s") from None
        except BaseException:
            await sandbox.close()
            raise

    async def close(self) -> None:
        """Close Chromium and Playwright and remove the scratch folder. Never raises."""
        if self._closed:
            return
        self._closed = True
        if self._persistent is not None:
            try:
                await asyncio.wait_for(self._persistent.close(), timeout=15)
            except Exception as exc:
                log.warning("closing Chromium failed: %s", _first_line(exc))
        if self._pw is not None:
            try:
                await asyncio.wait_for(self._pw.stop(), timeout=15)
            except Exception as exc:
                log.warning("stopping Playwright failed: %s", _first_line(exc))
        if self._own_scratch:
            await asyncio.to_thread(shutil.rmtree, self.scratch, True)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _read_devtools_port(profile: Path, timeout: float) -> str:
    """Chromium writes the port chosen for --remote-debugging-port=0 to DevToolsActivePort."""
    path = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            first = path.read_text().split("\n", 1)[0].strip()
            if first.isdigit():
                return f"http://127.0.0.1:{first}"
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise BrowserDied(f"Chromium wrote no DevToolsActivePort in {profile}")


# Chromium makes a Unix socket under its TMPDIR (scratch/home/tmp, see chromium_env); socket paths hold
# at most 107 bytes and Chromium aborts at start ("Socket path too long") past that.
_SOCKET_TAIL = "/home/tmp/org.chromium.Chromium.XXXXXX/SingletonSocket"
_SOCKET_PATH_MAX = 100


def _scratch_parent(prefix: str) -> str | None:
    """Where a browser's scratch folder goes: the system temp folder, unless its path is so long that
    Chromium's socket would not fit (a deep TMPDIR); then the first short writable temp folder."""
    def fits(base: str) -> bool:
        return len(os.path.join(base, prefix + "x" * 8)) + len(_SOCKET_TAIL) <= _SOCKET_PATH_MAX

    default = tempfile.gettempdir()
    if fits(default):
        return None
    for alt in ("/tmp", "/var/tmp", "/dev/shm"):
        if fits(alt) and os.path.isdir(alt) and os.access(alt, os.W_OK | os.X_OK):
            log.debug("TMPDIR %s is too long for Chromium's socket; browser scratch goes to %s", default, alt)
            return alt
    return None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "browser"
