"""Find a Chromium build for Playwright: IWRBENCH_CHROMIUM, Playwright's own, then the system's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# The flags the recorder (utils/make_task.py) and the evaluator (iwrbench/sandbox/browser.py) share: no DNS, no
# background connections, and rendering settings under which one page gives the same pixels every run,
# so an oracle page renders the pixels its checkpoints were recorded with.
CHROMIUM_BASE_ARGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--disable-smooth-scrolling",
    "--font-render-hinting=none",
    "--force-color-profile=srgb",
    "--disable-lcd-text",
)

SYSTEM_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")


def playwright_chromium() -> str | None:
    """Playwright's own downloaded build, if `playwright install chromium` ever succeeded."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    for exe in sorted(root.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        if os.access(exe, os.X_OK):
            return str(exe)
    return None


def find_chromium() -> str | None:
    forced = os.environ.get("IWRBENCH_CHROMIUM")
    if forced:
        return forced if os.access(forced, os.X_OK) else None
    own = playwright_chromium()
    if own:
        return own
    for cand in SYSTEM_CANDIDATES:
        path = cand if os.path.isabs(cand) else shutil.which(cand)
        # /usr/bin/chromium is Debian's shell wrapper that adds flags: prefer the real binary.
        if path and os.access(path, os.X_OK):
            return path
    return None
