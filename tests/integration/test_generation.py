"""generate.py end to end against the fake LLM server (real SDKs, real files), builtins offline on the
sample set, and the post-processing of replies into self-contained pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from iwrbench.cli import generate
from iwrbench.data.tasks import load_tasks
from iwrbench.generation.page_refs import finalize_html, referenced_assets, rewrite_asset_refs, strip_iframes
from iwrbench.generation.reply_to_page import extract_html
from iwrbench.layout import page_dir
from tests.fakes.llm_server import Fault
from tests.fixtures_generation import (
    as_model_reply,
    make_tiny_task,
    reference_responder,
    task_of_request,
    write_dataset,
)

# ---------------------------------------------------------------- reply -> HTML

DOC = "<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>hi</p></body></html>"


@pytest.mark.parametrize("reply", [
    DOC,
    f"```html\n{DOC}\n```",
    f"Sure! Here is the page:\n\n```html\n{DOC}\n```\n\nLet me know if you need changes.",
    f"Thoughts first.\n{DOC}\nThat is all.",
    f"```\n{DOC}\n```",
    f"Two blocks:\n```css\nbody{{}}\n```\n```html\n{DOC}\n```",
])
def test_extract_html_finds_the_document(reply):
    assert extract_html(reply) == DOC


def test_extract_html_edge_cases():
    inner = "<!DOCTYPE html><html><body><pre>```js\nx()\n```</pre></body></html>"
    assert extract_html(f"```html\n{inner}\n```") == inner  # a fence inside the page
    cut = "```html\n<!DOCTYPE html><html><body><div>cut off"
    assert extract_html(cut) == "<!DOCTYPE html><html><body><div>cut off"  # truncated reply
    assert extract_html("```html\n<div>only a fragment</div>\n```") == "<div>only a fragment</div>"
    assert extract_html("<div><button>A</button></div>") == "<div><button>A</button></div>"
    for nothing in ("", "   ", "I cannot help with that.", "Use a <div> for it.", "```python\nprint(1)\n```"):
        assert extract_html(nothing) is None, nothing


def test_strip_iframes():
    html, n = strip_iframes('<body><iframe src="https://x"></iframe><p>a</p><IFRAME SRC=y>fallback</IFRAME>'
                            '<iframe src=z></body>')
    assert n == 3 and "iframe" not in html.lower() and "<p>a</p>" in html


def test_rewrite_asset_refs_variants():
    names = ["001.png", "002.png", "logo.svg"]
    html = ('<img src="__ASSETS__/001.png"><img src="./assets/002.png"><img src=\'/assets/001.png\'>'
            '<img src="002.png" width="1"><img src=logo.svg><div style="background:url(./002.png)"></div>'
            '<div style="background:url(\'__ASSETS__/001.png\')"></div>'
            '<a href="https://cdn.example.com/assets/001.png">x</a><p>Save as 001.png here</p>'
            '<script>const base = "__ASSETS__"; const pics = ["002.png"];</script>')
    out = rewrite_asset_refs(html, names)
    assert out.count('src="assets/001.png"') == 1 and out.count('src="assets/002.png"') == 2
    assert "src='assets/001.png'" in out and "src=assets/logo.svg" in out
    assert "url(assets/002.png)" in out and "url('assets/001.png')" in out
    assert "https://cdn.example.com/assets/001.png" in out  # other origins untouched
    assert "<p>Save as 001.png here</p>" in out  # visible text untouched
    assert 'const base = "assets"' in out and '["002.png"]' in out
    assert referenced_assets(out, names) == ["001.png", "002.png", "logo.svg"]


def test_referenced_assets_only_existing_files():
    html = '<img src="assets/001.png"><img src="assets/999.png"><img src="assets/a%20b.png">'
    assert referenced_assets(html, ["001.png", "002.png", "a b.png"]) == ["001.png", "a b.png"]


def test_finalize_counts_external_refs():
    page = finalize_html('<script src="https://cdn.x/y.js"></script><link href="//fonts.x/css">'
                         '<img src="__ASSETS__/001.png">', ["001.png"])
    assert page.external_refs == 2 and page.assets == ["001.png"] and page.iframes_removed == 0


# ---------------------------------------------------------------- end to end with the fake server


def run_generate(data: Path, result: Path, model: str, *extra: str) -> int:
    return generate.main(["--data", str(data), "--result", str(result), "--model", model, "-q", *extra])


def gen_record(result: Path, task_id: str, model: str) -> dict:
    return json.loads((page_dir(result, task_id, model) / "generation.json").read_text())


def assert_page_is_reference(result: Path, task, model: str) -> None:
    out = page_dir(result, task.id, model)
    written = (out / "index.html").read_text(encoding="utf-8")
    assert written.rstrip() == task.reference_page.read_text(encoding="utf-8").rstrip()
    expected = referenced_assets(task.reference_page.read_text(encoding="utf-8"),
                                 [p.name for p in task.asset_files()])
    copied = sorted(p.name for p in (out / "assets").iterdir()) if (out / "assets").is_dir() else []
    assert copied == expected
    for name in copied:
        assert (out / "assets" / name).read_bytes() == (task.assets_dir / name).read_bytes()


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"])
def test_generate_writes_the_page_through_the_real_sdks(llm_env, tiny_data, tmp_path, model):
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, model) == 0
    assert len(llm_env.requests) == 2
    for task in tasks:
        assert_page_is_reference(result, task, model)
        assert sorted(p.name for p in (page_dir(result, task.id, model) / "assets").iterdir()) == ["001.png", "002.png"]
        rec = gen_record(result, task.id, model)
        assert rec["status"] == "done" and rec["error"] is None and rec["provider"] == model.split("/")[0]
        assert rec["frames_sent"] >= 2 and rec["images_sent"] == rec["frames_sent"] + 1
        assert rec["input_tokens"] > 0 and rec["output_tokens"] > 0 and rec["attempts"] == 1
        assert len(rec["prompt_hash"]) == 64 and rec["stop_reason"] == "stop"
        assert rec["settings"]["temperature"] == 0.0 and rec["settings"]["max_images"] == 70
        assert rec["frame_times"][0] == 0.0
    # what the model saw: 1 fps frames with first and last state, the contact sheet, the resolution
    req = llm_env.requests[0]
    task = task_of_request(req, tasks)
    assert f"{task.width}x{task.height}" in req.text and "__ASSETS__/" in req.text
    assert len(req.images) == gen_record(result, task.id, model)["images_sent"]
    raw = json.dumps(req.body)
    for secret in ("sk-test", "sk-ant-test"):
        assert secret not in raw
    logs = " ".join(p.read_text() for p in result.rglob("generation.json"))
    assert "base64" not in logs and "sk-test" not in logs and "sk-ant" not in logs


def test_second_run_sends_nothing_and_force_regenerates(llm_env, tiny_data, tmp_path):
    llm_env.set_responder(reference_responder(load_tasks(tiny_data)))
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, "openai/gpt-4o") == 0
    assert len(llm_env.requests) == 2
    assert run_generate(tiny_data, result, "openai/gpt-4o") == 0  # done -> skipped
    assert len(llm_env.requests) == 2
    (page_dir(result, "t1", "openai/gpt-4o") / "index.html").unlink()  # e.g. a crash after the call
    assert run_generate(tiny_data, result, "openai/gpt-4o") == 0  # redone from the response cache
    assert len(llm_env.requests) == 2 and gen_record(result, "t1", "openai/gpt-4o")["cached"] is True
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--force") == 0
    assert len(llm_env.requests) == 4


def test_rate_limited_then_succeeds(llm_env, tiny_data, tmp_path):
    llm_env.set_responder(reference_responder(load_tasks(tiny_data)))
    llm_env.script([Fault.rate_limit(retry_after=1)])
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, "anthropic/claude-x", "--workers", "1", "--task", "t1") == 0
    rec = gen_record(result, "t1", "anthropic/claude-x")
    assert rec["status"] == "done" and rec["attempts"] == 2 and len(llm_env.requests) == 2


def test_failing_task_is_recorded_and_the_rest_goes_on(llm_env, tiny_data, tmp_path, capsys):
    tasks = load_tasks(tiny_data)
    good = reference_responder(tasks)
    llm_env.set_responder(lambda req: Fault.server_error(500) if task_of_request(req, tasks).id == "t2" else good(req))
    result = tmp_path / "out"
    code = run_generate(tiny_data, result, "openai/gpt-4o", "--max-attempts", "2")
    assert code == 1
    assert gen_record(result, "t1", "openai/gpt-4o")["status"] == "done"
    bad = gen_record(result, "t2", "openai/gpt-4o")
    assert bad["status"] == "failed" and bad["error_kind"] == "infrastructure" and "HTTP 500" in bad["error"]
    assert bad["attempts"] == 2 and bad["prompt_hash"] and bad["frames_sent"] > 0
    assert not (page_dir(result, "t2", "openai/gpt-4o") / "index.html").exists()
    assert "1 done, 0 skipped, 1 failed" in capsys.readouterr().out
    # the failed task is retried on the next run, the finished one is not
    llm_env.clear()
    llm_env.set_responder(good)
    assert run_generate(tiny_data, result, "openai/gpt-4o") == 0
    assert [task_of_request(r, tasks).id for r in llm_env.requests] == ["t2"]


@pytest.mark.parametrize("reply,why", [("I'm sorry, I can't rebuild that page.", "no HTML"),
                                       (Fault.refusal(), "refused"),
                                       (Fault.truncated("Let me think about the layout first"), "cut off")])
def test_reply_without_a_page_is_a_failed_generation(llm_env, tiny_data, tmp_path, reply, why):
    llm_env.set_responder(lambda req: reply)
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--task", "t1") == 1
    rec = gen_record(result, "t1", "openai/gpt-4o")
    assert rec["status"] == "failed" and rec["error_kind"] == "model" and why in rec["error"]
    assert not (page_dir(result, "t1", "openai/gpt-4o") / "index.html").exists()


def test_truncated_page_is_kept_and_marked(llm_env, tiny_data, tmp_path):
    llm_env.set_responder(lambda req: Fault.truncated("```html\n<!DOCTYPE html><html><body><h1>Half"))
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--task", "t1") == 0
    rec = gen_record(result, "t1", "openai/gpt-4o")
    assert rec["truncated"] is True and rec["stop_reason"] == "length"
    assert (page_dir(result, "t1", "openai/gpt-4o") / "index.html").read_text().endswith("<h1>Half\n")


def test_image_budget_and_sampling_flags(llm_env, tiny_data, tmp_path):
    result = tmp_path / "out"
    llm_env.set_responder(lambda req: DOC)
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--task", "t1", "--max-images", "3",
                        "--image-side", "100") == 0
    [req] = llm_env.requests
    assert len(req.images) == 3  # 2 frames (first and last) + 1 sheet
    assert all(max(Image.open(__import__("io").BytesIO(b)).size) <= 100 for b in req.images)
    rec = gen_record(result, "t1", "openai/gpt-4o")
    assert rec["frames_sent"] == 2 and rec["frame_times"] == [0.0, 3.4]
    llm_env.clear()
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--task", "t1", "--fps", "2", "--force") == 0
    assert gen_record(result, "t1", "openai/gpt-4o")["frame_times"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.4]


def test_task_without_video_is_a_data_failure(llm_env, tmp_path):
    root = tmp_path / "data" / "nv"
    data = write_dataset(tmp_path / "data" / "nv.jsonl", [make_tiny_task(root, "a", video=False),
                                                          make_tiny_task(root, "b")])
    llm_env.set_responder(lambda req: DOC)
    result = tmp_path / "out"
    assert run_generate(data, result, "openai/gpt-4o") == 1
    rec = gen_record(result, "a", "openai/gpt-4o")
    assert rec["status"] == "failed" and rec["error_kind"] == "data" and "no video" in rec["error"]
    assert gen_record(result, "b", "openai/gpt-4o")["status"] == "done"
    assert len(llm_env.requests) == 1


def test_user_errors_exit_2_before_any_work(tiny_data, tmp_path, monkeypatch, root):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENAI_API_KEY"}
    for args, message in ((["--model", "openai/gpt-4o"], "OPENAI_API_KEY"),
                          ([], "--model is required"),
                          (["--model", "llama3"], "cannot tell its provider")):
        proc = subprocess.run([sys.executable, str(root / "generate.py"), "--data", str(tiny_data),
                               "--result", str(tmp_path / "out"), *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- builtins, offline


def test_builtin_oracle_without_reference_is_a_data_failure(tmp_path):
    root = tmp_path / "data" / "nr"
    data = write_dataset(tmp_path / "data" / "nr.jsonl", [make_tiny_task(root, "a", reference=False)])
    assert run_generate(data, tmp_path / "out", "builtin/oracle") == 1
    rec = gen_record(tmp_path / "out", "a", "builtin/oracle")
    assert rec["error_kind"] == "data" and "reference" in rec["error"]


def test_builtin_oracle_serves_a_multi_file_reference_whole(tmp_path):
    """A third-party reference (scripts, styles, other pages, its own assets/) is copied beside index.html
    as it is; the page is not rewritten; a second run (--force) leaves the same files."""
    root = tmp_path / "data" / "mf"
    data = write_dataset(tmp_path / "data" / "mf.jsonl", [make_tiny_task(root, "a")])
    ref = root / "a" / "reference"
    page = '<html><head><script src="js/app.js"></script></head><body><img src="assets/logo.png"></body></html>'
    (ref / "index.html").write_text(page, encoding="utf-8")
    files = {"js/app.js": "console.log(1)", "css/site.css": "body{}", "search.html": "<p>results</p>",
             "assets/logo.png": "png"}
    for rel, text in files.items():
        (ref / rel).parent.mkdir(parents=True, exist_ok=True)
        (ref / rel).write_text(text, encoding="utf-8")
    for extra in ([], ["--force"]):
        assert run_generate(data, tmp_path / "out", "builtin/oracle", *extra) == 0
        out = tmp_path / "out" / "a" / "builtin__oracle"
        assert (out / "index.html").read_text(encoding="utf-8") == page
        assert {rel: (out / rel).read_text(encoding="utf-8") for rel in files} == files
        rec = gen_record(tmp_path / "out", "a", "builtin/oracle")
        assert rec["status"] == "done" and rec["source"] == "reference/" and rec["files_copied"] == 4


def test_builtin_screenshot_falls_back_to_step_0(tmp_path):
    root = tmp_path / "data" / "nv"
    data = write_dataset(tmp_path / "data" / "nv.jsonl", [make_tiny_task(root, "a", video=False)])
    assert run_generate(data, tmp_path / "out", "builtin/screenshot") == 0
    assert gen_record(tmp_path / "out", "a", "builtin/screenshot")["source"] == "checkpoints/step_0.png"


@pytest.fixture
def sample_tasks(sample_jsonl):
    if not sample_jsonl.is_file():
        pytest.skip("data/sample.jsonl is not there yet")
    return load_tasks(sample_jsonl)


def test_builtins_offline_on_the_sample_set(sample_jsonl, sample_tasks, tmp_path, monkeypatch):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    result = tmp_path / "out"
    for model in ("builtin/oracle", "builtin/screenshot", "builtin/blank"):
        expected = 1 if model == "builtin/oracle" and any(t.reference_page is None for t in sample_tasks) else 0
        assert run_generate(sample_jsonl, result, model) == expected, model
    for task in sample_tasks:
        if task.reference_page is not None:
            assert_page_is_reference(result, task, "builtin/oracle")
        shot = page_dir(result, task.id, "builtin/screenshot")
        assert Image.open(shot / "assets" / "screenshot.png").size == task.resolution
        assert f'width="{task.width}" height="{task.height}"' in (shot / "index.html").read_text()
        blank = page_dir(result, task.id, "builtin/blank")
        assert "<body></body>" in (blank / "index.html").read_text() and not (blank / "assets").exists()
    # deterministic: a forced rerun writes the same bytes
    before = {p: p.read_bytes() for p in result.rglob("*") if p.is_file() and p.name != "generation.json"}
    for model in ("builtin/oracle", "builtin/screenshot", "builtin/blank"):
        run_generate(sample_jsonl, result, model, "--force")
    assert before == {p: p.read_bytes() for p in result.rglob("*") if p.is_file() and p.name != "generation.json"}


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"])
def test_sample_set_through_the_real_sdks(llm_env, sample_jsonl, sample_tasks, tmp_path, model):
    llm_env.set_responder(reference_responder(sample_tasks))
    result = tmp_path / "out"
    assert run_generate(sample_jsonl, result, model) == 0
    assert len(llm_env.requests) == len(sample_tasks)
    for task in sample_tasks:
        if task.reference_page is not None:
            assert_page_is_reference(result, task, model)
        rec = gen_record(result, task.id, model)
        assert rec["images_sent"] == rec["frames_sent"] + len(task.contact_sheets())
    assert run_generate(sample_jsonl, result, model) == 0
    assert len(llm_env.requests) == len(sample_tasks)  # second run: nothing sent


def test_reply_helper_round_trip(sample_tasks):
    for task in [t for t in sample_tasks if t.reference_page is not None]:
        html = task.reference_page.read_text(encoding="utf-8")
        page = finalize_html(extract_html(as_model_reply(html)), [p.name for p in task.asset_files()])
        assert page.html.rstrip() == html.rstrip()


def test_long_video_sends_64_evenly_spread_frames(llm_env, tmp_path):
    root = tmp_path / "data" / "long"
    data = write_dataset(tmp_path / "data" / "long.jsonl",
                         [make_tiny_task(root, "l", seconds=100, fps=2, size=(240, 200))])
    llm_env.set_responder(lambda req: DOC)
    result = tmp_path / "out"
    assert run_generate(data, result, "anthropic/claude-x") == 0
    rec = gen_record(result, "l", "anthropic/claude-x")
    assert rec["frames_sent"] == 64 and rec["images_sent"] == 65 and len(llm_env.requests[0].images) == 65
    times = rec["frame_times"]
    assert times[0] == 0.0 and times[-1] == 99.5 and rec["video"]["decoded"] == 200
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) - min(gaps) <= 0.5
