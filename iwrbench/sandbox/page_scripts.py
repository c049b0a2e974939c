"""The sandbox's own JavaScript and how it runs in an untrusted page.

The scripts live in js/ beside this module: page_init.js runs before the page's own scripts in every
document (seeded Math.random, the counters settling waits on); settle.js is the wait itself. Any script
the harness runs in the page's world is *guarded*: a page that broke what the script calls (a library
that replaces DOM methods) makes it return a marked error instead of throwing, so the sandbox can tell
that apart and run the script again in an isolated world.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_JS = Path(__file__).parent / "js"
# Runs before the page's own scripts in every document: seeded Math.random, and the counters that let
# settling wait for what an action started (frame callbacks, one-shot timers, animations), with every
# function it calls saved before the page could replace it. See the file's header.
INIT_SCRIPT = (_JS / "page_init.js").read_text(encoding="utf-8")
# Settling inside the page: the init script's __iwrSettle (cap in ms), or, in a document it did not
# reach, two frames and the finite animations.
SETTLE_SCRIPT = (_JS / "settle.js").read_text(encoding="utf-8")
SCRIPT_ERROR = "__iwrScriptError"


def guarded(script: str) -> str:
    """A page script as an expression that returns {__iwrScriptError: message} instead of throwing."""
    return (f"((arg) => {{ try {{ return ({script.strip()})(arg); }} catch (e) {{ "
            f"return {{{SCRIPT_ERROR}: String(e && e.message || e)}}; }} }})")


def script_failed(value: Any) -> bool:
    return isinstance(value, dict) and SCRIPT_ERROR in value


def settle_then(script: str) -> str:
    """One page call that settles (within its cap in ms), then runs the guarded `script` on its argument:
    called with [cap, arg], it returns [how the wait ended, the script's value]."""
    return (f"async ([cap, arg]) => {{ const why = await ({SETTLE_SCRIPT.strip()})(cap); "
            f"return [why, {guarded(script)}(arg)]; }}")
