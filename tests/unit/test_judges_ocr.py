"""OCR with rapidocr on rendered text, and its content-hash cache."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from iwrbench.judges.ocr import ENGINE_ID, OcrCache, OcrError
from iwrbench.judges.text_similarity import text_similarity
from tests.fixtures_judges import text_png


def test_reads_dark_and_light_text(tmp_path, ocr_cache):
    dark = text_png(tmp_path / "dark.png", ["Your cart (3 items)", "Subtotal $307.00"])
    light = text_png(tmp_path / "light.png", ["Checkout"], bg=(30, 40, 60), fg=(240, 240, 240))
    assert text_similarity(ocr_cache.read(dark).text, "Your cart (3 items)\nSubtotal $307.00") > 0.9
    assert "checkout" in ocr_cache.read(light).text.lower()
    lines = ocr_cache.read(dark).lines
    assert lines[0].box[1] < lines[1].box[1]  # reading order, with boxes in image pixels


def test_cache_is_keyed_by_content_and_persists(tmp_path, ocr_cache):
    a = text_png(tmp_path / "a.png", ["Packed 2 of 8 items"])
    copy = tmp_path / "elsewhere" / "b.png"
    copy.parent.mkdir()
    copy.write_bytes(a.read_bytes())
    cache = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)
    first = cache.read(a)
    assert (cache.misses, cache.hits) == (1, 0)
    assert cache.read(copy).text == first.text and cache.hits == 1  # same bytes, other path
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["engine"] == ENGINE_ID
    fresh = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)  # a new run reads the disk entry
    again = fresh.read(a)
    assert again.cached and again.text == first.text and fresh.misses == 0


def test_corrupt_cache_entry_is_recomputed(tmp_path, ocr_cache):
    a = text_png(tmp_path / "a.png", ["Moved left"])
    cache = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)
    cache.read(a)
    entry = next((tmp_path / "cache").rglob("*.json"))
    entry.write_text("{not json", encoding="utf-8")
    fresh = OcrCache(tmp_path / "cache", engine=ocr_cache.engine)
    assert "moved" in fresh.read(a).text.lower() and fresh.misses == 1


def test_unreadable_images_are_errors_with_the_path(tmp_path, ocr_cache):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(OcrError, match="bad.png"):
        ocr_cache.read(bad)
    with pytest.raises(OcrError, match="cannot read"):
        ocr_cache.read(tmp_path / "missing.png")


def test_async_reads_share_one_computation(tmp_path, ocr_cache):
    a = text_png(tmp_path / "a.png", ["Week 2: Colour and light"])
    cache = OcrCache(tmp_path / "cache", engine=ocr_cache.engine, disk=False)

    async def go():
        return await asyncio.gather(*(cache.aread(a) for _ in range(4)))

    results = asyncio.run(go())
    cache.close()
    assert len({r.text for r in results}) == 1
    assert cache.misses == 1


def _niceness() -> dict[int, int]:
    """Niceness of each of this process's threads, by native thread id (Linux /proc)."""
    import os
    from pathlib import Path

    out: dict[int, int] = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = int(stat[stat.rindex(")") + 2:].split()[16])  # field 19, counted after "(comm)"
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_ocr_runs_behind_the_replay_at_a_lower_priority(tmp_path):
    """The OCR thread and the onnxruntime threads it starts yield the cores to the replay; the
    event loop's thread keeps its priority."""
    import os
    import threading

    from iwrbench.judges.behind import JUDGING_NICE

    a = text_png(tmp_path / "a.png", ["Lower priority"])
    cache = OcrCache(tmp_path / "cache", disk=False)  # a new engine: it loads on the OCR thread
    base = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        assert "priority" in asyncio.run(cache.aread(a)).text.lower()
        nice = _niceness()
        ocr_thread = next(t.native_id for t in threading.enumerate() if t.name.startswith("iwrbench-ocr"))
    finally:
        cache.close()
    low = max(JUDGING_NICE, base)
    assert nice[ocr_thread] == low, nice
    # onnxruntime's pool threads, started by the OCR thread when the engine loaded there
    assert sum(n == low for tid, n in nice.items() if tid != ocr_thread) >= cache.engine.threads - 1, nice
    assert nice[threading.main_thread().native_id] == base == os.getpriority(os.PRIO_PROCESS, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_the_judges_cpu_work_runs_at_a_lower_priority():
    """Pixel changes and image metrics run on the judging threads, behind the replay."""
    import os

    from iwrbench.judges.behind import JUDGING_NICE, run_behind

    base = os.getpriority(os.PRIO_PROCESS, 0)  # on Linux: the calling thread
    there = asyncio.run(run_behind(os.getpriority, os.PRIO_PROCESS, 0))
    assert there == max(JUDGING_NICE, base) and os.getpriority(os.PRIO_PROCESS, 0) == base


def test_onnxruntime_threads_do_not_spin_while_they_wait(tmp_path):
    """Spinning idle pool threads take CPU from the replay and Chromium for nothing."""
    from iwrbench.judges.ocr import SPIN_KEY, OcrEngine

    engine = OcrEngine(threads=2)
    assert "total" in engine.read_bytes(text_png(tmp_path / "a.png", ["Total 42"]).read_bytes()).text.lower()
    rapid = engine._engine
    for model in (rapid.text_det, rapid.text_rec):
        options = model.session.session.get_session_options()
        assert options.get_session_config_entry(SPIN_KEY) == "0"


def test_crops_seen_before_are_not_recognised_again_and_the_lines_stay_rapidocrs(ocr_cache):
    """Two consecutive checkpoints of a sample task share most of their text crops: the second costs the
    detection and its new crops only, and both read exactly what rapidocr's own whole reading reads
    (text, boxes and scores)."""
    import cv2

    from iwrbench.judges.ocr import OcrEngine
    from iwrbench.judges.ocr_parts import PartReader

    engine = OcrEngine()
    raw = engine._load()
    reader = PartReader(raw, min_score=engine.min_score)
    first, second = (cv2.imread(f"data/sample/1/checkpoints/step_{k}.png") for k in (2, 3))
    for image in (first, second):
        whole = raw(image)
        expected = [(str(t).strip(), (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 0].max()), int(b[:, 1].max())),
                     round(float(s), 4)) for t, b, s in zip(whole.txts, whole.boxes, whole.scores, strict=True)
                    if str(t).strip()]
        before = reader.stats.crops_recognised
        assert reader.read(image) == expected
        new = reader.stats.crops_recognised - before
    assert reader.stats.crops > 60
    assert new < reader.stats.crops / 4  # the second picture's crops were nearly all seen in the first
