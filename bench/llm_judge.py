#!/usr/bin/env python3
"""Evaluation with a model judge whose every reply takes --latency seconds: how much of that latency
the run hides behind the browser's work.

With `--judge`, the judge model picks each element (on the replay's path), judges each step's
assertion and grades the rubric of each flagged step. The judge here is the tests' fake OpenAI
server (loopback HTTP, the real openai SDK on our side) answering like a healthy judge after
sleeping --latency seconds. Each run gets its own response cache, so no reply is served from a
previous run's cache; the OCR cache (IWRBENCH_CACHE_DIR, else .cache/) is shared, so OCR costs
the same in every run and the figures isolate the judge's latency.

    python bench/llm_judge.py                               # latency 0.5 s, median of 3
    python bench/llm_judge.py --latency 2 --workers 2
    python bench/llm_judge.py --baseline /tmp/old-checkout  # before/after (git worktree add ...)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, machine_text, median, run_measured, write_json  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer  # noqa: E402
from tests.fixtures_faults import JudgeResponder  # noqa: E402

MODEL = "builtin/oracle"
JUDGE = "openai/judge"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "sample.jsonl")
    ap.add_argument("--latency", type=float, default=0.5, help="seconds the judge takes per reply (default 0.5)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; medians are printed (default 3)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-visual", action="store_true", help="no visual scoring (no rubric calls)")
    ap.add_argument("--baseline", type=Path, action="append", default=[],
                    help="also time the evaluate.py of another checkout, right after this one's in each round")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    ocr = Path(os.environ.get("IWRBENCH_CACHE_DIR") or ROOT / ".cache") / "ocr"
    roots = [("this checkout", ROOT)] + [(p.name, p.resolve()) for p in args.baseline]
    runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
    judge = JudgeResponder()

    def slow(req):
        time.sleep(args.latency)
        return judge(req)

    with tempfile.TemporaryDirectory(prefix="iwrbench-bench-judge-") as tmp, FakeLLMServer() as fake:
        work = Path(tmp)
        gen = subprocess.run([sys.executable, str(ROOT / "generate.py"), "--data", str(args.data), "--result",
                              str(work / "pages"), "--model", MODEL, "-q"], cwd=ROOT, capture_output=True, text=True)
        if gen.returncode != 0:
            raise SystemExit(f"generate.py failed:\n{gen.stderr[-2000:]}")
        fake.set_responder(slow)
        for rnd in range(args.repeat):
            for i, (label, root) in enumerate(roots):
                out, cache = work / f"out-{rnd}-{i}", work / f"cache-{rnd}-{i}"
                shutil.copytree(work / "pages", out)
                if ocr.is_dir():
                    shutil.copytree(ocr, cache / "ocr")
                before = len(fake.requests)
                env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.base_url_openai,
                       "IWRBENCH_CACHE_DIR": str(cache)}
                cmd = [sys.executable, str(root / "evaluate.py"), "--data", str(args.data), "--result", str(out),
                       "--model", MODEL, "--judge", JUDGE, "--workers", str(args.workers), "-q"]
                if args.no_visual:
                    cmd.append("--no-visual")
                print(f"run {rnd + 1} of {args.repeat}: {label} ...", file=sys.stderr, flush=True)
                res = run_measured(cmd, env=env, cwd=root, memory=True)
                if res["returncode"] != 0:
                    raise SystemExit(f"evaluate.py ({label}) exited {res['returncode']}:\n{res['stderr'][-2000:]}")
                runs[label].append({"wall_s": round(res["wall_s"], 2), "cpu_s": res.get("cpu_s"),
                                    "judge_calls": len(fake.requests) - before})
                shutil.rmtree(out, ignore_errors=True)

    calls = median(r["judge_calls"] for r in runs["this checkout"])
    print(f"\nEvaluation with a model judge answering in {args.latency:g} s, --workers {args.workers}, "
          f"visual {'off' if args.no_visual else 'on'}; median of {args.repeat}")
    print(f"{'':24s} {'wall s':>8s} {'CPU s':>8s} {'judge calls':>12s} {'latency in them':>16s}")
    for label, rs in runs.items():
        wall, cpu = median(r["wall_s"] for r in rs), median(r["cpu_s"] for r in rs)
        n = median(r["judge_calls"] for r in rs)
        print(f"{label:24s} {wall:8.1f} {cpu or 0:8.1f} {n:12.0f} {n * args.latency:15.1f}s")
    print(f"\n(the judge's replies add up to {calls * args.latency:.1f} s if made one after another)")
    m = machine()
    print(machine_text(m))
    if args.json:
        write_json(args.json, {"latency_s": args.latency, "workers": args.workers, "visual": not args.no_visual,
                               "runs": runs, "machine": m})
    return 0


if __name__ == "__main__":
    sys.exit(main())
