"""The sandbox's DevTools (CDP) session on a task's page: what Playwright's page API does not offer.

Two jobs need the raw protocol: running a harness script in an isolated world (the same DOM, none of the
page's JavaScript changes), for a page that broke the script in its own world; and turning a DOM node
known by its backendNodeId (browser-use's node id) into a Playwright ElementHandle. Apart from the
sandbox, which owns one per page and passes in its guarded call, so every round trip here has the same
timeouts and fault handling as the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from iwrbench.sandbox.faults import NAVIGATION_RETRIES, BrowserDied, PageCrashed, PageHung, first_line

log = logging.getLogger("iwrbench.browser")


class PageCdp:
    """A lazily opened CDP session on `page`. `call` is the sandbox's guarded call (a name, an awaitable,
    a timeout), `navigations` counts the page's main-frame navigations, `spawn` runs a task the sandbox
    cancels when it closes."""

    def __init__(self, context: Any, page: Any, call: Callable[..., Awaitable[Any]],
                 navigations: Callable[[], int], spawn: Callable[[Awaitable[Any]], None]):
        self.context = context
        self.page = page
        self.call = call
        self._navigations = navigations
        self._spawn = spawn
        self._cdp: Any = None
        self._world: tuple[int, int] | None = None  # (navigation count, context id) of the isolated world

    async def cdp(self) -> Any:
        """A Playwright CDP session on the page."""
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
            log.debug("resolve node %s: %s", backend_node_id, first_line(exc))
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
            log.debug("hand over node %s: %s", backend_node_id, first_line(exc))
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

    async def evaluate_isolated(self, script: str, arg: Any = None, *, what: str = "evaluate") -> Any:
        """Call `script` (a function's source) with `arg` in an isolated world of the page's main frame:
        the same DOM, none of the page's JavaScript changes. Over CDP, under the same timeouts."""
        session = await self.cdp()
        for attempt in range(NAVIGATION_RETRIES):
            if self._world is None or self._world[0] != self._navigations():
                tree = await self.call("frame tree", session.send("Page.getFrameTree"))
                made = await self.call("isolated world", session.send("Page.createIsolatedWorld", {
                    "frameId": tree["frameTree"]["frame"]["id"], "worldName": "iwrbench",
                    "grantUniveralAccess": True}))
                self._world = (self._navigations(), int(made["executionContextId"]))
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
