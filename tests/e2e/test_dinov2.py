"""The DINOv2 image metrics load for real from a local Hugging Face cache (nothing can be downloaded):
tiny random-weight DINOv2 models are made here and saved under the real model names in a temporary
cache, with the real models' preprocessing settings, so the harness's own loading code runs unchanged.

`dinov2-paper` is the published metric (dinov2-base, default preprocessing: shortest side 256, centre
crop 224): on a 16:9 page it sees only the middle, so two pages that differ only at their sides score 1.
`dinov2` embeds the whole page (252x448, no crop) and tells them apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

pytest.importorskip("torch", reason="the DINOv2 metrics need torch (requirements.txt installs it)")

from iwrbench.judges.image_similarity import DINOV2_DEFAULT, DINOV2_PAPER  # noqa: E402
from tests.fixtures_faults import ROOT, assert_no_traceback, assert_one_line_error, cli_env, run_cli  # noqa: E402

# The published checkpoints' preprocessor_config.json (dinov2-small and dinov2-base share it).
PROCESSOR = {"size": {"shortest_edge": 256}, "crop_size": {"height": 224, "width": 224}, "do_center_crop": True,
             "resample": 3, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def save_tiny_dinov2(hf_home: Path, name: str) -> None:
    """A 1-layer random DINOv2 as `name` in the hub cache layout (refs/main -> snapshots/<commit>)."""
    import torch
    from transformers import Dinov2Config, Dinov2Model
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

    repo = hf_home / "hub" / f"models--{name.replace('/', '--')}"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                          image_size=224, patch_size=14)
    Dinov2Model(config).save_pretrained(snapshot)
    BitImageProcessorPil(**PROCESSOR).save_pretrained(snapshot)


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hf-home")
    for name in (DINOV2_PAPER, DINOV2_DEFAULT):
        save_tiny_dinov2(home, name)
    return home


def _page(path: Path, side_colour: tuple[int, int, int]) -> Path:
    """A 1280x720 page: the same middle, the given colour in a 200 px band at each side."""
    img = Image.new("RGB", (1280, 720), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 199, 719), fill=side_colour)
    draw.rectangle((1080, 0, 1279, 719), fill=side_colour)
    draw.rectangle((500, 250, 780, 470), fill=(30, 60, 200))
    img.save(path)
    return path


SCORE_PAIR = """
import json, sys
from iwrbench.judges.image_similarity import Dinov2Similarity, dinov2_available
paper, full = Dinov2Similarity(paper=True), Dinov2Similarity()
out = {"available": dinov2_available("dinov2-paper"), "names": [paper.model_name, full.model_name]}
for key, metric in (("paper", paper), ("full", full)):
    score = metric.similarity(sys.argv[1], sys.argv[2])
    out[key] = [score.metric, score.score]
print(json.dumps(out))
"""


def test_paper_metric_sees_only_the_middle_and_dinov2_sees_the_page(hf_cache, tmp_path):
    """In a fresh process, as evaluate.py runs it: the Hugging Face cache location is read at import."""
    a, b = _page(tmp_path / "a.png", (250, 20, 20)), _page(tmp_path / "b.png", (20, 200, 20))
    env = cli_env(tmp_path, HF_HOME=str(hf_cache), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", SCORE_PAIR, str(a), str(b)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    assert got["available"] == [True, ""] and got["names"] == [DINOV2_PAPER, DINOV2_DEFAULT]
    assert got["paper"][0] == f"dinov2-paper:{DINOV2_PAPER}" and got["paper"][1] == pytest.approx(1.0, abs=1e-5)
    assert got["full"][0] == f"dinov2:{DINOV2_DEFAULT}" and got["full"][1] < 0.999  # the full page sees the sides


def test_missing_weights_are_a_one_line_error(tmp_path):
    env = cli_env(tmp_path, HF_HOME=str(tmp_path / "empty-hf"), HF_HUB_OFFLINE="1")
    proc = run_cli("evaluate.py", "--model", "builtin/oracle", "--result", str(tmp_path / "o"), "--task", "1",
                   "--image-metric", "dinov2-paper", env=env)
    assert_one_line_error(proc, "dinov2-paper", DINOV2_PAPER, "local Hugging Face cache")


@pytest.mark.browser
def test_evaluate_with_the_paper_image_metric(hf_cache, tiny_data, tmp_path):
    from iwrbench.cli import generate

    out = tmp_path / "out"
    assert generate.main(["--data", str(tiny_data), "--result", str(out), "--model", "builtin/oracle", "-q",
                          "--task", "t1"]) == 0
    env = cli_env(tmp_path, HF_HOME=str(hf_cache), HF_HUB_OFFLINE="1")
    proc = run_cli("evaluate.py", "--data", str(tiny_data), "--result", str(out), "--model", "builtin/oracle",
                   "--task", "t1", "--image-metric", "dinov2-paper", "-q", env=env, timeout=600)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((out / "t1" / "builtin__oracle" / "eval" / "offline" / "eval.json").read_text())
    assert rec["judges"]["image_metric"].startswith(f"dinov2-paper:{DINOV2_PAPER}")
    assert rec["judges"]["visual_low"] == "ocr+dinov2-paper"
    scored = [s["visual"] for s in rec["steps"] if s["visual"]] + [rec["initial"]]
    assert scored and all(v["image_metric"] == f"dinov2-paper:{DINOV2_PAPER}" for v in scored)
    assert all(0.0 <= v["image"] <= 100.0 for v in scored)
    md = (out / "reports" / "offline" / "builtin__oracle.md").read_text()
    assert "dinov2-paper:facebook/dinov2-base" in md and "rapidocr" in md
