"""End-to-end tests: the pipeline through its real entry points (generate.py, evaluate.py, utils/*) run
as processes, and the files they write.

Every test in this folder carries the `e2e` marker (`pytest -m e2e`); shared fixtures live in
tests/fixtures_*.py, loaded by tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
