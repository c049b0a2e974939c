"""Performance behaviour that must not change results: a finished evaluation reruns without touching
a file, reports are rewritten only when their content changes, and OCR is cached by picture (not by
file bytes), so the same screen saved by another PNG encoder is read once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from iwrbench.judges.ocr import OcrCache
from iwrbench.records.manifest import collect_manifest
from iwrbench.report.build import build_reports
from tests.fixtures_judges import text_png
from tests.fixtures_report import MODEL_A, build_world

ROOT = Path(__file__).resolve().parents[2]


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def reencoded(src: Path, dst: Path) -> Path:
    """The same pixels in a PNG with other bytes (another compression level)."""
    with Image.open(src) as im:
        im.save(dst, compress_level=1)
    assert dst.read_bytes() != src.read_bytes()
    return dst


def test_noop_evaluate_rerun_changes_no_file_and_keeps_the_run_manifest(tmp_path):
    world = build_world(tmp_path)
    run_manifest = collect_manifest({"model": MODEL_A, "judge": None, "image_metric": "ssim", "workers": 2})
    build_reports(world.result, world.tasks, manifest=run_manifest)  # what the evaluation run left
    before = tree(world.result)
    # Tasks 1, 2 (no page) and 5 are finished: nothing to replay, so no browser and no file written.
    res = subprocess.run([sys.executable, "evaluate.py", "--data", str(world.data), "--result", str(world.result),
                          "--model", MODEL_A, "--task", "1,2,5", "--image-metric", "dinov2", "--no-visual", "-q"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "0 scored, 3 already done" in res.stderr
    assert tree(world.result) == before
    report = json.loads((world.result / "reports" / "offline" / "openai__gpt-4o.json").read_text())
    # The scores came from the earlier run: its settings stay in the report, not this rerun's flags.
    assert report["manifest"] == run_manifest and report["manifest"]["settings"]["image_metric"] == "ssim"


def test_report_rebuild_rewrites_only_what_changed(tmp_path):
    world = build_world(tmp_path)
    build_reports(world.result, world.tasks)
    folder = world.result / "reports" / "offline"
    before = tree(folder)
    written = build_reports(world.result, world.tasks)
    assert tree(folder) == before and all(p.is_file() for p in written)
    path = world.result / "1" / "openai__gpt-4o" / "eval" / "offline" / "eval.json"
    rec = json.loads(path.read_text())
    rec["scores"]["IFS"] = 10.0
    path.write_text(json.dumps(rec))
    build_reports(world.result, world.tasks)
    after = tree(folder)
    changed = {k for k in after if after[k] != before.get(k)}
    assert {"openai__gpt-4o.json", "openai__gpt-4o.csv", "openai__gpt-4o.md", "index.html"} <= changed
    assert "builtin__oracle.json" not in changed  # another model's report did not change


def test_ocr_cache_keys_pictures_not_file_bytes(tmp_path, ocr_cache):
    a = text_png(tmp_path / "a.png", ["Checkout total $42.00"])
    b = reencoded(a, tmp_path / "b.png")
    cache = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)
    first = cache.read(a)
    assert cache.read(b).text == first.text and (cache.misses, cache.hits) == (1, 1)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1
    fresh = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)  # a new run: served from disk
    again = fresh.read(b)
    assert again.cached and again.text == first.text and fresh.misses == 0


def test_ocr_async_reads_of_one_picture_in_two_files_share_one_computation(tmp_path, ocr_cache):
    a = text_png(tmp_path / "a.png", ["Week 3: Shapes and shadows"])
    b = reencoded(a, tmp_path / "b.png")
    cache = OcrCache(tmp_path / "cache", engine=ocr_cache.engine, disk=False)

    async def go():
        return await asyncio.gather(*(cache.aread(p) for p in (a, b, a, b)))

    try:
        results = asyncio.run(go())
    finally:
        cache.close()
    assert len({r.text for r in results}) == 1 and "shapes" in results[0].text.lower()
    assert cache.misses == 1 and cache.hits == 3
