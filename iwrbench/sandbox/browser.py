"""Chromium for the replay: one browser per worker, reused across tasks, one sandbox per task.

`Browser.launch` finds and starts Chromium through Playwright (a persistent context in a scratch folder,
with every background service off and a DevTools port browser-use attaches to), and `open_sandbox` gives
each task its own `PageSandbox`. A browser that cannot start or goes away raises `BrowserDied`, an
infrastructure error. The sandbox, its server and its traffic filter live in their own modules.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from iwrbench.sandbox.chromium_path import CHROMIUM_BASE_ARGS, find_chromium
from iwrbench.sandbox.faults import BrowserDied, first_line
from iwrbench.sandbox.page_sandbox import PageSandbox
from iwrbench.sandbox.page_server import HARNESS_FILES
from iwrbench.sandbox.scratch import (
    chromium_env,
    mark_owner,
    prepare_process_env,
    scratch_parent,
    sweep_stale_scratch,
)

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
            parent = scratch_parent(prefix)
            if own:
                await asyncio.to_thread(sweep_stale_scratch, parent)
            root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent)) if own else Path(scratch)
            root.mkdir(parents=True, exist_ok=True)
            if own:
                mark_owner(root)
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
                    raise BrowserDied(f"could not start Chromium ({exe}): {first_line(exc)}") from exc
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

    def mark_gone(self) -> None:
        """Taken as gone from now on (it stopped answering), so its worker starts a new one."""
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
                           load_timeout: float = 15.0, hidden: Iterable[str] = HARNESS_FILES,
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
                log.warning("closing Chromium failed: %s", first_line(exc))
        if self._pw is not None:
            try:
                await asyncio.wait_for(self._pw.stop(), timeout=15)
            except Exception as exc:
                log.warning("stopping Playwright failed: %s", first_line(exc))
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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40] or "browser"
