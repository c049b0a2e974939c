"""Where the browser's files go: scratch folders, never the user's home, and never left behind.

Chromium's profile, HOME, TMPDIR and XDG folders and browser-use's config folder live in scratch folders
under the temp folder, each marked with its owner's pid and start time, so a later run removes those of a
run killed with SIGKILL (and only those). Also the environment both are given: no API key for Chromium,
no telemetry for browser-use. Apart from the browser, which only calls these when it launches.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("iwrbench.browser")

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
            mark_owner(_BU_DIR)
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


def mark_owner(folder: Path) -> None:
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


# Chromium makes a Unix socket under its TMPDIR (scratch/home/tmp, see chromium_env); socket paths hold
# at most 107 bytes and Chromium aborts at start ("Socket path too long") past that.
_SOCKET_TAIL = "/home/tmp/org.chromium.Chromium.XXXXXX/SingletonSocket"
_SOCKET_PATH_MAX = 100


def scratch_parent(prefix: str) -> str | None:
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
