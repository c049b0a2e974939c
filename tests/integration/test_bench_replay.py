"""The replay benchmark's own parts: its floor does the same work as the recording, and its process-tree
sampler sees a child's memory and CPU."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import _common  # noqa: E402
import replay  # noqa: E402

from iwrbench.data.tasks import load_tasks  # noqa: E402

SAMPLE = ROOT / "data" / "sample.jsonl"


def test_tree_sampler_sees_a_child_process_memory_and_cpu():
    """A child that holds ~150 MB and burns CPU for ~0.5 s is seen in the peak RSS and the CPU total."""
    code = ("import time\nb = bytearray(150 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
            "t = time.process_time()\nwhile time.process_time() - t < 0.5: pass\ntime.sleep(0.2)\n")
    res = _common.run_measured([sys.executable, "-c", code], memory=True)
    assert res["returncode"] == 0, res["stderr"]
    assert res["peak_rss_mb"] >= 150
    assert 0.3 <= res["cpu_s"] <= 5.0
    assert res["peak_processes"] >= 1
    assert res["cpu_by_kind"].get("python", 0.0) >= 0.3  # the child is a Python process


def test_cpu_is_told_apart_by_kind_of_process(tmp_path: Path):
    """Chromium's processes are named by their --type (its children rewrite their command line into
    one string), and the table's groups add up to the total."""
    from iwrbench.sandbox.chromium_path import find_chromium

    assert _common.process_kind(os.getpid()) == "python"
    proc = subprocess.Popen([find_chromium(), "--headless", "--no-sandbox", f"--user-data-dir={tmp_path}",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kinds: set[str] = set()
        for _ in range(100):
            kinds = {_common.process_kind(p) for p in _common._tree(proc.pid)}
            if {"chromium browser", "chromium renderer"} <= kinds or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert {"chromium browser", "chromium renderer"} <= kinds, kinds
    finally:
        proc.kill()
        proc.wait()
    groups = replay.cpu_groups({"python": 2.0, "chromium renderer": 3.0, "chromium zygote": 0.5,
                                "chromium utility": 0.25, "git": 0.125})
    assert groups["chromium other"] == 0.75 and groups["other"] == 0.125 and groups["python"] == 2.0
    assert sum(groups.values()) == 5.875 and set(groups) == set(replay.CPU_GROUPS)


def test_tree_lists_descendants():
    proc = subprocess.Popen([sys.executable, "-c",
                             "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; "
                             "time.sleep(1.5)'])"])
    try:
        pids: list[int] = []
        for _ in range(40):
            pids = _common._tree(proc.pid)
            if len(pids) >= 2:
                break
            asyncio.run(asyncio.sleep(0.05))
        assert proc.pid in pids and len(pids) >= 2
    finally:
        proc.wait(timeout=10)


def test_median_and_spread_skip_missing_values():
    assert _common.median([3.0, None, 1.0, 2.0]) == 2.0
    assert _common.median([None]) is None
    assert _common.spread([2.0, None, 5.0]) == (2.0, 5.0)


@pytest.mark.browser
def test_floor_screenshots_match_the_recording(tmp_path: Path):
    """The floor's plain Playwright loop on the reference page of the scrolling task reproduces every
    recorded checkpoint pixel for pixel: it does the same work as the replay it is compared with
    (a wheel without waiting for the view to move would not)."""
    import numpy as np
    from PIL import Image

    if not SAMPLE.is_file():
        pytest.skip("no sample set")
    tasks = [t for t in load_tasks(SAMPLE) if any(a.type == "Scroll" for a in t.actions)][:1]
    if not tasks or tasks[0].reference_page is None:
        pytest.skip("no sample task with a scroll and a reference page")
    task = tasks[0]
    page_dir = tmp_path / "pages" / task.id / replay.SLUG
    page_dir.mkdir(parents=True)
    (page_dir / "index.html").write_bytes(task.reference_page.read_bytes())
    (page_dir / "assets").symlink_to(task.assets_dir, target_is_directory=True)
    run = asyncio.run(replay.floor_run([task], replay.recorded_scripts([task]), tmp_path / "pages",
                                       tmp_path / "shots"))
    assert run.steps == len(task.actions) and len(run.step_s) == run.steps
    for k in range(len(task.actions) + 1):
        got = np.asarray(Image.open(tmp_path / "shots" / task.id / f"step_{k}.png").convert("RGB"), np.int16)
        want = np.asarray(Image.open(task.checkpoint(k)).convert("RGB"), np.int16)
        assert got.shape == want.shape
        assert float(np.abs(got - want).mean()) < 0.5, f"checkpoint {k} differs"
