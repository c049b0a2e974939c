"""bench/scale.py's own parts: a run split into shard processes divides the workers and the judge's
concurrency and merges once, and the harness's summaries of several processes are added up."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402


def test_a_run_in_processes_is_shards_with_divided_workers_then_one_merge():
    cmd = ["python", "evaluate.py", "--workers", "8", "--judge", "openai/x", "--judge-concurrency", "16"]
    script = scale.in_processes(cmd, 4, 8, 16, Path("/d/x.jsonl"), Path("/o"))[2]
    shards = [shlex.split(part.split("&")[0]) for part in script.split("pids=\"$pids $!\";")[:-1]]
    shards[0] = shards[0][shards[0].index("python"):]  # the first part starts with pids=''
    assert len(shards) == 4
    for k, shard in enumerate(shards, start=1):
        assert shard[shard.index("--shard") + 1] == f"{k}/4"
        assert shard[shard.index("--workers") + 1] == "2"
        assert shard[shard.index("--judge-concurrency") + 1] == "4" and shard.count("--judge-concurrency") == 1
    assert script.count("--report-only") == 1 and "/o" in script and "/d/x.jsonl" in script
    assert script.endswith("exit $rc")  # the worst shard's status, after the merge


def test_summaries_of_several_processes_are_added_up():
    line = ("model calls: {a} attempts, at most {p} in flight (limit 8), {r} rate-limited (paused {s} s)\n"
            "ocr: {n} pictures, 1 cache hits; engine read 2 pictures, recognised 5 of 9 text crops\n")
    got = scale.parse_summary(line.format(a=10, p=3, r=1, s=1.5, n=4) + line.format(a=5, p=2, r=0, s=0.0, n=6))
    assert got["gate_attempts"] == 15 and got["gate_rate_limited"] == 1 and got["gate_paused_s"] == 1.5
    assert got["gate_limit"] == 16 and got["gate_peak_in_flight"] == 5
    assert got["ocr_pictures"] == 10 and got["ocr_crops_recognised"] == 10 and got["ocr_crops"] == 18
