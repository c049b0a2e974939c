"""utils/import_pages.py: pages made by another tool are imported, evaluated like any model's, and a
rerun of the import changes nothing. The source tree is written here the way the published
generate.py writes it: SRC/<task>/<model name lower-cased, '/' -> '__'>/index.html, with the assets
addressed by a path relative to that folder into the dataset's task folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from iwrbench import layout
from iwrbench.data.tasks import load_tasks
from tests.fixtures_faults import assert_no_traceback, assert_one_line_error, cli_env, run_cli

SOURCE_MODEL = "gpt-5-2025-08-07"


def published_tree(src: Path, data: Path, *, source_model: str = SOURCE_MODEL) -> dict[str, Path]:
    """Each task's reference page as the published generate.py would have written it."""
    pages = {}
    for task in load_tasks(data):
        out = src / task.id / source_model.lower().replace("/", "__")
        out.mkdir(parents=True)
        rel = os.path.relpath(task.assets_dir, out)  # e.g. ../../../data/tiny/t1/assets
        html = task.reference_page.read_text(encoding="utf-8").replace("assets/", f"{rel}/")
        (out / "index.html").write_text(html, encoding="utf-8")
        (out / "eval.json").write_text("{}")  # the published evaluate.py's files beside it are ignored
        pages[task.id] = out / "index.html"
    (src / "reports").mkdir()
    (src / "reports" / f"{source_model}_metrics.md").write_text("| task |")
    return pages


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*"))
            if p.is_file()}


def import_pages(src: Path, data: Path, out: Path, env: dict, *extra: str, model: str = "published/gpt-5"):
    proc = run_cli("utils/import_pages.py", str(src), "--data", str(data), "--model", model, "--result", str(out),
                   "--source-model", SOURCE_MODEL, *extra, env=env)
    assert_no_traceback(proc)
    return proc


@pytest.mark.browser
def test_import_evaluate_and_rerun_changes_nothing(tiny_data, tmp_path):
    src, out = tmp_path / "published-out", tmp_path / "out"
    pages = published_tree(src, tiny_data)
    assert "../" in pages["t1"].read_text() and "assets/001.png" in pages["t1"].read_text()
    env = cli_env(tmp_path)
    proc = import_pages(src, tiny_data, out, env)
    assert proc.returncode == 0, proc.stderr
    assert "2 imported" in proc.stdout
    for task in load_tasks(tiny_data):
        folder = layout.page_dir(out, task.id, "published/gpt-5")
        html = (folder / "index.html").read_text(encoding="utf-8")
        assert html.rstrip() == task.reference_page.read_text(encoding="utf-8").rstrip()  # paths made local
        assert sorted(p.name for p in (folder / "assets").iterdir()) == ["001.png", "002.png"]
        rec = json.loads((folder / "generation.json").read_text())
        assert rec["status"] == "done" and rec["provider"] == "imported" and rec["missing_assets"] == []
        assert rec["imported_from"] == str(pages[task.id].resolve()) and len(rec["imported_sha256"]) == 64
        assert rec["source_layout"] == "published" and rec["input_tokens"] is None

    proc = run_cli("evaluate.py", "--data", str(tiny_data), "--result", str(out), "--model", "published/gpt-5",
                   "-q", env=env, timeout=600)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "reports" / "offline" / "published__gpt-5.json").read_text())
    assert report["counts"]["scored"] == 2 and report["mean"]["IFS"] == 50.0  # as the reference pages score
    assert report["generation"]["imported"] == 2 and report["generation"]["protocols"] == {"imported": 2}
    rec = json.loads(layout.eval_path(out, "t1", "published/gpt-5", None).read_text())
    assert rec["generation"]["imported_from"] == str(pages["t1"].resolve())
    assert rec["judges"]["image_metric"] == "ssim+hsv" and rec["judges"]["ocr_engine"].startswith("rapidocr")

    before = snapshot(out)
    proc = import_pages(src, tiny_data, out, env)
    assert proc.returncode == 0 and "0 imported" in proc.stdout and "2 unchanged" in proc.stdout
    assert snapshot(out) == before  # not one byte, not one timestamp


def test_other_layouts_refusal_and_force(tmp_path, tiny_data):
    env = cli_env(tmp_path)
    out = tmp_path / "out"
    flat = tmp_path / "flat"
    (flat / "t1").mkdir(parents=True)
    (flat / "t1" / "index.html").write_text('<img src="/data/tiny/t1/assets/002.png"><img src="assets/404.png">')
    (flat / "t2.html").write_text("  \n")  # an empty reply of the other tool
    proc = import_pages(flat, tiny_data, out, env)
    assert proc.returncode == 0 and "1 imported" in proc.stdout and "1 empty" in proc.stdout
    rec = json.loads(layout.generation_path(out, "t1", "published/gpt-5").read_text())
    assert rec["source_layout"] == "folder" and rec["assets_copied"] == ["002.png"]
    assert rec["missing_assets"] == ["404.png"]
    empty = json.loads(layout.generation_path(out, "t2", "published/gpt-5").read_text())
    assert empty["status"] == "failed" and empty["error_kind"] == "model" and empty["source_layout"] == "file"
    assert not layout.page_path(out, "t2", "published/gpt-5").exists()  # scored as no page

    # a page generated by a model is not replaced without --force
    from iwrbench.cli import generate

    assert generate.main(["--data", str(tiny_data), "--result", str(out), "--model", "builtin/blank", "-q"]) == 0
    blank = layout.page_path(out, "t1", "builtin/blank").read_bytes()
    proc = import_pages(flat, tiny_data, out, env, model="builtin/blank")
    assert proc.returncode == 1 and "2 refused" in proc.stdout and "refused t1" in proc.stdout
    assert "--force" in proc.stdout and layout.page_path(out, "t1", "builtin/blank").read_bytes() == blank
    proc = import_pages(flat, tiny_data, out, env, "--force", model="builtin/blank")
    assert proc.returncode == 0 and "1 replaced" in proc.stdout and "1 empty" in proc.stdout
    assert b"002.png" in layout.page_path(out, "t1", "builtin/blank").read_bytes()


def test_bad_sources_are_one_line_errors(tmp_path, tiny_data):
    env = cli_env(tmp_path)
    out = tmp_path / "out"
    proc = import_pages(tmp_path / "nowhere", tiny_data, out, env)
    assert_one_line_error(proc, "nowhere", "no such folder")

    stray = tmp_path / "stray"
    (stray / "99" / SOURCE_MODEL).mkdir(parents=True)
    (stray / "99" / SOURCE_MODEL / "index.html").write_text("<p>x</p>")
    assert_one_line_error(import_pages(stray, tiny_data, out, env), "99", "is not in", str(tiny_data))

    latin = tmp_path / "latin"
    (latin / "t1" / SOURCE_MODEL).mkdir(parents=True)
    (latin / "t1" / SOURCE_MODEL / "index.html").write_bytes("<p>caf\xe9</p>".encode("latin-1"))
    assert_one_line_error(import_pages(latin, tiny_data, out, env), "index.html", "not UTF-8")

    twice = tmp_path / "twice"
    (twice / "t1").mkdir(parents=True)
    (twice / "t1" / "index.html").write_text("<p>a</p>")
    (twice / "t1.html").write_text("<p>b</p>")
    assert_one_line_error(import_pages(twice, tiny_data, out, env), "task t1", "2 pages")
    assert not out.exists()  # nothing was written by any of them
