#!/usr/bin/env python
"""What the reports' statistics cost: build_reports over a synthetic result folder of M models x T tasks
x E epochs (eval.json files written here through the records models; no browser, no model), and one
bootstrap interval and one paired comparison at that size.

    python bench/reports.py                    # 10 models x 113 tasks, 1 and 3 epochs
    python bench/reports.py --models 4 --epochs 1

Prints wall and CPU seconds (CPU: this process alone, which a loaded machine inflates less than wall).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iwrbench import layout  # noqa: E402
from iwrbench.fsutil import atomic_write_json  # noqa: E402
from iwrbench.records.evaluation import EvalRecord, Scores, StepRecord, Verdict  # noqa: E402
from iwrbench.report import stats  # noqa: E402


def write_world(out: Path, models: int, tasks: int, epochs: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    for m in range(models):
        name = f"openai/m{m}"
        for t in range(1, tasks + 1):
            for e in range(1, epochs + 1):
                ifs = rng.choice([0.0, 50.0, 100.0])
                vfs = rng.uniform(20, 90)
                steps = [StepRecord(index=i, type="Click", description=f"a{i}", executed=True,
                                    assertion=Verdict(verdict=rng.choice(["pass", "fail"]), source="offline"))
                         for i in (1, 2)]
                rec = EvalRecord(task_id=str(t), model=name, judge="offline", total_steps=2, steps=steps,
                                 scores=Scores(IFS=ifs, VFS=vfs, low_level=vfs, final=0.7 * ifs + 0.3 * vfs,
                                               VFS_all=0.8 * vfs, final_all=0.7 * ifs + 0.24 * vfs),
                                 classification={"domain": f"d{t % 8}", "visual_complexity": "LMH"[t % 3],
                                                 "interaction_complexity": "LMH"[(t // 3) % 3]})
                atomic_write_json(layout.eval_path(out, str(t), name, None, epoch=e), rec.model_dump(mode="json"))


def timed(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=113)
    ap.add_argument("--epochs", type=int, nargs="+", default=[1, 3])
    args = ap.parse_args()
    from iwrbench.report.build import build_reports

    print(f"{'epochs':>6}  {'what':<40} {'wall s':>8} {'cpu s':>8}")
    for epochs in args.epochs:
        rng = random.Random(epochs)
        groups = [[rng.uniform(0, 100) for _ in range(epochs)] for _ in range(args.tasks)]
        for what, fn in ((f"one bootstrap interval ({args.tasks} tasks)", lambda g=groups: stats.bootstrap_ci(g)),
                         ("one paired comparison", lambda g=groups: stats.paired_bootstrap(g, g[::-1]))):
            wall, cpu = timed(fn)
            print(f"{epochs:>6}  {what:<40} {wall:8.3f} {cpu:8.3f}")
        with tempfile.TemporaryDirectory(prefix="iwrbench-bench-reports-") as tmp:
            out = Path(tmp)
            write_world(out, args.models, args.tasks, epochs)
            wall, cpu = timed(lambda o=out: build_reports(o, None))
            print(f"{epochs:>6}  {f'build_reports, {args.models} models':<40} {wall:8.2f} {cpu:8.2f}")


if __name__ == "__main__":
    main()
