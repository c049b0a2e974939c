"""OCR with rapidocr on rendered text, and its content-hash cache."""

from __future__ import annotations

import asyncio
import json

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
