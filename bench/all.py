#!/usr/bin/env python3
"""Run every benchmark in bench/ in turn, write bench/results/<name>.json, print a combined summary.

Known scripts run in this order with these settings (full / --quick); any other bench/*.py runs after
them with its defaults. A script's flags are read from its --help, so a script that lacks --json or
--repeat still runs.

    frame_sampling.py   60 s video, best of 3        / 20 s video, 1 run
    replay.py           its defaults (median of 3)   / --repeat 1 --no-visual-on (read from its --help)
    visual.py           8 pairs, median of 3         / 3 pairs, 1 run
    rerun.py            median of 5 reruns           / median of 3
    llm_judge.py        judge latency 0.5 s, median of 3 / 1 run
    ocr_floor.py        all 8 tasks' checkpoints        / tasks 1 and 4

    python bench/all.py            # full
    python bench/all.py --quick    # a few minutes
    python bench/all.py --only visual,rerun
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
ORDER = ("frame_sampling", "replay", "visual", "rerun", "llm_judge")
FULL: dict[str, list[str]] = {"frame_sampling": [], "replay": [], "visual": [], "rerun": [], "llm_judge": []}
QUICK: dict[str, list[str]] = {
    "frame_sampling": ["--seconds", "20", "--repeat", "1"],
    "replay": [],  # decided from its --help, see quick_args
    "visual": ["--pairs", "3", "--repeat", "1"],
    "rerun": ["--repeat", "3"],
    "llm_judge": ["--repeat", "1"],
    "ocr_floor": ["--task", "1,4"],
}


@dataclass
class Outcome:
    name: str
    status: str  # ok | failed (exit status N) | skipped (why)
    seconds: float
    command: str
    json: str | None


def scripts() -> list[str]:
    """Bench scripts present: the known ones in ORDER, then any others by name."""
    present = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "all" and not p.stem.startswith("_"))
    return [n for n in ORDER if n in present] + [n for n in present if n not in ORDER]


def help_text(name: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def quick_args(name: str, helptext: str) -> list[str]:
    """--quick settings: fixed for the scripts this runner knows, else what the script's --help offers
    (its own --quick; else one run, and replay.py's documented quick mode: visual-on rows skipped)."""
    if QUICK.get(name):
        return QUICK[name]
    if "--quick" in helptext:
        return ["--quick"]
    args = ["--repeat", "1"] if "--repeat" in helptext else []
    return args + (["--no-visual-on"] if "--no-visual-on" in helptext else [])


def run_one(name: str, quick: bool) -> Outcome:
    helptext = help_text(name)
    args = quick_args(name, helptext) if quick else FULL.get(name, [])
    out = RESULTS / f"{name}.json"
    if "--json" in helptext:
        args = [*args, "--json", str(out)]
        out.unlink(missing_ok=True)  # a stale file must not pass for this run's figures
    cmd = [sys.executable, str(BENCH / f"{name}.py"), *args]
    shown = " ".join(["python", f"bench/{name}.py", *[a.replace(str(ROOT) + "/", "") for a in args]])
    print(f"\n{'=' * 100}\n$ {shown}\n{'=' * 100}", flush=True)
    t0 = time.perf_counter()
    code = subprocess.run(cmd, cwd=ROOT, check=False).returncode
    seconds = round(time.perf_counter() - t0, 1)
    status = "ok" if code == 0 else f"failed (exit status {code})"
    return Outcome(name, status, seconds, shown, str(out.relative_to(ROOT)) if out.is_file() else None)


# ---------------------------------------------------------------- headline figures per script


def _load(outcome: Outcome) -> dict[str, Any] | None:
    if not outcome.json:
        return None
    try:
        return json.loads((ROOT / outcome.json).read_text())
    except (OSError, ValueError):
        return None


def headlines(outcome: Outcome) -> list[str]:
    data = _load(outcome)
    if data is None:
        return ["(no json figures)"]
    rows = data.get("rows")
    if outcome.name == "frame_sampling" and isinstance(rows, list):
        return [f"{r['encoding']}: single pass {r['single_pass_s']:.2f} s vs seek per frame "
                f"{r['seek_per_frame_s']:.2f} s ({r['speedup']:.1f}x)" for r in rows]
    if outcome.name == "visual" and isinstance(rows, list):
        out = []
        for r in rows:
            if r["metric"].startswith(("image:", "ocr:", "all:")):
                value = "unavailable" if r["ms_per_pair"] is None else f"{r['ms_per_pair']:.1f} ms/pair"
                mode = "" if r["mode"] == "-" else f" [{r['mode']}]"
                out.append(f"{r['metric'].split(' (')[0]}{mode}: {value}")
        return out
    if outcome.name == "rerun" and isinstance(rows, list):
        return [f"{r['name']}: {r['median_s']:.2f} s" + (f" (first run {r['first_s']:.1f} s)" if r["first_s"] else "")
                + (f", {len(r['changed'])} files changed" if r.get("changed") else "") for r in rows] + [
            f"evaluate rerun under {data.get('target_eval_rerun_s')} s and no file changed: "
            f"{'yes' if data.get('ok') else 'NO'}"]
    if outcome.name == "replay":
        out = []
        floor = data.get("floor") or {}
        if isinstance(floor, dict) and floor.get("step_s") is not None:
            out.append(f"floor (bare Playwright): {floor['step_s']:.3f} s/step, run {floor.get('run_s', 0):.1f} s")
        for m in (data.get("modes") or {}).values():
            if isinstance(m, dict) and m.get("step_s") is not None:
                out.append(f"{m.get('label', '?')}: {m['step_s']:.3f} s/step, wall {m.get('wall_s', 0):.1f} s")
        for t in data.get("targets") or []:
            if isinstance(t, dict):
                out.append(f"[{'met' if t.get('met') else 'NOT MET'}] {t.get('target')}: {t.get('figure')}")
        if out:
            return out
    if outcome.name == "llm_judge" and isinstance(data.get("runs"), dict):
        return [f"{label}: wall {statistics.median(r['wall_s'] for r in rs):.1f} s with a judge answering in "
                f"{data.get('latency_s')} s" for label, rs in data["runs"].items() if rs]
    # A script this runner does not know (or a format it does not recognise): its scalar figures.
    flat = [f"{k}: {v}" for k, v in data.items() if isinstance(v, int | float | str) and k != "bench"]
    return flat[:12] or [f"figures in {outcome.json}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, a shorter video, fewer pairs")
    ap.add_argument("--only", help="comma list of script names (e.g. visual,rerun)")
    args = ap.parse_args()
    names = scripts()
    if args.only:
        wanted = [n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            ap.error(f"no such bench script: {', '.join(unknown)} (have: {', '.join(names)})")
        names = [n for n in names if n in wanted]
    RESULTS.mkdir(parents=True, exist_ok=True)
    missing = [n for n in ORDER if n not in names and not args.only]
    outcomes = [run_one(n, args.quick) for n in names]
    outcomes += [Outcome(n, "skipped (script not present)", 0.0, f"python bench/{n}.py", None) for n in missing]

    print(f"\n{'=' * 100}\nBenchmark summary ({'quick' if args.quick else 'full'} mode)\n{'=' * 100}")
    for o in outcomes:
        print(f"\n{o.name}: {o.status}, {o.seconds:.0f} s" + (f", figures in {o.json}" if o.json else ""))
        if o.status == "ok":
            for line in headlines(o):
                print(f"  {line}")
    (RESULTS / "all.json").write_text(json.dumps({
        "mode": "quick" if args.quick else "full",
        "scripts": [{**asdict(o), "figures": _load(o)} for o in outcomes]}, indent=2) + "\n")
    print("\ncombined figures: bench/results/all.json")
    return 0 if all(o.status == "ok" or o.status.startswith("skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
