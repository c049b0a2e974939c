"""--video-input native: the recording itself, within the video limits, sent by generate.py to the fake
OpenAI-compatible (vLLM-like) and Gemini APIs through the real SDKs. What is checked is what arrives:
the video bytes (hash, type, size, frame rate, frame count), the contact sheets, the order of the
parts; and what is recorded: generation.json's video_input and video_sent, pages under their own run
slug, a provider without video failing only its own tasks."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from iwrbench.cli import generate
from iwrbench.data.tasks import load_tasks
from iwrbench.generation.prompt import VIDEO_INSTRUCTIONS, build_video_request
from iwrbench.layout import page_dir
from iwrbench.media.frames import MediaError, encode_image_file, first_frame
from iwrbench.media.video_clip import MB, VideoSettings, normalize_webm, prepare_clip, reencode
from iwrbench.models.base import ImagePart, VideoPart
from tests.fakes.llm_server import Fault
from tests.fixtures_generation import make_tiny_task, reference_responder, write_dataset

NATIVE = ("--video-input", "native")
VIDEO_FROZEN_SHA256 = "e1c578192a7cd2d079b117f75be21a682a6d09a27ddf05a86d03ce9453ff784e"


def decoded(data: bytes, suffix: str = ".webm") -> tuple[int, float, tuple[int, int], list[np.ndarray]]:
    """(frames, fps, (w, h), frames as BGR) of a video held in memory, as OpenCV reads it."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"v{suffix}"
        path.write_bytes(data)
        cap = cv2.VideoCapture(str(path))
        fps, size = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(3)), int(cap.get(4)))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
        cap.release()
    return len(frames), fps, size, frames


def near(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


@pytest.fixture
def tiny_video(tmp_path) -> Path:
    """3.5 s at 10 fps, 320x240 (mp4v): a red square moving right, frame by frame."""
    make_tiny_task(tmp_path / "data", "v1")
    return tmp_path / "data" / "v1" / "video.mp4"


# ---------------------------------------------------------------- the clip


def test_a_recording_within_the_limits_is_sent_byte_for_byte(tiny_video):
    clip = prepare_clip(tiny_video, VideoSettings(fps=10, max_side=320, max_mb=1))
    assert not clip.reencoded and clip.data == tiny_video.read_bytes() and clip.media_type == "video/mp4"
    rec = clip.record()
    assert rec["sha256"] == rec["source"]["sha256"] == hashlib.sha256(tiny_video.read_bytes()).hexdigest()
    assert (rec["fps"], rec["width"], rec["height"], rec["frames"]) == (10.0, 320, 240, 35)


def test_reencoding_keeps_one_frame_per_interval_and_the_last_state(tiny_video):
    clip = prepare_clip(tiny_video, VideoSettings(fps=2, max_side=160, max_mb=1))
    assert clip.reencoded and clip.media_type == "video/webm" and clip.reason == "10 fps is above --video-fps 2"
    n, fps, size, frames = decoded(clip.data)
    # frames 0, 5, 10, ... 30 (one every 0.5 s) and the last one, 34
    assert (n, clip.frames, fps, size, (clip.width, clip.height)) == (8, 8, 2.0, (160, 120), (160, 120))
    src = decoded(tiny_video.read_bytes(), ".mp4")[3]
    for got, index in zip(frames, [0, 5, 10, 15, 20, 25, 30, 34], strict=True):
        assert near(got, src[index]) < 6, index  # the right source frame (the square moves 5 px a frame)
    assert near(frames[-1], src[33]) > near(frames[-1], src[34])
    assert clip.data[:4] == b"\x1a\x45\xdf\xa3" and b"V_VP8" in clip.data[:400]  # WebM, VP8


def test_reencoding_is_deterministic_so_reruns_hit_the_response_cache(tiny_video):
    a = reencode(tiny_video, fps=3, max_side=200)[0]
    b = reencode(tiny_video, fps=3, max_side=200)[0]
    assert a == b
    # The muxer's random TrackUIDs are what normalize_webm fixes; a second pass changes nothing.
    assert normalize_webm(a) == a and normalize_webm(b"not a webm file") == b"not a webm file"


def test_the_size_limit_lowers_the_rate_then_the_size_and_else_is_a_data_error(tiny_video):
    """At 10 fps and 320 px the tiny video re-encodes to ~13 KB, at 1.25 fps to ~4 KB, at 0.625 fps and
    224 px to ~2.5 KB (measured with the pinned OpenCV)."""
    limit = 4500  # bytes; the recording itself (mp4v) is larger, so it cannot go as is
    clip = prepare_clip(tiny_video, VideoSettings(fps=10, max_side=320, max_mb=limit / MB))
    assert [t["fps"] for t in clip.tries] == [10.0, 5.0, 2.5, 1.25] and {t["max_side"] for t in clip.tries} == {320}
    assert len(clip.data) <= limit < clip.tries[-2]["bytes"] and clip.fps == 1.25
    assert decoded(clip.data)[:2] == (clip.frames, 1.25)
    # already at the lowest rate: the size goes down instead
    clip = prepare_clip(tiny_video, VideoSettings(fps=0.5, max_side=320, max_mb=3000 / MB))
    assert [(t["fps"], t["max_side"]) for t in clip.tries] == [(0.5, 320), (0.5, 224)] and len(clip.data) <= 3000
    with pytest.raises(MediaError, match=r"still 0\.00 MB, above --video-max-mb 0\.0001"):
        prepare_clip(tiny_video, VideoSettings(fps=10, max_side=320, max_mb=0.0001))


def test_sides_are_even_and_never_enlarged(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "odd.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (101, 75))
    for i in range(6):
        writer.write(np.full((75, 101, 3), 40 * i, np.uint8))
    writer.release()
    clip = prepare_clip(tmp_path / "odd.mp4", VideoSettings(fps=5, max_side=1280, max_mb=1))
    assert not clip.reencoded  # within every limit
    clip = prepare_clip(tmp_path / "odd.mp4", VideoSettings(fps=2, max_side=1280, max_mb=1))
    assert (clip.width, clip.height) == (100, 74) and decoded(clip.data)[2] == (100, 74)


def test_a_broken_recording_is_a_media_error(tmp_path):
    (tmp_path / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 but nothing else")
    with pytest.raises(MediaError):
        prepare_clip(tmp_path / "video.mp4", VideoSettings())


@pytest.mark.browser
def test_chromium_plays_the_reencoded_webm(tiny_video):
    """The output is a video a browser decodes (VP8 WebM), not only OpenCV."""
    from playwright.sync_api import sync_playwright

    from iwrbench.sandbox.chromium_path import find_chromium

    clip = prepare_clip(tiny_video, VideoSettings(fps=4, max_side=320, max_mb=1))
    url = "data:video/webm;base64," + base64.b64encode(clip.data).decode()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_content(f'<video id="v" muted src="{url}"></video>')
            page.wait_for_function("document.getElementById('v').readyState >= 2", timeout=20_000)
            got = page.evaluate("(() => { const v = document.getElementById('v');"
                                " return [v.videoWidth, v.videoHeight, v.duration, v.error]; })()")
        finally:
            browser.close()
    assert got[:2] == [320, 240] and got[3] is None and 3.0 <= got[2] <= 4.0, got


# ---------------------------------------------------------------- the request


def test_video_prompt_is_frozen_and_shares_the_page_rules():
    from iwrbench.generation.prompt import INSTRUCTIONS

    assert hashlib.sha256(VIDEO_INSTRUCTIONS.encode()).hexdigest() == VIDEO_FROZEN_SHA256, \
        "the video prompt changed: if that is deliberate, bump VIDEO_PROMPT_VERSION and update the hash here"
    rules = INSTRUCTIONS[INSTRUCTIONS.index("What to write"):]
    assert VIDEO_INSTRUCTIONS.endswith(rules)


def test_video_request_layout():
    req = build_video_request(width=1280, height=720, video=VideoPart(b"v", "video/webm", fps=2.0), duration=15.0,
                              sheets=[ImagePart(b"s1"), ImagePart(b"s2")], max_tokens=9, temperature=0.0, timeout=5.0)
    kinds = "".join("V" if isinstance(p, VideoPart) else "I" if isinstance(p, ImagePart) else "T" for p in req.parts)
    assert kinds == "TTVTITIT"  # instructions, header, video, (caption, sheet) x2, close
    text = req.parts[0].text
    assert "15.0 seconds" in text and "1280x720" in text and "2 contact sheets" in text and "{" not in text
    assert (req.video_count, req.image_count) == (1, 2)


# ---------------------------------------------------------------- generate.py end to end


def _generate(data: Path, out: Path, model: str, *extra: str) -> int:
    return generate.main(["--data", str(data), "--result", str(out), "--model", model, "-q", *extra])


def _record(out: Path, tid: str, model: str, variant=("video",)) -> dict:
    return json.loads((page_dir(out, tid, model, variant) / "generation.json").read_text())


def _check_sent(req, rec: dict, task_folder: Path, side: int) -> None:
    """The request carries exactly the recorded video and the task's sheet, in the prompt's order."""
    sent = rec["video_sent"]
    [video] = req.videos
    assert hashlib.sha256(video).hexdigest() == sent["sha256"] and len(video) == sent["bytes"]
    assert req.video_media_types == ["video/webm"] == [sent["media_type"]]
    n, fps, size, _ = decoded(video)
    assert (n, fps, size) == (sent["frames"], sent["fps"], (sent["width"], sent["height"]))
    sheet = encode_image_file(task_folder / "stitched_assets" / "stitched_image1.png", side)
    assert req.images == [sheet.data] and req.image_media_types == [sheet.media_type]
    assert [m["type"] for m in req.media] == ["video", "image"]
    assert req.text.index("you get the recording itself as a video") < req.text.index("The recording:") \
        < req.text.index("Asset contact sheet 1 of 1:") < req.text.index("Now write index.html.")
    assert rec["video_input"] == "native" and rec["frames_sent"] == 0 and rec["images_sent"] == 1
    assert rec["settings"]["video_input"] == "native" and rec["settings"]["prompt_version"] == "video-1"


@pytest.mark.parametrize("model", ["openai/qwen2.5-vl-7b", "google/gemini-2.5-flash"])
def test_native_generation_end_to_end(llm_env, tiny_data, tmp_path, model):
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    out = tmp_path / "out"
    assert _generate(tiny_data, out, model, *NATIVE, "--video-fps", "4", "--video-max-side", "200") == 0
    assert len(llm_env.requests) == 2
    records = {_record(out, t.id, model)["video_sent"]["sha256"]: (t, _record(out, t.id, model)) for t in tasks}
    assert len(records) == 2
    for req in llm_env.requests:
        task, rec = records[hashlib.sha256(req.videos[0]).hexdigest()]
        _check_sent(req, rec, task.folder, 1280)
        assert (rec["video_sent"]["fps"], rec["video_sent"]["width"], rec["video_sent"]["height"]) == (4.0, 200, 150)
        assert rec["video_sent_as"] == ("inline" if model.startswith("google/") else "data_url")
        if model.startswith("google/"):
            assert [m["fps"] for m in req.media] == [4.0, None]  # Gemini samples every frame sent
    for t in tasks:
        assert (page_dir(out, t.id, model, ("video",)) / "index.html").is_file()
        assert not page_dir(out, t.id, model).exists()  # the frames run's contract path is untouched


def test_gemini_takes_a_large_video_through_the_files_api(llm_env, tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("IWRBENCH_GEMINI_INLINE_MB", "0.001")  # any request with a video is over it
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    out = tmp_path / "out"
    assert _generate(tiny_data, out, "google/gemini-2.5-pro", *NATIVE, "--task", "t1") == 0
    rec = _record(out, "t1", "google/gemini-2.5-pro")
    [req] = llm_env.requests
    assert rec["video_sent_as"] == "files_api" and [m["via"] for m in req.media] == ["file", "inline"]
    _check_sent(req, rec, tasks[0].folder, 1280)
    assert llm_env.files.deleted == ["files/fake1"]


def test_frames_and_native_runs_live_side_by_side(llm_env, tiny_data, tmp_path):
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    out = tmp_path / "out"
    assert _generate(tiny_data, out, "openai/qwen-vl", "--task", "t1") == 0
    assert _generate(tiny_data, out, "openai/qwen-vl", "--task", "t1", *NATIVE) == 0
    frames, native = _record(out, "t1", "openai/qwen-vl", ()), _record(out, "t1", "openai/qwen-vl")
    assert frames["video_input"] == "frames" and frames["frames_sent"] > 2 and frames["video_sent"] is None
    assert native["video_input"] == "native" and native["frames_sent"] == 0
    assert [len(r.videos) for r in llm_env.requests] == [0, 1]
    assert _generate(tiny_data, out, "openai/qwen-vl", "--task", "t1", *NATIVE) == 0  # done: skipped
    assert len(llm_env.requests) == 2


def test_a_provider_without_video_fails_its_own_tasks_only(llm_env, tiny_data, tmp_path, capsys):
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    out = tmp_path / "out"
    assert _generate(tiny_data, out, "anthropic/claude-sonnet-4", *NATIVE) == 1
    assert llm_env.requests == []
    message = "model anthropic/claude-sonnet-4 does not take video input; use --video-input frames"
    for t in tasks:
        rec = _record(out, t.id, "anthropic/claude-sonnet-4")
        assert rec["status"] == "failed" and rec["error"] == f"client_error: {message}", rec["error"]
        assert rec["video_input"] == "native"
    assert "2 failed" in capsys.readouterr().out
    assert _generate(tiny_data, out, "openai/qwen-vl", *NATIVE) == 0  # another model in the same run root


def test_a_server_whose_model_takes_no_video_says_so_clearly(llm_env, tiny_data, tmp_path):
    llm_env.set_responder(lambda r: Fault.status(400, "Invalid content type: video_url is not supported by "
                                                      "this model") if r.videos else "ok")
    out = tmp_path / "out"
    assert _generate(tiny_data, out, "openai/gpt-4o", *NATIVE, "--task", "t1") == 1
    rec = _record(out, "t1", "openai/gpt-4o")
    assert rec["error"].startswith("client_error: model openai/gpt-4o does not take video input; use "
                                   "--video-input frames (the server said: HTTP 400: Invalid content type"), rec
    assert len(llm_env.requests) == 1  # not retried


def test_a_video_that_cannot_fit_is_that_tasks_data_error(llm_env, tiny_data, tmp_path):
    tasks = load_tasks(tiny_data)
    llm_env.set_responder(reference_responder(tasks))
    out = tmp_path / "out"
    assert _generate(tiny_data, out, "openai/qwen-vl", *NATIVE, "--video-max-mb", "0.001") == 1
    for t in tasks:
        rec = _record(out, t.id, "openai/qwen-vl")
        assert rec["error_kind"] == "data" and "above --video-max-mb 0.001" in rec["error"], rec["error"]
    assert llm_env.requests == []


def test_builtins_are_shown_no_video(tiny_data, tmp_path):
    from tests.fixtures_faults import assert_one_line_error, run_cli

    proc = run_cli("generate.py", "--data", str(tiny_data), "--result", str(tmp_path / "out"), "--model",
                   "builtin/oracle", "--video-input", "native")
    assert_one_line_error(proc, "builtin/oracle", "--video-input frames")


def test_first_frame_of_the_sent_video_is_the_recordings(tiny_data):
    """The fixture that matches requests to tasks reads the video part when there is one."""
    from tests.fixtures_generation import first_frame_of_bytes

    clip = prepare_clip(load_tasks(tiny_data)[0].video, VideoSettings(fps=2, max_side=320))
    assert near(first_frame_of_bytes(clip.data), first_frame(load_tasks(tiny_data)[0].video)) < 6


# ---------------------------------------------------------------- evaluate.py and the reports


@pytest.mark.browser
def test_native_pages_are_evaluated_and_reported_apart_from_frames(llm_env, tmp_path):
    """The same model, once with frames (it answers the reference page) and once with the video (it
    answers a blank page): evaluate.py --video-input native finds the native pages, every report says
    its input, and the two means stay apart."""
    from tests.fixtures_faults import assert_no_traceback, cli_env, run_cli
    from tests.fixtures_generation import as_model_reply

    data = write_dataset(tmp_path / "data" / "tiny.jsonl", [make_tiny_task(tmp_path / "data" / "tiny", "5")])
    tasks = load_tasks(data)
    good = reference_responder(tasks)
    llm_env.set_responder(lambda r: as_model_reply("<!DOCTYPE html><html><body></body></html>\n")
                          if r.videos else good(r))
    out, model = tmp_path / "out", "openai/vid-model"
    assert _generate(data, out, model) == 0 and _generate(data, out, model, *NATIVE) == 0
    env = cli_env(tmp_path)
    reports = out / "reports" / "offline"
    for extra in ((), NATIVE):
        proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", model, "--no-visual",
                       "-q", *extra, env=env)
        assert_no_traceback(proc)
        assert proc.returncode == 0, proc.stderr[-2000:]
    frames = json.loads((reports / "openai__vid-model.json").read_text())
    native = json.loads((reports / "openai__vid-model--video.json").read_text())
    assert (frames["video_input"], frames["variant"], native["video_input"], native["variant"]) == \
        ("frames", [], "native", ["video"])
    assert frames["model"] == native["model"] == model
    assert frames["mean"]["IFS"] > 0.0 and native["mean"]["IFS"] == 0.0  # the blank page does nothing
    assert native["manifest"]["settings"]["video_input"] == "native"
    rec = json.loads((page_dir(out, "5", model, ("video",)) / "eval" / "offline" / "eval.json").read_text())
    assert (rec["model"], rec["variant"], rec["video_input"]) == (model, ["video"], "native")
    assert "Video input: native" in (reports / "openai__vid-model--video.md").read_text()
    assert "openai/vid-model [video]" in (reports / "index.html").read_text()
    # --report-only rebuilds both, still apart
    proc = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--report-only", "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((reports / "openai__vid-model--video.json").read_text())["mean"] == native["mean"]


def test_eval_json_in_the_wrong_run_folder_is_not_mixed_in(tmp_path):
    """A frames eval.json copied under the --video folder (or the reverse) is an error in that report."""
    from iwrbench.report.build import load_record

    model = "openai/m"
    src = tmp_path / "eval.json"
    base = {"task_id": "1", "model": model, "judge": "offline", "total_steps": 1}
    src.write_text(json.dumps(base))
    rec, why = load_record(src, task_id="1", model_folder="openai__m--video", judge_folder="offline")
    assert rec is None and "stored under 'openai__m--video'" in why
    assert load_record(src, task_id="1", model_folder="openai__m", judge_folder="offline")[0] is not None
    src.write_text(json.dumps({**base, "variant": ["video"], "video_input": "native"}))
    assert load_record(src, task_id="1", model_folder="openai__m--video", judge_folder="offline")[0] is not None
    assert load_record(src, task_id="1", model_folder="openai__m", judge_folder="offline")[0] is None


def test_evaluating_native_without_native_pages_says_where_it_looked(tmp_path):
    from iwrbench.evaluation.run import page_problem

    task = load_tasks(write_dataset(tmp_path / "d.jsonl", [make_tiny_task(tmp_path / "d", "t1")]))[0]
    kind, why = page_problem(task, tmp_path / "out", "openai/m", ("video",))
    assert kind == "no_page" and "openai__m--video" in why
