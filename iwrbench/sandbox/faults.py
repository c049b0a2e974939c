"""What can go wrong in a sandboxed page, whose fault it is, and how it is noted.

A page that hangs or crashes is its own task's fault (recorded for that task, the run goes on); a browser
that dies is an infrastructure error (never scored as the model's failure). Every part of the sandbox
raises these and reads Playwright's error text the same way, so they live apart from all of them.
"""

from __future__ import annotations

from typing import Any

from iwrbench.errors import InfrastructureError

SAMPLE_LIMIT = 10  # how many blocked URLs / dialogs / errors are kept as examples
NAVIGATION_RETRIES = 5  # how often a call is tried again on a page that replaced its document under it
_NAVIGATED = ("execution context was destroyed", "cannot find context with specified id", "frame was detached",
              "navigating frame was detached", "unable to capture screenshot")


class PageHung(Exception):
    """The page stopped answering (a script that never yields, a load that never ends): its own fault."""


class PageCrashed(Exception):
    """The page's renderer died (out of memory, a crash): its own fault, recorded for its task."""


class PageScriptError(Exception):
    """The page broke a harness script even in an isolated world: the page's fault, recorded for its task."""


class BrowserDied(InfrastructureError):
    """Chromium itself went away or could not start: an infrastructure error, not the page's fault."""


def sample(bucket: list, item: Any) -> None:
    """Keep `item` as an example unless `bucket` holds SAMPLE_LIMIT already."""
    if len(bucket) < SAMPLE_LIMIT:
        bucket.append(item)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def navigated_away(exc: BaseException) -> bool:
    """Did a call fail because the page replaced its document under it?"""
    text = str(exc).lower()
    return any(marker in text for marker in _NAVIGATED)


def is_closed_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(s in text for s in ("has been closed", "Target closed", "Browser closed", "Connection closed"))
