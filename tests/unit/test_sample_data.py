"""The bundled sample set (data/sample.jsonl + data/sample/<id>/) is complete and consistent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from iwrbench.data.tasks import ACTION_TYPES, load_tasks
from iwrbench.media.videowriter import count_frames

SIZE_BUDGET = 15 * 1024 * 1024


@pytest.fixture(scope="module")
def sample_tasks(sample_jsonl):
    return load_tasks(sample_jsonl)


def test_every_sample_task_loads_without_data_errors(sample_tasks):
    assert len(sample_tasks) >= 8
    assert {str(i) for i in range(1, 9)} <= {t.id for t in sample_tasks}
    for t in sample_tasks:
        assert t.data_errors == [], t.data_errors
        assert t.resolution == (1280, 720)
        assert 4 <= len(t.actions) <= 10, t.id


def test_checkpoints_match_actions(sample_tasks):
    for t in sample_tasks:
        files = sorted((t.folder / "checkpoints").glob("step_*.png"))
        assert len(files) == len(t.actions) + 1, t.id
        assert t.checkpoint_numbering == "per-action"
        assert sorted(t.checkpoints) == list(range(len(t.actions) + 1))
        # every checkpoint is a 1280x720 PNG
        for f in files:
            head = f.read_bytes()[:24]
            assert head[:8] == b"\x89PNG\r\n\x1a\n"
            assert int.from_bytes(head[16:20], "big") == 1280 and int.from_bytes(head[20:24], "big") == 720


def test_videos_open_with_a_frame_per_action(sample_tasks):
    for t in sample_tasks:
        assert t.video is not None and t.video.name == "video.mp4"
        assert count_frames(t.video) >= len(t.actions) + 1, t.id


def test_contact_sheets_name_every_asset(sample_tasks):
    for t in sample_tasks:
        assets = [p.name for p in t.asset_files()]
        assert assets, t.id
        assert assets == [f"{i:03d}{Path(n).suffix}" for i, n in enumerate(assets, start=1)]  # anonymised
        index = json.loads((t.folder / "stitched_assets" / "index.json").read_text())
        assert sorted(index) == sorted(p.name for p in t.contact_sheets())
        listed = [n for names in index.values() for n in names]
        assert sorted(listed) == sorted(assets), t.id


def test_contact_sheet_labels_are_readable_by_ocr(sample_tasks):
    from rapidocr import RapidOCR

    task = max(sample_tasks, key=lambda t: len(t.asset_files()))
    sheet = task.contact_sheets()[0]
    names = json.loads((task.folder / "stitched_assets" / "index.json").read_text())[sheet.name]
    texts = RapidOCR()(str(sheet)).txts or ()
    read = {re.sub(r"\s+", "", x).lower() for x in texts}
    missing = [n for n in names if n.lower() not in read]
    assert len(missing) <= len(names) // 10, f"labels not read: {missing}; OCR saw {sorted(read)}"


def test_reference_pages_use_only_shipped_assets(sample_tasks):
    for t in sample_tasks:
        assert t.reference_page is not None, t.id
        html = t.reference_page.read_text(encoding="utf-8")
        used = set(re.findall(r"assets/(\d{3}\.\w+)", html))
        shipped = {p.name for p in t.asset_files()}
        assert used == shipped, t.id
        assert not re.search(r"https?://", html), t.id


def test_records_are_publishable(sample_jsonl, sample_tasks):
    text = sample_jsonl.read_text(encoding="utf-8")
    assert "selector" not in text and '"images"' not in text
    types = {a.type for t in sample_tasks for a in t.actions}
    assert types == set(ACTION_TYPES[:4])  # the four published types
    scrolls = {a.direction for t in sample_tasks for a in t.actions if a.type == "Scroll"}
    assert {"up", "down"} <= scrolls
    flags = [a.visual_evaluation_flag for t in sample_tasks for a in t.actions]
    assert sum(flags) > len(flags) / 2 and not all(flags)
    for t in sample_tasks:
        c = t.classification
        assert c.domain and c.sub_domain and t.source_website
        assert c.visual_complexity in {"Low", "Medium", "High"}
        assert c.interaction_complexity in {"Low", "Medium", "High"}
        for a in t.actions:
            assert a.description and a.logical_assertion, (t.id, a.index)
    assert len({t.classification.domain for t in sample_tasks}) >= 5


def test_sample_data_fits_the_size_budget(root):
    data = root / "data"
    total = sum(p.stat().st_size for p in data.rglob("*") if p.is_file() and ".download" not in p.parts)
    assert total < SIZE_BUDGET, f"data/ is {total / 1e6:.1f} MB"
