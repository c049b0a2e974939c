"""The whole pipeline through the real entry points on the bundled sample set, offline.

Holds issue 5's expectations: the oracle near 100, a blank page near 0, a page that looks right but does
nothing with IFS <= 10, and a working but restyled page between them on Final.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iwrbench import layout
from tests.schema_check import assert_records_valid

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~3-6 min: four models x 8 tasks

BUILTINS = ("builtin/oracle", "builtin/screenshot", "builtin/blank")
RESTYLED = "local/restyled"
# Same page and behaviour, different look: fonts, colours, spacing and corners all change.
RESTYLE_CSS = """<style id="restyle">
  body { font-family: "DejaVu Serif", serif !important; background: #fdf6e3 !important; }
  * { border-radius: 0 !important; letter-spacing: 0.02em; }
  button, a, input, select { background: #073642 !important; color: #eee8d5 !important; }
  h1, h2, h3 { color: #b58900 !important; }
  main, section, div { padding-left: 2px; }
</style>"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def restyle(result: Path) -> None:
    """A 'model' whose pages are the oracle's with a different style sheet appended."""
    for oracle_dir in result.glob("*/builtin__oracle"):
        target = oracle_dir.parent / layout.model_slug(RESTYLED)
        shutil.copytree(oracle_dir, target, ignore=shutil.ignore_patterns("eval", "generation.json"))
        page = target / "index.html"
        html = page.read_text(encoding="utf-8")
        page.write_text(html.replace("</head>", RESTYLE_CSS + "</head>", 1), encoding="utf-8")


@pytest.fixture(scope="module")
def e2e_result(tmp_path_factory) -> Path:
    """The result folder of the four models generated and evaluated offline."""
    result = tmp_path_factory.mktemp("e2e")
    for model in BUILTINS:
        gen = run("generate.py", "--model", model, "--result", str(result), "-q")
        assert gen.returncode == 0, gen.stderr
    restyle(result)
    ev = run("evaluate.py", "--result", str(result), "-q", *[a for m in (*BUILTINS, RESTYLED)
                                                            for a in ("--model", m)])
    assert ev.returncode == 0, ev.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def report(e2e_result: Path) -> dict[str, dict]:
    folder = e2e_result / "reports" / "offline"
    return {m: json.loads((folder / f"{layout.model_slug(m)}.json").read_text()) for m in (*BUILTINS, RESTYLED)}


def test_every_task_scored_and_counted(report):
    for model, rep in report.items():
        assert rep["counts"]["errors"] == 0, (model, rep["errors"])
        assert len([t for t in rep["tasks"] if t["status"] == "scored"]) == 8, model


def test_oracle_is_the_ceiling(report):
    mean = report["builtin/oracle"]["mean"]
    assert mean["IFS"] >= 95 and mean["VFS"] >= 90, mean


def test_blank_is_the_floor(report):
    mean = report["builtin/blank"]["mean"]
    assert mean["IFS"] == 0 and mean["final"] < 15, mean


def test_static_screenshot_does_nothing(report):
    mean = report["builtin/screenshot"]["mean"]
    assert mean["IFS"] <= 10, mean
    assert mean["VFS"] > report["builtin/blank"]["mean"]["VFS"], "it does look right"


def test_restyled_page_sits_between(report):
    final = {m: r["mean"]["final"] for m, r in report.items()}
    assert final["builtin/screenshot"] < final[RESTYLED] < final["builtin/oracle"], final
    assert report[RESTYLED]["mean"]["VFS"] < report["builtin/oracle"]["mean"]["VFS"], "the style change is seen"


def test_intervals_and_the_coverage_aware_scores(report):
    """Issue 16 on the sample set: the oracle's interval is a point at 100, every mean has an interval,
    and the static picture's final_all falls well below its published Final."""
    oracle = report["builtin/oracle"]
    assert oracle["ci95"]["final"] == [100.0, 100.0] and oracle["mean"]["final_all"] == 100.0
    for model, rep in report.items():
        for part in ("IFS", "VFS", "final", "VFS_all", "final_all"):
            lo, hi = rep["ci95"][part]
            assert lo <= rep["mean"][part] <= hi, (model, part)
    shot = report["builtin/screenshot"]["mean"]
    assert shot["VFS"] > 90 and shot["VFS_all"] < shot["VFS"] - 10, shot
    assert shot["final_all"] < shot["final"] - 3, shot


def test_every_record_written_matches_its_schema(e2e_result):
    """generation.json, trace.json, eval.json, the model reports and the run manifests of a whole run match
    the committed JSON Schemas (schemas/) and load as their models."""
    checked = assert_records_valid(e2e_result)
    pages = 8 * (len(BUILTINS) + 1)
    assert checked["generation"] == 8 * len(BUILTINS) and checked["eval"] == pages and checked["trace"] == pages
    assert checked["report"] == len(BUILTINS) + 1 and checked["manifest"] >= 1
