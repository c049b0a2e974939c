"""The commands' logging: the harness's own lines at the chosen level, third-party libraries quieter."""

from __future__ import annotations

import argparse
import logging

import pytest

from iwrbench.cli import setup_logging


@pytest.fixture
def restore_levels(monkeypatch):
    import iwrbench.cli as cli

    monkeypatch.setattr(cli, "register_environment", lambda: None)  # this process's secrets stay as they are
    names = ("iwrbench", "browser_use", "cdp_use", "httpx")
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers), logging.getLogger(n).propagate)
             for n in names}
    yield
    for n, (level, handlers, propagate) in saved.items():
        log = logging.getLogger(n)
        log.setLevel(level)
        log.handlers[:] = handlers
        log.propagate = propagate


@pytest.mark.parametrize(("verbose", "browser_use", "httpx"), [(0, logging.ERROR, logging.WARNING),
                                                               (1, logging.WARNING, logging.WARNING),
                                                               (2, logging.DEBUG, logging.DEBUG)])
def test_browser_use_warnings_show_only_with_verbose(restore_levels, verbose, browser_use, httpx):
    """browser-use warns about other tasks' pages closing while it attaches (benign, and printed over
    the progress bar); they show from -v on, and every library's debug lines from -vv."""
    setup_logging(argparse.Namespace(quiet=False, verbose=verbose))
    assert logging.getLogger("browser_use").getEffectiveLevel() == browser_use
    assert logging.getLogger("browser_use.BrowserSession🅑 2c36").getEffectiveLevel() == browser_use
    assert logging.getLogger("cdp_use").getEffectiveLevel() == browser_use
    assert logging.getLogger("httpx").getEffectiveLevel() == httpx
    assert logging.getLogger("iwrbench").getEffectiveLevel() == (logging.DEBUG if verbose > 1 else logging.INFO)
