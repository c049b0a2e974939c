#!/usr/bin/env python3
"""Reruns: how long generate.py and evaluate.py take when every task is already finished, and proof
that they did no work.

Generates the sample set with builtin/oracle into a temporary output root, evaluates it (offline
judge, visual scoring on), then times the SAME two commands again (subprocess wall time, median of
--repeat runs). After each rerun every file under the output root is compared with before (mtime and
size): a rerun must skip finished work (design.md), so nothing may change; reports are rebuilt but
written only when their content changed, so they must not change either. Start-up costs (interpreter,
imports, --help) are timed too, to show where a rerun's time goes.

The first evaluation uses the project's OCR cache (IWRBENCH_CACHE_DIR, else .cache/), so it is slow
only once per machine; --fresh-cache uses an empty one (the first run then shows a cold evaluation).

    python bench/rerun.py                      # median of 5 reruns
    python bench/rerun.py --repeat 3 --json bench/results/rerun.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TARGET_EVAL_RERUN_S = 5.0


@dataclass
class Timing:
    name: str
    command: str
    first_s: float | None  # the run that did the work (None for start-up rows)
    median_s: float
    runs: list[float] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # files a rerun created, changed or removed
    summary: str = ""  # the command's own summary line


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.is_file()}


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    out = [f"+ {k}" for k in after.keys() - before.keys()] + [f"- {k}" for k in before.keys() - after.keys()]
    out += [f"~ {k}" for k in before.keys() & after.keys() if before[k] != after[k]]
    return sorted(out, key=lambda s: s[2:])


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one command run from the project root, and its last non-empty stderr/stdout line."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {proc.returncode}:\n{proc.stderr[-2000:]}")
    lines = [ln for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    summary = next((ln for ln in reversed(lines) if re.search(r"(skipped|already done|scored)", ln)), "")
    return seconds, summary.strip()


def show(cmd: list[str]) -> str:
    """The command as typed from the project root."""
    rest = [os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c for c in cmd[1:]]
    return " ".join(["python", *rest])


def import_breakdown(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds spent importing, from `python -X importtime`: the total and the heaviest top-level modules."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    top: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if m:  # a name without leading spaces is imported at top level; its cumulative time covers its imports
            top[m.group(2).strip()] = int(m.group(1)) / 1e6
    heaviest = dict(sorted(top.items(), key=lambda kv: -kv[1])[:6])
    return {"total": round(sum(top.values()), 3), **{k: round(v, 3) for k, v in heaviest.items()}}


def measure(args: argparse.Namespace, out: Path, cache: Path) -> tuple[list[Timing], dict[str, float]]:
    env = dict(os.environ, IWRBENCH_CACHE_DIR=str(cache))
    common = ["--data", args.data, "--result", str(out), "--model", args.model, "-q"]
    gen = [PY, str(ROOT / "generate.py"), *common]
    ev = [PY, str(ROOT / "evaluate.py"), *common]
    rows: list[Timing] = []
    for name, cmd in (("generate", gen), ("evaluate", ev)):
        print(f"first {name} (does the work) ...", file=sys.stderr)
        first, _ = run(cmd, env)
        rows.append(Timing(f"{name}.py rerun", show(cmd), round(first, 2), 0.0))
    for row, cmd in zip(rows, (gen, ev), strict=True):
        for r in range(args.repeat):
            print(f"rerun {row.name} {r + 1}/{args.repeat} ...", file=sys.stderr)
            before = snapshot(out)
            seconds, row.summary = run(cmd, env)
            row.runs.append(round(seconds, 3))
            row.changed += [c for c in changes(before, snapshot(out)) if c not in row.changed]
        row.median_s = round(statistics.median(row.runs), 3)
    for name, cmd in (("python -c pass (interpreter)", [PY, "-c", "pass"]),
                      ("evaluate.py --help", [PY, str(ROOT / "evaluate.py"), "--help"]),
                      ("generate.py --help", [PY, str(ROOT / "generate.py"), "--help"])):
        runs = [round(run(cmd, env)[0], 3) for _ in range(args.repeat)]
        rows.append(Timing(name, show(cmd), None, round(statistics.median(runs), 3), runs))
    return rows, import_breakdown(ev, env)


def print_table(rows: list[Timing], imports: dict[str, float], repeat: int, model: str) -> bool:
    print(f"\nReruns of a finished run ({model}, offline judge, visual on); wall time, median of {repeat}:\n")
    head = f"{'command':<30} {'first run':>10} {'rerun':>8}   runs (s)"
    print(head)
    print("-" * 78)
    for r in rows:
        first = "" if r.first_s is None else f"{r.first_s:.2f}s"
        print(f"{r.name:<30} {first:>10} {r.median_s:>7.2f}s   {' '.join(f'{x:.2f}' for x in r.runs)}")
    print()
    ok = True
    for r in rows[:2]:
        print(f"{r.name}: {r.summary or '(no summary line)'}")
        if r.changed:
            ok = False
            print(f"  FILES CHANGED BY THE RERUN ({len(r.changed)}): " + ", ".join(r.changed[:12]))
        else:
            print("  no file under the output root was created, changed or removed")
    heavy = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in imports.items() if k != "total")
    print(f"\nevaluate.py rerun, imports: {imports['total'] * 1000:.0f} ms in all; heaviest top-level: {heavy}")
    fast = rows[1].median_s < TARGET_EVAL_RERUN_S
    print(f"target: evaluate.py rerun under {TARGET_EVAL_RERUN_S:g} s -> {'met' if fast else 'NOT MET'} "
          f"({rows[1].median_s:.2f} s)")
    return ok and fast


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "sample.jsonl"))
    ap.add_argument("--model", default="builtin/oracle")
    ap.add_argument("--repeat", type=int, default=5, help="median of N reruns (default 5)")
    ap.add_argument("--fresh-cache", action="store_true", help="use an empty OCR/response cache")
    ap.add_argument("--keep", type=Path, help="use (and keep) this output root instead of a temporary one")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        out = args.keep or Path(tmp) / "outputs"
        if args.fresh_cache:
            cache = Path(tmp) / "cache"
        else:
            cache = Path(os.environ.get("IWRBENCH_CACHE_DIR") or ROOT / ".cache")
        rows, imports = measure(args, out, cache)
    ok = print_table(rows, imports, args.repeat, args.model)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "bench": "rerun", "args": {k: str(v) for k, v in vars(args).items()},
            "target_eval_rerun_s": TARGET_EVAL_RERUN_S, "ok": ok, "imports_s": imports,
            "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
