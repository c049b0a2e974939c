"""generate.py --protocol paper and --prompt-file, through the real SDKs against the fake servers.

The paper protocol's request is checked against the published code's facts (docs/protocol.md), each
worked out here by hand rather than through the harness's own functions: which frames (by number:
every frame of these videos shows its own number as a grey level), how many, in which order, at what
size, with which token limit and temperature.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from iwrbench import layout
from iwrbench.cli import generate
from iwrbench.generation.prompt import paper_instructions
from iwrbench.generation.protocol import paper_config
from iwrbench.models.base import ImagePart
from tests.fixtures_faults import assert_one_line_error, cli_env, run_cli
from tests.fixtures_generation import make_tiny_task, write_dataset

DOC = "```html\n<!DOCTYPE html><html><body><img src=\"__PLACEHOLDER_ASSETS_BASE_DIR__/001.png\"></body></html>\n```"


BITS = 8


def counter_task(root: Path, tid: str, *, frames: int, fps: int, size: tuple[int, int]) -> dict:
    """A task whose video's frame i shows i in binary: 8 vertical stripes, white for a 1 bit."""
    record = make_tiny_task(root, tid, seconds=1, fps=fps, size=size)
    w, h = size
    writer = cv2.VideoWriter(str(root / tid / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(frames):
        frame = np.zeros((h, w, 3), np.uint8)
        for bit in range(BITS):
            if i >> bit & 1:
                frame[:, bit * w // BITS:(bit + 1) * w // BITS] = 255
        writer.write(frame)
    writer.release()
    return record


def frame_number(jpeg: bytes) -> int:
    grey = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    w = grey.shape[1]
    return sum(1 << bit for bit in range(BITS)
               if grey[:, bit * w // BITS + 4:(bit + 1) * w // BITS - 4].mean() > 127)


def image_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def run_generate(data: Path, result: Path, model: str, *extra: str) -> int:
    return generate.main(["--data", str(data), "--result", str(result), "--model", model, "-q", *extra])


def gen_record(result: Path, tid: str, model: str, variant: tuple[str, ...]) -> dict:
    return json.loads(layout.generation_path(result, tid, model, variant).read_text())


# ---------------------------------------------------------------- the published frame choice


@pytest.mark.parametrize("model,frames,fps,budget,expected_max_tokens", [
    # 35 frames at 10 fps = 3.5 s <= min(64, 70 - 1 sheet): one frame a second from frame 0, int(3.5) = 3
    ("openai/gpt-4o", 35, 10, 64, 16384),
    # 140 frames at 2 fps = 70 s > min(64, 70 - 1 sheet) = 64: 64 frames every 140/64 frames
    ("openai/gpt-4o-2024-05-13", 140, 2, 64, 4096),
    # glm: max_images 20, max_video_frames 20 -> min(20, 20 - 1 sheet) = 19 frames every 140/19 frames
    ("openai/glm-4.5v", 140, 2, 19, 16384),
])
def test_paper_request_is_the_published_one(llm_env, tmp_path, model, frames, fps, budget, expected_max_tokens):
    seconds = frames / fps
    expected_count = budget if seconds > budget else int(seconds)
    interval = frames / budget if seconds > budget else fps
    root = tmp_path / "data" / "c"
    data = write_dataset(tmp_path / "data" / "c.jsonl", [counter_task(root, "v", frames=frames, fps=fps,
                                                                      size=(320, 240))])
    llm_env.set_responder(lambda req: DOC)
    result = tmp_path / "out"
    assert run_generate(data, result, model, "--protocol", "paper") == 0
    [req] = llm_env.requests
    # one user message: the instructions, then the contact sheet, then the frames; no other text
    content = req.body["messages"][0]["content"]
    assert [block["type"] for block in content] == ["text"] + ["image_url"] * (1 + expected_count)
    assert len(req.body["messages"]) == 1 and req.body["messages"][0]["role"] == "user"
    assert content[0]["text"] == paper_instructions(width=320, height=240, sheets=1)
    sheet, *sent = req.images
    assert sheet == (root / "v" / "stitched_assets" / "stitched_image1.png").read_bytes()  # the file as it is
    assert req.image_media_types == ["image/png"] + ["image/jpeg"] * expected_count
    assert [frame_number(j) for j in sent] == [int(i * interval) for i in range(expected_count)]
    assert {image_size(j) for j in sent} == {(320, 240)}  # at the recorded size
    assert req.body["temperature"] == 0.0 and req.body["max_tokens"] == expected_max_tokens
    rec = gen_record(result, "v", model, ("paper",))
    assert rec["protocol"] == "paper" and rec["settings"]["paper_config"] == paper_config(model.split("/")[1]).key
    assert rec["frames_sent"] == expected_count and rec["images_sent"] == expected_count + 1
    page = (layout.page_dir(result, "v", model, ("paper",)) / "index.html").read_text()
    assert 'src="assets/001.png"' in page
    assert not layout.page_dir(result, "v", model).exists()  # the default run's folder is untouched


def test_paper_claude_images_are_capped_at_1000_px(llm_env, tmp_path):
    root = tmp_path / "data" / "c"
    data = write_dataset(tmp_path / "data" / "c.jsonl", [counter_task(root, "w", frames=10, fps=5,
                                                                      size=(1280, 720))])
    llm_env.set_responder(lambda req: DOC)
    result = tmp_path / "out"
    assert run_generate(data, result, "anthropic/claude-sonnet-4-20250514", "--protocol", "paper") == 0
    [req] = llm_env.requests
    assert req.api == "anthropic" and req.body["max_tokens"] == 16384 and req.body["temperature"] == 0.0
    sheet, *sent = req.images
    assert image_size(sheet) == (400, 200)  # already within 1000 px: sent as the file
    assert [frame_number(j) for j in sent] == [0, 5]  # 2 s at 5 fps: frames 0 and 5
    assert {image_size(j) for j in sent} == {(1000, 562)}  # width to 1000, height int(720 * 1000 / 1280)


def test_paper_fixes_the_request_settings(tiny_data, tmp_path):
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test")
    proc = run_cli("generate.py", "--data", str(tiny_data), "--result", str(tmp_path / "o"), "--model",
                   "openai/gpt-4o", "--protocol", "paper", "--max-tokens", "100", "--fps", "2", env=env)
    assert_one_line_error(proc, "--protocol paper", "--max-tokens", "--fps")


# ---------------------------------------------------------------- --prompt-file


TEMPLATE = """Rebuild the {width}x{height} page ({resolution}) from {frames} frames at {fps} fps.
There are {sheets} contact sheets; address images as {assets_base}/NAME.
Braces stay: body {{ margin: 0 }} and { not a field }.
"""


@pytest.mark.parametrize("protocol,assets_base", [("harness", "__ASSETS__"),
                                                  ("paper", "__PLACEHOLDER_ASSETS_BASE_DIR__")])
def test_prompt_file_is_the_instructions(llm_env, tiny_data, tmp_path, protocol, assets_base):
    prompt = tmp_path / "my prompt.txt"
    prompt.write_text(TEMPLATE, encoding="utf-8")
    sha = hashlib.sha256(prompt.read_bytes()).hexdigest()
    llm_env.set_responder(lambda req: DOC)
    result = tmp_path / "out"
    assert run_generate(tiny_data, result, "openai/gpt-4o", "--task", "t1", "--prompt-file", str(prompt),
                        "--protocol", protocol) == 0
    [req] = llm_env.requests
    variant = (("paper",) if protocol == "paper" else ()) + (f"prompt-{sha[:8]}",)
    rec = gen_record(result, "t1", "openai/gpt-4o", variant)
    frames = rec["frames_sent"]
    assert req.body["messages"][0]["content"][0]["text"] == (
        f"Rebuild the 320x240 page (320x240) from {frames} frames at 1 fps.\n"
        f"There are 1 contact sheets; address images as {assets_base}/NAME.\n"
        "Braces stay: body { margin: 0 } and { not a field }.\n")
    assert rec["prompt_file"] == {"name": "my prompt.txt", "sha256": sha}
    assert rec["settings"]["prompt_file"] == rec["prompt_file"] and rec["protocol"] == protocol
    assert "__" not in (layout.page_dir(result, "t1", "openai/gpt-4o", variant) / "index.html").read_text()


@pytest.mark.parametrize("text,needles", [
    ("Build it at {widht}x{height}.\n", ["line 1", "{widht}"]),
    ("ok\n\nuse {resolution} and {asset_base}\n", ["line 3", "{asset_base}"]),
    ("   \n", ["empty"]),
])
def test_bad_prompt_files_are_one_line_errors(tiny_data, tmp_path, text, needles):
    prompt = tmp_path / "p.txt"
    prompt.write_text(text, encoding="utf-8")
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test")
    for script in ("generate.py", "evaluate.py"):
        proc = run_cli(script, "--data", str(tiny_data), "--result", str(tmp_path / "o"), "--model",
                       "openai/gpt-4o", "--prompt-file", str(prompt), env=env)
        assert_one_line_error(proc, str(prompt), *needles)


def test_prompt_file_not_utf8_or_missing(tiny_data, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 {width}".encode("latin-1"))
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test")
    proc = run_cli("generate.py", "--data", str(tiny_data), "--model", "openai/gpt-4o", "--prompt-file", str(bad),
                   env=env)
    assert_one_line_error(proc, str(bad), "UTF-8")
    proc = run_cli("generate.py", "--data", str(tiny_data), "--model", "openai/gpt-4o", "--prompt-file",
                   str(tmp_path / "nope.txt"), env=env)
    assert_one_line_error(proc, "nope.txt", "no such file")


def test_paper_frame_encoding_keeps_recorded_size():
    from iwrbench.generation.protocol import encode_paper_frame

    part = encode_paper_frame(np.zeros((720, 1280, 3), np.uint8), None)
    assert isinstance(part, ImagePart) and part.media_type == "image/jpeg" and image_size(part.data) == (1280, 720)
    assert image_size(encode_paper_frame(np.zeros((1080, 608, 3), np.uint8), 1000).data) == (562, 1000)
