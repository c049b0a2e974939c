"""The generation prompt is frozen: a change to its wording must be deliberate (update the hash here and
PROMPT_VERSION in iwrbench/generation/prompt.py, which is recorded in every generation.json)."""

from __future__ import annotations

import hashlib

from iwrbench.generation.prompt import (
    ASSET_PLACEHOLDER,
    INSTRUCTIONS,
    PROMPT_VERSION,
    build_request,
    instructions,
    prompt_hash,
)
from iwrbench.models.base import ImagePart, TextPart

FROZEN_SHA256 = "681f202a9d96792974947669b7809bc1511154ac948eeb98c1e7cc6854746934"
FROZEN_VERSION = "1"


def test_prompt_text_is_frozen():
    digest = hashlib.sha256(INSTRUCTIONS.encode("utf-8")).hexdigest()
    assert (digest, PROMPT_VERSION) == (FROZEN_SHA256, FROZEN_VERSION), (
        "the generation prompt changed: if that is deliberate, bump PROMPT_VERSION and update "
        "FROZEN_SHA256 / FROZEN_VERSION in tests/unit/test_prompt.py")


def test_prompt_states_the_benchmark_rules():
    text = instructions(width=1920, height=1080, fps=1.0, sheets=3)
    for must in ("1920x1080", "index.html", f"{ASSET_PLACEHOLDER}/001.png", "width and height", "no CDN",
                 "no web fonts", "no iframes", "<button>", "3 contact sheets", "1 frame per second"):
        assert must in text, must
    assert "{" not in text.replace("{ ", "")  # every template field was filled
    assert "No image assets" in instructions(width=800, height=600, fps=2.0, sheets=0)
    assert "2 frames per second" in instructions(width=800, height=600, fps=2.0, sheets=0)


def test_request_layout():
    frames = [(0.0, ImagePart(b"f0", "image/jpeg")), (1.0, ImagePart(b"f1", "image/jpeg"))]
    sheets = [ImagePart(b"s1")]
    req = build_request(width=1280, height=720, fps=1.0, frames=frames, sheets=sheets, max_tokens=999,
                        temperature=0.0, timeout=30.0)
    kinds = ["T" if isinstance(p, TextPart) else "I" for p in req.parts]
    assert "".join(kinds) == "TTTITITIT"  # instructions, header, (caption, frame) x2, (caption, sheet), close
    assert req.parts[2].text == "Frame 1 of 2, at 0.0 s:"
    assert req.parts[4].text == "Frame 2 of 2, at 1.0 s:"
    assert req.parts[6].text == "Asset contact sheet 1 of 1:"
    assert [p.data for p in req.parts if isinstance(p, ImagePart)] == [b"f0", b"f1", b"s1"]
    assert (req.max_tokens, req.temperature, req.timeout, req.purpose) == (999, 0.0, 30.0, "generate")
    assert req.image_count == 3


def test_prompt_hash_tracks_wording_not_images():
    def req(width, image):
        return build_request(width=width, height=720, fps=1.0, frames=[(0.0, ImagePart(image))], sheets=[],
                             max_tokens=10, temperature=0.0, timeout=1.0)

    assert prompt_hash(req(1280, b"a")) == prompt_hash(req(1280, b"b"))
    assert prompt_hash(req(1280, b"a")) != prompt_hash(req(1920, b"a"))
    assert len(prompt_hash(req(1280, b"a"))) == 64
