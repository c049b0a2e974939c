"""One task's sandbox: a fresh browser context on the page's own loopback origin, and every call into it.

A generated page is untrusted code. Each task gets a context at its resolution, serving its page folder
(page_server) with traffic to anywhere else stopped (traffic); dialogs are dismissed and pop-ups closed,
both noted in the task's sandbox record. Every call into the page goes through `PageSandbox.call`, under
a hard timeout that tells the page's faults (it hung, it crashed: PageHung, PageCrashed, its own task
only) from the browser's (BrowserDied). Waiting on the page is in settling, the CDP session in page_cdp.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from iwrbench.records.evaluation import SandboxRecord
from iwrbench.sandbox.faults import (
    NAVIGATION_RETRIES,
    SAMPLE_LIMIT,
    BrowserDied,
    PageCrashed,
    PageHung,
    PageScriptError,
    first_line,
    navigated_away,
    sample,
)
from iwrbench.sandbox.page_cdp import PageCdp
from iwrbench.sandbox.page_scripts import INIT_SCRIPT, SCRIPT_ERROR, guarded, script_failed
from iwrbench.sandbox.page_server import LoopbackServer
from iwrbench.sandbox.settling import PageActivity
from iwrbench.sandbox.traffic import Blackhole, TrafficGuard

log = logging.getLogger("iwrbench.browser")

LOAD_SETTLE_CAP = 5.0  # seconds a loaded page may keep loading scripts and rendering (an AMD loader)


class HostBrowser(Protocol):
    """What a sandbox needs of the `browser.Browser` that opened it (not imported: it imports this)."""

    raw: Any  # the Playwright Browser
    scratch: Path
    cdp_url: str

    def is_alive(self) -> bool: ...

    async def ping(self, timeout: float = 3.0) -> bool: ...

    def mark_gone(self) -> None: ...


class PageSandbox:
    """One task's context, page, loopback server and proxy. Use `Browser.open_sandbox`."""

    def __init__(self, browser: HostBrowser, page_dir: Path, width: int, height: int, *, step_timeout: float,
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
        self.guard = TrafficGuard(self.server, self.log, lambda: self.page)
        self.activity = PageActivity(self.guard.same_origin)
        self.devtools: PageCdp | None = None  # once the page is open
        self.last_settle = ""
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
            raise BrowserDied(f"could not open a browser context: {first_line(exc)}") from exc
        self.context.set_default_timeout(self.step_timeout * 1000)
        self.context.set_default_navigation_timeout(self.load_timeout * 1000)
        await self.context.add_init_script(INIT_SCRIPT)
        await self.guard.install(self.context)
        self.context.on("page", self._on_page)
        self.page = await asyncio.wait_for(self.context.new_page(), timeout=30)
        page = self.page
        page.on("dialog", self._on_dialog)
        page.on("pageerror", self._on_page_error)
        page.on("crash", self._on_crash)
        self.activity.watch(page)
        self.devtools = PageCdp(self.context, page, self.call, lambda: self.activity.navigations, self._spawn)
        return self

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_page(self, page: Any) -> None:
        if self.page is None or page == self.page:
            return
        self.log.popups += 1
        sample(self.log.popup_samples, (page.url or "about:blank")[:200])
        self._spawn(self._close_quietly(page))

    @staticmethod
    async def _close_quietly(page: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(page.close(), timeout=5)

    def _on_dialog(self, dialog: Any) -> None:
        self.log.dialog_count += 1
        sample(self.log.dialogs, {"type": dialog.type, "message": str(dialog.message)[:200]})
        self._spawn(self._dismiss(dialog))

    @staticmethod
    async def _dismiss(dialog: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dialog.dismiss(), timeout=5)

    def _on_page_error(self, error: Any) -> None:
        self.log.page_error_count += 1
        sample(self.log.page_errors, first_line(error))

    def _on_crash(self, _page: Any) -> None:
        self.log.crashed = True

    @property
    def navigations(self) -> int:
        return self.activity.navigations

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
        self.browser.mark_gone()
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
            navigations = self.activity.navigations
            try:
                return await self.call(what, make(), timeout)
            except (PageHung, PageCrashed, BrowserDied):
                raise
            except Exception as exc:
                # A screenshot can also just time out while the document is being replaced under it.
                if not (navigated_away(exc) or self.activity.navigations != navigations):
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
            log.debug("domcontentloaded wait: %s", first_line(exc))
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
        script, arg = then if then is not None else ("() => null", None)
        self.last_settle = "cap"
        self.last_settle, value = await self.activity.settle(
            self.page, self.evaluate, cap, navigated=navigated, script=script, arg=arg,
            step_timeout=self.step_timeout)
        if then is None:
            return None
        if script_failed(value):
            value = await self._read_isolated(script, arg, "reading the page", value)
        return value

    async def read(self, script: str, arg: Any = None, *, what: str = "reading the page") -> Any:
        """Run one of the harness's read-only page scripts. In the page's own world first (one round
        trip); when the page has broken what the script calls (a library that replaces DOM methods),
        again in an isolated world, where the page's changes to globals and prototypes do not reach."""
        value = await self.evaluate(f"(arg) => {guarded(script)}(arg)", arg, what=what)
        if script_failed(value):
            value = await self._read_isolated(script, arg, what, value)
        return value

    async def _read_isolated(self, script: str, arg: Any, what: str, failed: dict[str, Any]) -> Any:
        self.log.isolated_reads += 1
        sample(self.log.script_errors, str(failed.get(SCRIPT_ERROR, ""))[:200])
        try:
            return await self.evaluate_isolated(script, arg, what=what)
        except (PageHung, PageCrashed, BrowserDied):
            raise
        except Exception as exc:
            raise PageScriptError(f"{what}: the page breaks the harness's script in its own world "
                                  f"({failed.get(SCRIPT_ERROR)}) and in an isolated one ({first_line(exc)})") from None

    async def evaluate_isolated(self, script: str, arg: Any = None, *, what: str = "evaluate") -> Any:
        """Call `script` (a function's source) with `arg` in an isolated world of the page's main frame:
        the same DOM, none of the page's JavaScript changes (PageCdp.evaluate_isolated)."""
        return await self._cdp.evaluate_isolated(script, arg, what=what)

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
        return await self._cdp.cdp()

    async def target_id(self) -> str:
        return await self._cdp.target_id()

    async def handle_for_node(self, backend_node_id: int) -> Any | None:
        """An ElementHandle for a DOM node known by its backendNodeId (browser-use's node id); None when
        the node no longer exists (PageCdp.handle_for_node)."""
        return await self._cdp.handle_for_node(backend_node_id)

    @property
    def _cdp(self) -> PageCdp:
        assert self.devtools is not None, "the sandbox is not open"
        return self.devtools

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
                log.warning("closing a task's browser context failed: %s", first_line(exc))
        self.info()  # freeze the counters before the server goes away
        await asyncio.to_thread(self.server.stop)
        if self.blackhole is not None:
            self.blackhole.close()
