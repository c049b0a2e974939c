"""Shared fixtures. Area-specific fixtures live in tests/fixtures_<area>.py and are loaded here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest_plugins = sorted(f"tests.{p.stem}" for p in (ROOT / "tests").glob("fixtures_*.py"))

# Tests never talk to real providers, never report telemetry and never touch the user's home.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "false")
os.environ.setdefault("BROWSER_USE_VERSION_CHECK", "false")
for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_API_KEY",
            "GOOGLE_API_KEY", "GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI"):
    os.environ.pop(key, None)


TEST_KINDS = ("unit", "integration", "e2e", "faults")  # the folders of tests/, each also a marker


def pytest_collection_modifyitems(config, items):
    """Each test carries the marker of its folder (tests/<kind>/). A missing Chromium fails the run
    instead of skipping the browser tests (CI must never pass without them); deselect them explicitly
    with `-m "not browser"` where there is none."""
    tests = ROOT / "tests"
    for item in items:
        path = Path(str(item.fspath)).resolve()
        kind = path.relative_to(tests).parts[0] if tests in path.parents else None
        if kind in TEST_KINDS:
            item.add_marker(getattr(pytest.mark, kind))
    if not any(item.get_closest_marker("browser") for item in items):
        return
    from iwrbench.sandbox.chromium_path import find_chromium

    if find_chromium() is None:
        raise pytest.UsageError("tests marked `browser` are selected but no Chromium is installed: run make setup "
                                "(or deselect them with -m 'not browser')")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_jsonl() -> Path:
    return ROOT / "data" / "sample.jsonl"


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable


@pytest.fixture(autouse=True)
def _records_match_their_schemas(request):
    """Every record of the current schema_version a test wrote under its tmp_path (generation.json,
    trace.json, eval.json, model reports, run manifests) matches its JSON Schema in schemas/ and loads as
    its model. A test that plants a current-version record broken on purpose is marked `broken_records`."""
    if "tmp_path" not in request.fixturenames or request.node.get_closest_marker("broken_records"):
        yield
        return
    tmp_path = request.getfixturevalue("tmp_path")  # set up first, so it is still there after the test
    yield
    from tests.schema_check import assert_records_valid

    assert_records_valid(tmp_path, current_only=True)
