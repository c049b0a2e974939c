"""Reports: json/csv/md contents and means, judges kept apart, rebuilds, manifest, plot, and the HTML
report opened in real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from iwrbench.layout import eval_path
from iwrbench.records.manifest import REDACTED, collect_manifest, git_revision, read_chromium_version
from iwrbench.report.build import build_reports, leaderboard_text, md_text
from iwrbench.report.html_tasks import ImageLinks
from iwrbench.report.plot import draw_leaderboard
from tests.fixtures_report import HOSTILE, MODEL_A, MODEL_B, build_world, png, write_eval

A, B, LLM = "openai__gpt-4o", "builtin__oracle", "openai__gpt-4o"


def load(world, judge: str, slug: str) -> dict:
    return json.loads((world.result / "reports" / judge / f"{slug}.json").read_text())


def rows_by_id(report: dict) -> dict[str, dict]:
    return {r["task_id"]: r for r in report["tasks"]}


def test_model_report_counts_means_errors_missing(report_world):
    written = build_reports(report_world.result, report_world.tasks)
    assert all(p.is_file() for p in written)
    a = load(report_world, "offline", A)
    assert a["model"] == MODEL_A and a["judge"] == "offline"
    assert a["counts"] == {"tasks": 5, "scored": 3, "no_page": 1, "errors": 1, "missing": 1, "undecided": 1,
                           "verdicts": {"pass": 2, "fail": 3, "undecided": 1, "error": 0}, "execution_only": 0,
                           "outside_selection": 0, "epochs": 1, "evaluations": 3, "missing_epochs": 0}
    # Tasks 1, 2 (no page: 0) and 5 are in the mean; 3 (infrastructure) and 4 (missing) are not.
    assert a["mean"]["IFS"] == pytest.approx((50 + 0 + 50) / 3, abs=1e-3)
    assert a["mean"]["VFS"] == pytest.approx((60 + 0 + 80) / 3, abs=1e-3)
    assert a["mean"]["final"] == pytest.approx((53 + 0 + 59) / 3, abs=1e-3)
    assert a["mean"]["high_level"] is None and a["mean_n"]["high_level"] == 0  # offline: never scored
    assert a["mean_n"]["IFS"] == 3
    rows = rows_by_id(a)
    assert rows["2"]["counted"] and rows["2"]["error_kind"] == "no_page"
    assert rows["2"]["VFS"] == 0.0 and rows["2"]["high_level"] is None  # null VFS of a missing page -> 0
    assert rows["3"]["status"] == "error" and not rows["3"]["counted"]
    assert rows["4"]["status"] == "missing" and not rows["4"]["counted"]
    assert a["errors"] == [{"task_id": "3", "epoch": 1, "error_kind": "infrastructure",
                            "error": "browser crashed: Target closed", "eval_json": f"3/{A}/eval/offline/eval.json"}]
    assert a["missing"] == ["4"] and a["complete"] is False
    # every score part of eval.json's `judges` is declared (records.JudgeMap): those the records leave
    # unset count as not scored
    assert a["judges"] == {"assertion": {"offline": 4}, "locator": {"offline": 4}, "visual_high": {"not scored": 4},
                           "visual_low": {"not scored": 4}, "ocr_engine": {"not scored": 4},
                           "image_metric": {"not scored": 4}}
    assert rows["1"]["page"] == f"1/{A}/index.html" and rows["2"]["page"] is None
    cat = a["by_category"]
    assert cat["domain"]["Shopping"] == {**cat["domain"]["Shopping"], "n": 2, "tasks": 2, "IFS": 25.0, "final": 26.5}
    assert cat["domain"]["News"]["n"] == 0 and cat["domain"]["News"]["IFS"] is None
    assert cat["visual_complexity"]["low"]["n"] == 2 and cat["interaction_complexity"]["high"]["tasks"] == 2
    assert set(a["manifest"]) >= {"harness_version", "git", "python", "packages", "chromium", "judge", "settings"}

    b = load(report_world, "offline", B)
    assert b["counts"]["scored"] == 4 and b["counts"]["errors"] == 1 and b["counts"]["missing"] == 0
    assert b["mean"]["final"] == 97.0  # the data error of task 4 is not a 0
    assert b["errors"][0]["task_id"] == "4" and b["errors"][0]["error_kind"] == "data"


def test_judges_are_kept_apart(report_world):
    build_reports(report_world.result, report_world.tasks)
    llm_dir = report_world.result / "reports" / LLM
    assert sorted(p.name for p in llm_dir.glob("*.json") if p.name not in ("manifest.json", "comparisons.json")) \
        == [f"{A}.json"]
    a = load(report_world, LLM, A)
    assert a["judge"] == LLM
    assert a["mean"]["IFS"] == 50.0 and a["mean"]["final"] == 47.0 and a["mean"]["high_level"] == 30.0
    assert a["counts"]["missing"] == 3 and a["counts"]["scored"] == 2
    assert a["judges"]["visual_high"] == {"openai/gpt-4o": 2}
    # The offline folder did not absorb the LLM judge's numbers, and vice versa.
    assert load(report_world, "offline", A)["mean"]["high_level"] is None
    # Only one judge folder rebuilt when named; a judge given by model name maps to its slug.
    shutil.rmtree(report_world.result / "reports")
    written = build_reports(report_world.result, report_world.tasks, judge_slugs=["openai/gpt-4o"])
    assert {p.parent.name for p in written} == {LLM}
    assert not (report_world.result / "reports" / "offline").exists()


def test_eval_json_stored_under_the_wrong_judge_is_not_mixed_in(report_world):
    src = eval_path(report_world.result, "1", MODEL_A, "openai/gpt-4o")
    dest = eval_path(report_world.result, "4", MODEL_A, None)
    dest.parent.mkdir(parents=True)
    data = json.loads(src.read_text())
    data["task_id"] = "4"
    dest.write_text(json.dumps(data))  # says judge openai__gpt-4o, lives under offline
    bad = eval_path(report_world.result, "5", MODEL_B, None)
    bad.write_text('{"task_id": "5", "model": "builtin/oracle", "judge": "offline"')  # truncated
    build_reports(report_world.result, report_world.tasks, judge_slugs=["offline"])
    a, b = rows_by_id(load(report_world, "offline", A)), rows_by_id(load(report_world, "offline", B))
    assert a["4"]["status"] == "error" and "not mixed in" in a["4"]["error"]
    assert b["5"]["status"] == "error" and "unreadable" in b["5"]["error"]
    assert load(report_world, "offline", B)["mean"]["final"] == 97.0


def test_csv_and_md(report_world):
    # An error message that a spreadsheet would run as a formula.
    write_eval(report_world.result, report_world.task("3"), MODEL_A, None, status="error",
               error_kind="infrastructure", error="=HYPERLINK(\"http://x\")")
    build_reports(report_world.result, report_world.tasks)
    folder = report_world.result / "reports" / "offline"
    rows = list(csv.DictReader(io.StringIO((folder / f"{A}.csv").read_text())))
    assert [r["task_id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r["status"] for r in rows] == ["scored", "scored", "error", "missing", "scored"]
    assert rows[1]["final"] == "0.0" and rows[1]["error_kind"] == "no_page" and rows[1]["counted"] == "true"
    assert rows[0]["IFS"] == "50.0" and rows[0]["high_level"] == "" and rows[0]["domain"] == "Shopping"
    assert rows[2]["error"].startswith("'=")
    md = (folder / f"{A}.md").read_text()
    assert "| mean | 33.33 | 46.67 | 46.67 | — | 37.33 |" in md
    assert "| tasks scored (n) | 3 | 3 | 3 | 0 | 3 |" in md
    assert "- visual_high: not scored (4 tasks)" in md and "- assertion: offline (4 tasks)" in md
    assert "**1 undecided**" in md
    assert "## Errors (not in the mean)" in md and "- task 3 (infrastructure)" in md
    assert "## Missing (selected, no eval.json)\n\n4" in md
    assert "## By domain" in md and "| Shopping | 2 | 2 | 25.00 |" in md
    assert "## Manifest" in md and "harness version: 0.1.0" in md
    assert "<script>" not in md and "<" not in md_text(HOSTILE).replace("\\<", "")


def test_rebuild_is_idempotent_and_drops_stale_models(report_world):
    build_reports(report_world.result, report_world.tasks)
    reports = report_world.result / "reports"

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(reports)): p.read_bytes() for p in sorted(reports.rglob("*")) if p.is_file()}

    first = snapshot()
    build_reports(report_world.result, report_world.tasks)
    assert snapshot() == first
    # All of model B's evaluations disappear: its reports go, model A's stay.
    for tid in ("1", "2", "3", "4", "5"):
        shutil.rmtree(report_world.result / tid / B, ignore_errors=True)
    build_reports(report_world.result, report_world.tasks)
    offline = reports / "offline"
    assert not any(offline.glob(f"{B}.*")) and (offline / f"{A}.md").is_file()
    assert "builtin/oracle" not in (offline / "index.html").read_text()


def test_without_task_list_the_evaluated_tasks_are_the_selection(report_world):
    build_reports(report_world.result, None)
    a = load(report_world, "offline", A)
    assert [r["task_id"] for r in a["tasks"]] == ["1", "2", "3", "4", "5"]  # 4: evaluated for B only
    assert a["missing"] == ["4"] and a["tasks"][0]["domain"] == "Shopping"  # from eval.json classification
    assert any("No task list" in n for n in a["notes"])
    llm = load(report_world, LLM, A)
    assert [r["task_id"] for r in llm["tasks"]] == ["1", "5"] and llm["counts"]["missing"] == 0
    # Evaluations of tasks outside a given selection are counted, not silently used.
    sub = [t for t in report_world.tasks if t.id in ("1", "2")]
    build_reports(report_world.result, sub, judge_slugs=["offline"])
    a = load(report_world, "offline", A)
    assert a["counts"]["tasks"] == 2 and a["counts"]["outside_selection"] == 2


def test_manifest_collected_redacted_and_kept_for_report_only(report_world, tmp_path):
    m = collect_manifest({"model": MODEL_A, "judge": None, "api_key": "sk-secret", "workers": 2,
                          "headers": {"Authorization": "Bearer x"}}, chromium_version="Chromium 1.2.3")
    assert m["chromium"]["version"] == "Chromium 1.2.3" and m["judge_slug"] == "offline"
    # settings the manifest does not declare are kept under `details`, secrets redacted by name
    details = m["settings"]["details"]
    assert details["api_key"] == REDACTED and details["headers"]["Authorization"] == REDACTED
    assert m["settings"]["workers"] == 2 and "sk-secret" not in json.dumps(m)
    assert m["settings"]["workers"] == 2 and "sk-secret" not in json.dumps(m)
    assert m["packages"]["playwright"] and m["packages"]["numpy"] and m["python"]
    if (Path(__file__).resolve().parents[2] / ".git").exists():
        assert len(m["git"]["commit"]) == 40
    assert git_revision(tmp_path) is None  # not a checkout: no crash
    assert read_chromium_version(str(tmp_path / "no-such-chromium"))["version"] is None
    build_reports(report_world.result, report_world.tasks, manifest=m)
    build_reports(report_world.result, report_world.tasks)  # --report-only: no manifest passed
    assert load(report_world, "offline", A)["manifest"] == m
    other = load(report_world, "offline", B)["manifest"]
    assert other["source"].startswith("collected at report time") and other["harness_version"]
    assert load(report_world, LLM, A)["manifest"] != m  # a different judge's run, not this one


def test_leaderboard_text_and_png(report_world):
    build_reports(report_world.result, report_world.tasks)
    text = leaderboard_text(report_world.result, "offline")
    lines = text.splitlines()
    assert lines[1].split()[:6] == ["#", "model", "tasks", "IFS", "VFS", "Final"]
    assert lines[3].split()[:6] == ["1", "builtin/oracle", "4/5", "100.00", "90.00", "97.00"]
    assert lines[4].split()[:6] == ["2", "openai/gpt-4o", "3/5", "33.33", "46.67", "37.33"]
    assert lines[4].split()[6:8] == ["[0.00,", "59.00]"]  # Final's 95% interval: 53, 0, 59 resampled
    assert lines[4].split()[8:12] == ["—", "1", "1", "1"]  # Final_all (older eval.json: none), no page, errors, missing
    assert "openai/gpt-4o" in leaderboard_text(report_world.result, "openai/gpt-4o")
    assert "no evaluations" in leaderboard_text(report_world.result, "anthropic/claude")
    with Image.open(report_world.result / "reports" / "offline" / "leaderboard.png") as im:
        im.verify()
    with Image.open(report_world.result / "reports" / "offline" / "leaderboard.png") as im:
        assert im.format == "PNG" and im.width >= 520 and im.height > 300
        px = im.convert("RGB")
        colours = {px.getpixel((x, y)) for x in range(0, im.width, 3) for y in range(0, im.height, 3)}
        assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours  # all three series drawn


def test_plot_handles_long_names_missing_values_and_no_models():
    many = [(f"provider/a-very-long-model-name-number-{i}", None if i == 2 else 10.0 * i, 5.0, None)
            for i in range(8)]
    for entries in (many, []):
        with Image.open(io.BytesIO(draw_leaderboard(entries, title="t"))) as im:
            im.verify()


def test_html_escapes_untrusted_text(report_world):
    build_reports(report_world.result, report_world.tasks)
    page = (report_world.result / "reports" / "offline" / "index.html").read_text()
    assert HOSTILE not in page and "<script>window" not in page and "onerror=" not in page.replace(
        "onerror=&quot;", "")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    assert page.count("<script>") == 1  # only the report's own few lines


def test_checkpoint_links_relative_or_copied(report_world):
    build_reports(report_world.result, report_world.tasks, checkpoints="copy", judge_slugs=["offline"])
    folder = report_world.result / "reports" / "offline"
    page = (folder / "index.html").read_text()
    assert 'src="checkpoints/1/step_0.png"' in page and "../../../data/" not in page
    with Image.open(folder / "checkpoints" / "1" / "step_1.png") as im:
        assert im.size == (160, 90)
    build_reports(report_world.result, report_world.tasks, judge_slugs=["offline"])
    page = (folder / "index.html").read_text()
    assert 'src="../../../data/bench/1/checkpoints/step_0.png"' in page  # same tree: linked
    assert f'src="../../1/{A}/eval/offline/step_1.png"' in page


def test_checkpoint_on_another_root_is_copied(report_world):
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        pytest.skip("no writable /dev/shm to stand for another disk")
    src = png(shm / f"iwrbench-report-{os.getpid()}" / "step_3.png", (1, 2, 3), size=(1920, 1080))
    try:
        folder = report_world.result / "reports" / "offline"
        folder.mkdir(parents=True)
        links = ImageLinks(folder, report_world.result, "auto")
        url = links.ground_truth(src, "9")
        assert url == "checkpoints/9/step_3.png"
        with Image.open(folder / url) as im:
            assert im.width == 960  # a thumbnail, not the full screenshot
    finally:
        shutil.rmtree(src.parent)


@pytest.mark.browser
def test_html_report_in_headless_chromium(report_world):
    from playwright.sync_api import sync_playwright

    from iwrbench.sandbox.chromium_path import find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.fail("no Chromium: run make setup")
    build_reports(report_world.result, report_world.tasks)
    index = report_world.result / "reports" / "offline" / "index.html"
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in (
                "error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.goto(index.as_uri() + f"#run-5--{A}-step-1")
            # The fragment opened the sections around its target.
            assert page.evaluate(f"document.getElementById('run-5--{A}').open && "
                                 "document.getElementById('task-5').open")
            page.click("text=expand all")
            page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=10_000)
            images = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
            steps = page.evaluate("""Array.from(document.querySelectorAll('.step')).map(s => [s.id,
                Array.from(s.querySelectorAll('figure')).map(f => f.querySelector('img') ? 'img' : 'none')])""")
            pwned = page.evaluate("window.__pwned === undefined")
        finally:
            browser.close()
    assert problems == []
    assert pwned, "text from the task or a judge ran as HTML"
    assert images and all(w > 0 for _, w in images), [s for s, w in images if w == 0]
    steps = dict(steps)
    # Every executed step shows the ground truth and the candidate side by side.
    shown_pairs = 0
    for tid in ("1", "2", "3", "4", "5"):
        for slug in (A, B):
            ev = report_world.result / tid / slug / "eval" / "offline"
            for shot in sorted(ev.glob("step_*.png")):
                k = shot.stem.split("_")[1]
                assert steps[f"run-{tid}--{slug}-step-{k}"] == ["img", "img"], (tid, slug, k)
                shown_pairs += 1
    assert shown_pairs == 3 * 4 + 3 + 3  # model B: tasks 1,2,3,5; model A: tasks 1 and 5
    # A step that was never reached shows the ground truth and says why there is no screenshot.
    assert steps[f"run-2--{A}-step-1"] == ["img", "none"]
    assert sum(1 for src, _ in images if src == "leaderboard.png") == 1


def test_large_set_builds_quickly(tmp_path):
    """113-task-scale sanity: the builder is linear and the page stays collapsed with lazy images."""
    import time

    world = build_world(tmp_path)
    for tid in ("1", "2", "5"):
        for i in range(30):
            dest = world.result / tid / f"model-{i}"
            shutil.copytree(world.result / tid / B, dest)
            rec = json.loads((dest / "eval" / "offline" / "eval.json").read_text())
            rec["model"] = f"model-{i}"
            (dest / "eval" / "offline" / "eval.json").write_text(json.dumps(rec))
    started = time.monotonic()
    build_reports(world.result, world.tasks, judge_slugs=["offline"])
    assert time.monotonic() - started < 15
    page = (world.result / "reports" / "offline" / "index.html").read_text()
    assert page.count('loading="lazy"') == page.count("<img ") - 1  # all but the leaderboard plot
    assert "<details open" not in page
    assert len(list((world.result / "reports" / "offline").glob("model-*.md"))) == 30
