"""utils/make_task.py (python -m utils.make_task): a tiny site in tmp_path becomes a valid, deterministic task folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iwrbench.data.tasks import load_tasks
from iwrbench.errors import UserError
from iwrbench.media.contact_sheet import make_contact_sheets
from iwrbench.media.videowriter import Frame, count_frames, write_video
from tests.fixtures_data import png_bytes
from utils import make_task as mt
from utils import task_recorder

# ---------------------------------------------------------------- no browser


def _site(tmp_path: Path, html: str, files: dict[str, bytes]) -> Path:
    site = tmp_path / "s"
    site.mkdir(exist_ok=True)
    (site / "index.html").write_text(html, encoding="utf-8")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    return site


def test_assets_in_order_of_first_reference_and_rewritten(tmp_path):
    html = ('<img src="b.png"><div style="background:url(\'./img/a.png\')"></div>'
            '<script>const pics = ["img/c d.png", "b.png"];</script><img src="img/a.png"><img src="img/c%20d.png">')
    png = png_bytes()
    site = _site(tmp_path, html, {"b.png": png, "img/a.png": png, "img/b.png": png, "img/c d.png": png,
                                  "img/unused.png": png})
    assets = mt.collect_assets(site, html)
    assert [(a.rel, a.name) for a in assets] == [("b.png", "001.png"), ("img/a.png", "002.png"),
                                                  ("img/c d.png", "003.png")]
    out = mt.rewrite_references(html, assets, site)
    assert out == ('<img src="assets/001.png"><div style="background:url(\'assets/002.png\')"></div>'
                   '<script>const pics = ["assets/003.png", "assets/001.png"];</script>'
                   '<img src="assets/002.png"><img src="assets/003.png">')


def test_root_file_name_inside_a_longer_path_is_not_confused(tmp_path):
    html = '<img src="img/logo.png"><img src="logo.png">'
    site = _site(tmp_path, html, {"logo.png": png_bytes(), "img/logo.png": png_bytes((5, 5))})
    assets = mt.collect_assets(site, html)
    assert [a.rel for a in assets] == ["img/logo.png", "logo.png"]
    assert mt.rewrite_references(html, assets, site) == '<img src="assets/001.png"><img src="assets/002.png">'


def test_jpeg_assets_become_png(tmp_path):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 200, 30)).save(buf, format="JPEG")
    site = _site(tmp_path, '<img src="p.jpg">', {"p.jpg": buf.getvalue()})
    (asset,) = mt.collect_assets(site, '<img src="p.jpg">')
    assert asset.name == "001.png" and mt.asset_bytes(asset).startswith(b"\x89PNG")


def test_referenced_css_file_is_an_error(tmp_path):
    html = '<link rel="stylesheet" href="style.css"><img src="a.png">'
    site = _site(tmp_path, html, {"style.css": b"body{}", "a.png": png_bytes()})
    with pytest.raises(UserError, match="style.css"):
        mt.collect_assets(site, html)


@pytest.mark.parametrize(("action", "field"), [
    ({"type": "Wiggle", "description": "x", "logical_assertion": "y"}, "actions[0].type"),
    ({"type": "Hover", "description": "x", "logical_assertion": "y"}, "actions[0].selector"),
    ({"type": "Select", "selector": "#s", "description": "x", "logical_assertion": "y"},
     "actions[0].parameters.option"),
    ({"type": "Drag", "selector": "#a", "description": "x", "logical_assertion": "y"}, "actions[0].parameters.target"),
    ({"type": "Drag", "selector": "#a", "description": "x", "logical_assertion": "y",
      "parameters": {"target": "the bin"}}, "actions[0].target_selector"),
    ({"type": "Click", "selector": "#a", "frame": "", "description": "x", "logical_assertion": "y"},
     "actions[0].frame"),
    ({"type": "Click", "description": "x", "logical_assertion": "y"}, "actions[0].selector"),
    ({"type": "Click", "selector": "#a", "logical_assertion": "y"}, "actions[0].description"),
    ({"type": "Click", "selector": "#a", "description": "x"}, "actions[0].logical_assertion"),
    ({"type": "Type", "selector": "#a", "description": "x", "logical_assertion": "y"}, "actions[0].parameters.text"),
    ({"type": "Press", "description": "x", "logical_assertion": "y", "parameters": {}}, "actions[0].parameters.key"),
    ({"type": "Scroll", "description": "x", "logical_assertion": "y", "parameters": {"direction": "back"}},
     "actions[0].parameters.direction"),
    ({"type": "Scroll", "description": "x", "logical_assertion": "y", "parameters": {"scroll_page": "2"}},
     "actions[0].parameters.scroll_page"),
    ({"type": "Click", "selector": "#a", "description": "x", "logical_assertion": "y",
      "visual_evaluation_flag": "yes"}, "actions[0].visual_evaluation_flag"),
])
def test_bad_action_script_names_the_field(tmp_path, action, field):
    spec = tmp_path / "a.json"
    spec.write_text(json.dumps([action]))
    with pytest.raises(UserError) as info:
        mt.load_spec(spec)
    assert info.value.field == field and str(spec) in str(info.value)


def test_action_script_must_be_json_with_actions(tmp_path):
    spec = tmp_path / "a.json"
    spec.write_text("[{")
    with pytest.raises(UserError, match="invalid JSON"):
        mt.load_spec(spec)
    spec.write_text(json.dumps({"id": 3}))
    with pytest.raises(UserError, match="non-empty list"):
        mt.load_spec(spec)


def test_record_has_no_selector_and_only_used_parameters(tmp_path):
    spec = tmp_path / "a.json"
    spec.write_text(json.dumps([
        {"type": "Type", "selector": "#q", "description": "Type 'x'", "parameters": {"text": "x", "key": "Tab"},
         "logical_assertion": "ok"},
        {"type": "Scroll", "description": "Scroll up", "parameters": {"direction": "UP", "scroll_page": 2},
         "logical_assertion": "ok", "visual_evaluation_flag": False}]))
    rec = mt.build_record("12", {"source_website": "s"}, mt.load_spec(spec).actions, "1280x720")
    assert rec["id"] == 12
    assert rec["action_sequence"][0]["parameters"] == {"description": "Type 'x'", "text": "x"}
    assert rec["action_sequence"][1]["parameters"] == {"description": "Scroll up", "direction": "up",
                                                       "scroll_page": 2}
    assert rec["action_sequence"][1]["visual_evaluation_flag"] is False
    assert "selector" not in json.dumps(rec)


def test_upsert_replaces_by_id_and_keeps_the_rest(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1, "v": "a"}\n{"id": "2", "v": "b"}\n{"id": 3, "v": "c"}\n')
    mt.upsert_record(path, {"id": 2, "v": "B"})
    mt.upsert_record(path, {"id": 4, "v": "d"})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["id"], r["v"]) for r in rows] == [(1, "a"), (2, "B"), (3, "c"), (4, "d")]


def test_contact_sheets_and_video_writer(tmp_path):
    paths = []
    for i in range(1, 15):
        p = tmp_path / "a" / f"{i:03d}.png"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(png_bytes((30 + i, 20), (i * 15, 80, 200)))
        paths.append(p)
    (tmp_path / "a" / "015.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    paths.append(tmp_path / "a" / "015.svg")
    sheets = make_contact_sheets(paths, tmp_path / "sheets")
    assert [s.name for s, _ in sheets] == ["stitched_image1.png", "stitched_image2.png"]
    assert [n for _, names in sheets for n in names] == [p.name for p in paths]
    again = make_contact_sheets(paths[:3], tmp_path / "sheets")  # stale second sheet removed
    assert len(again) == 1 and sorted(x.name for x in (tmp_path / "sheets").iterdir()) == ["stitched_image1.png"]

    frame = png_bytes((64, 48), (250, 250, 250))
    n = write_video([Frame(frame, repeat=3), Frame(frame, pointer=(10, 10), click=True, caption="Key: Enter")],
                    tmp_path / "v.mp4", size=(64, 48), fps=3)
    assert n == 4 and count_frames(tmp_path / "v.mp4") == 4


# ---------------------------------------------------------------- with Chromium


def _checkpoint_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "checkpoints").glob("*.png"))}


@pytest.mark.browser
def test_make_task_builds_a_valid_deterministic_task(tmp_path, data_tiny_site):
    site, spec = data_tiny_site
    data = tmp_path / "out" / "set.jsonl"
    res = mt.make_task(site, spec, data_file=data, task_id="3", meta={"classification": {"domain": "Demo"}})
    folder = tmp_path / "out" / "set" / "3"
    assert res.folder == folder and res.checkpoints == 5 and res.assets == ["001.png", "002.png"]
    assert res.blocked == [] and res.page_errors == []

    (task,) = load_tasks(data)
    assert task.id == "3" and task.data_errors == [] and task.checkpoint_numbering == "per-action"
    assert sorted(task.checkpoints) == [0, 1, 2, 3, 4]
    assert [a.type for a in task.actions] == ["Click", "Type", "Press", "Scroll"]
    assert task.classification.domain == "Demo" and task.classification.sub_domain == "Tiny"
    assert task.source_website == "original:tiny" and task.resolution == (1280, 720)
    assert "selector" not in data.read_text() and "#inc" not in data.read_text()

    assert sorted(p.name for p in task.asset_files()) == ["001.png", "002.png"]
    index = json.loads((folder / "stitched_assets" / "index.json").read_text())
    assert index == {"stitched_image1.png": ["001.png", "002.png"]}
    ref = (folder / "reference" / "index.html").read_text()
    assert 'src="assets/001.png"' in ref and 'src="assets/002.png"' in ref and "img/" not in ref
    assert count_frames(task.video) >= len(task.actions) + 1

    # Each action changed what the screenshots show (the replay really happened).
    shots = _checkpoint_bytes(folder)
    assert len(set(shots.values())) == 5

    # Same input, second run: byte-identical checkpoints, record replaced (not duplicated).
    first = shots
    mt.make_task(site, spec, data_file=data, task_id="3", meta={"classification": {"domain": "Demo"}})
    assert _checkpoint_bytes(folder) == first
    assert len(data.read_text().splitlines()) == 1
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.browser
def test_selector_that_matches_nothing_is_a_user_error(tmp_path, data_tiny_site):
    site, spec = data_tiny_site
    obj = json.loads(spec.read_text())
    obj["actions"][0]["selector"] = "#does-not-exist"
    spec.write_text(json.dumps(obj))
    data = tmp_path / "o" / "d.jsonl"
    task_recorder.ACTION_TIMEOUT_MS, old = 1500, task_recorder.ACTION_TIMEOUT_MS
    try:
        with pytest.raises(UserError, match=r"actions\[0\].*does-not-exist"):
            mt.make_task(site, spec, data_file=data, task_id="1")
    finally:
        task_recorder.ACTION_TIMEOUT_MS = old
    assert not data.exists() and not list((tmp_path / "o" / "d").iterdir())  # nothing half-written


@pytest.mark.browser
def test_external_and_missing_requests_are_refused(tmp_path, data_tiny_site):
    site, spec = data_tiny_site
    html = (site / "index.html").read_text()
    (site / "index.html").write_text(html.replace("</body>", '<img src="https://cdn.example.com/x.png"></body>'))
    with pytest.raises(UserError, match="cdn.example.com"):
        mt.make_task(site, spec, data_file=tmp_path / "o" / "d.jsonl", task_id="1")
    (site / "index.html").write_text(html.replace("</body>", '<img src="img/gone.png"></body>'))
    with pytest.raises(UserError, match="gone.png"):
        mt.make_task(site, spec, data_file=tmp_path / "o" / "d.jsonl", task_id="1")


def test_cli_bad_input_is_one_line_exit_2(tmp_path, root, data_tiny_site):
    site, spec = data_tiny_site
    spec.write_text(json.dumps([{"type": "Drag", "description": "x", "logical_assertion": "y"}]))
    proc = subprocess.run([sys.executable, "-m", "utils.make_task", str(site), str(spec),
                           "--data", str(tmp_path / "d.jsonl"), "--id", "1"],
                          capture_output=True, text=True, timeout=60, cwd=root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Drag" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "utils.make_task", str(tmp_path / "nowhere"),
                           str(spec), "--data", str(tmp_path / "d.jsonl"), "--id", "../x"],
                          capture_output=True, text=True, timeout=60, cwd=root)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "index.html" in proc.stderr
