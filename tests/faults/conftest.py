"""Fault-injection tests: bad data, hostile pages, misbehaving providers and judges, interruptions, secrets.

Every test in this folder carries the `faults` marker (`pytest -m faults`); shared fixtures live in
tests/fixtures_*.py, loaded by tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)
