"""Traffic that must not leave the page's origin: stopped in the browser, and caught behind it.

Two layers. `TrafficGuard` judges what request interception sees: the page's own origin passes, every
other request and WebSocket is aborted and noted in the task's sandbox record. `Blackhole` is the
context's proxy, where whatever interception cannot see (a worker's WebSocket, a preconnect) dies, counted
apart from Chromium's own background services. Apart from the sandbox, which wires both into a context.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from iwrbench.records.evaluation import SandboxRecord
from iwrbench.sandbox.faults import SAMPLE_LIMIT, first_line, is_closed_error, sample
from iwrbench.sandbox.page_server import LoopbackServer

log = logging.getLogger("iwrbench.browser")


class TrafficGuard:
    """The context's routes: the loopback server's origin passes, every other request is aborted.

    Only requests that are not plainly the page's own origin are intercepted: the page's own files go
    straight to the loopback server instead of taking a round trip through Python each (~35 ms of a
    page load). Blocked requests are noted in `record`. `main_page` gives the task's page (None before it
    opens), whose blocked navigations are cancelled instead of replaced by an error page.
    """

    def __init__(self, server: LoopbackServer, record: SandboxRecord, main_page: Callable[[], Any]):
        self.server = server
        self.record = record
        self._main_page = main_page

    async def install(self, context: Any) -> None:
        """Route the context's requests and WebSockets through the guard (the server has started)."""
        await context.route(re.compile(rf"^(?!http://127\.0\.0\.1:{self.server.port}/)"), self._guard)
        await context.route_web_socket(lambda url: True, self._guard_ws)

    def same_origin(self, url: str) -> bool:
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
            if self.same_origin(url):
                await route.continue_()
                return
            self.record.blocked_requests += 1
            sample(self.record.blocked_samples, url[:200])
            main_nav = False
            with contextlib.suppress(Exception):  # service-worker requests have no frame
                main_nav = request.is_navigation_request() and request.frame.parent_frame is None \
                    and request.frame.page == self._main_page()
            if main_nav:
                # "aborted" cancels the navigation and leaves the current page in place, where
                # "blockedbyclient" would replace it with an error page.
                self.record.navigations_blocked += 1
                await route.abort("aborted")
            else:
                await route.abort("blockedbyclient")
        except Exception as exc:  # the page or context closed under the route: nothing left to guard
            if not is_closed_error(exc):
                log.debug("route guard: %s", first_line(exc))

    async def _guard_ws(self, ws: Any) -> None:
        if not self.same_origin(ws.url):
            self.record.websockets_blocked += 1
            self.record.blocked_requests += 1
            sample(self.record.blocked_samples, ws.url[:200])
        with contextlib.suppress(Exception):
            await ws.close()


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
