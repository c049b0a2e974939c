#!/usr/bin/env python3
"""Visual scoring, before and after a change, in one run: CPU-seconds per flagged step and the scores.

Issue 18 asks that visual scoring of pages that differ from the ground truth cost at most a third of
the CPU it cost before the OCR crop cache (commit ca3de5e), with every step's OCR similarity within
0.5 points. This bench scores the same pairs with both checkouts' code and compares.

PAIRS   What evaluate.py scores: step 0 and every flagged step of each task, the candidate being the
        screenshot a real evaluation took (a stand-in's last captured state for a flagged step never
        reached), against the task's checkpoint. One set per model (default: builtin/screenshot,
        builtin/blank, builtin/oracle; their pages generated and evaluated once, offline, by this
        checkout, into --result), plus `perturbed`: every flagged checkpoint moved 12 px and hue-shifted
        (bench/visual.py), a page whose text is its own pixels everywhere.
SIDES   `before`: the package of --before-rev (default ca3de5e^) extracted with `git archive`, or the
        checkout given by --before; `now`: this checkout. Each measurement is its own subprocess that
        imports only that side's iwrbench, loads the OCR engine, warms it up on a synthetic picture,
        then scores the set's pairs one at a time with VisualScorer.score (OCR + SSIM/colour), as one
        evaluation worker does. Its CPU (user + system, the process and its children, every thread)
        is taken around the scoring only: start-up and model load are reported apart.
CACHE   cold: an empty OCR cache folder (a new dataset). gt-warm: a folder holding only the ground
        truth's entries, written by the same side's cold run (another model on the same data). The
        in-process crop cache of `now` always starts empty, as in a new evaluate.py process.
ROUNDS  Each round runs every set cold then gt-warm, both sides back to back, the side that goes first
        alternating between rounds, so both see the same load. Figures are medians over rounds.

    python bench/visual_ab.py --result /tmp/vab --json bench/results/visual_ab.json   # 3 rounds
    python bench/visual_ab.py --before ../before-checkout --sets builtin/screenshot --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REV = "ca3de5e^"
MODELS = ("builtin/screenshot", "builtin/blank", "builtin/oracle")
PERTURBED = "perturbed"
CACHE_MODES = ("cold", "gt-warm")


def cpu_now() -> float:
    """User + system CPU seconds of this process (all threads) and its waited-for children."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


# ---------------------------------------------------------------- the worker (one side, one set, one cache)


def synthetic_page() -> Any:
    """A picture with text that no pair holds, to warm the OCR engine up without filling its caches
    with a pair's crops."""
    import cv2
    import numpy as np

    img = np.full((720, 1280, 3), 255, np.uint8)
    for i, line in enumerate(("Warm-up page for the OCR engine", "Nothing here is in the sample set",
                              "0123456789 abcdefghij KLMNOPQRST")):
        cv2.putText(img, line, (60, 120 + 90 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (30, 30, 30), 2)
    return img


def seed_gt(src: Path, dst: Path, gts: list[Path], ocr: Any) -> None:
    """Copy the ground truth's entries (picture entry and file .ref) of cache src into dst, as an earlier
    evaluation of the same data leaves them (the side's own key functions and layout)."""
    for gt in gts:
        data = gt.read_bytes()
        for name in (f"{ocr.pixel_key(ocr.decode_image(data))}.json", f"{ocr.content_key(data)}.ref"):
            entry = src / name[:2] / name
            if entry.is_file():
                (dst / name[:2]).mkdir(parents=True, exist_ok=True)
                shutil.copy2(entry, dst / name[:2] / name)


def worker(args: argparse.Namespace) -> int:
    side_root = Path(args.side_root).resolve()
    sys.path.insert(0, str(side_root))
    import iwrbench.judges.ocr as ocr
    from iwrbench.judges.image_similarity import ssim_similarity
    from iwrbench.judges.visual import VisualScorer

    if not Path(ocr.__file__).resolve().is_relative_to(side_root):
        raise SystemExit(f"imported {ocr.__file__}, not the side's package under {side_root}")
    pairs = json.loads(Path(args.pairs).read_text(encoding="utf-8"))
    cache_dir = Path(args.cache)
    t0, c0 = time.perf_counter(), cpu_now()
    engine = ocr.OcrEngine()
    engine.read_array(synthetic_page())  # model load and onnxruntime's slower first call
    import cv2

    with tempfile.TemporaryDirectory(prefix="vab-warm-") as tmp:  # imports scikit-image, first SSIM
        a, b = Path(tmp) / "a.png", Path(tmp) / "b.png"
        cv2.imwrite(str(a), synthetic_page())
        cv2.imwrite(str(b), synthetic_page()[::-1].copy())
        ssim_similarity(a, b)
    setup = {"cpu_s": cpu_now() - c0, "wall_s": time.perf_counter() - t0}
    warm_stats = dict(getattr(engine, "stats", {}) or {})
    cache = ocr.OcrCache(cache_dir, engine=engine)
    scorer = VisualScorer("ssim", None, ocr=cache)
    per_pair: list[dict[str, Any]] = []

    async def score_all() -> None:
        for p in pairs:  # one at a time, as one evaluation worker scores its checkpoints
            c = cpu_now()
            v = await scorer.score(Path(p["candidate"]), Path(p["gt"]))
            per_pair.append({"ocr": v.ocr, "image": v.image, "errors": getattr(v, "errors", None), "cpu_s": cpu_now() - c})

    t1, c1 = time.perf_counter(), cpu_now()
    asyncio.run(score_all())
    scoring = {"cpu_s": cpu_now() - c1, "wall_s": time.perf_counter() - t1}
    after = dict(getattr(engine, "stats", {}) or {})  # `before` has no crop cache, so no stats
    stats = {k: v - warm_stats.get(k, 0) for k, v in after.items()}
    cache.close()
    if args.seed:
        seed_gt(cache_dir, Path(args.seed), sorted({Path(p["gt"]) for p in pairs}), ocr)
    Path(args.out).write_text(json.dumps({"setup": setup, "scoring": scoring, "ocr_stats": stats,
                                          "pairs": per_pair}) + "\n", encoding="utf-8")
    return 0


# ---------------------------------------------------------------- pairs


def selected(data: Path, ids: list[str]) -> list[Any]:
    from iwrbench.data.tasks import load_tasks

    tasks = [t for t in load_tasks(data) if not ids or t.id in ids]
    if not tasks:
        raise SystemExit(f"no tasks selected in {data}")
    return tasks


def prepare_models(result: Path, data: Path, models: list[str], ids: list[str]) -> None:
    """Generate and evaluate (offline, visual on) each model's pages once, unless already there."""
    env = {**os.environ, "IWRBENCH_CACHE_DIR": str(result / ".cache")}
    for model in models:
        from iwrbench import layout

        if all(layout.eval_path(result, t.id, model, None).is_file() for t in selected(data, ids)):
            continue
        for script, extra in (("generate.py", []), ("evaluate.py", ["--workers", "2"])):
            print(f"{script} --model {model} into {result} ...", file=sys.stderr)
            proc = subprocess.run([sys.executable, str(ROOT / script), "--data", str(data), "--result", str(result),
                                   "--model", model, "-q", *extra]
                                  + (["--task", ",".join(ids)] if ids else []), env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{script} --model {model} failed:\n{proc.stderr[-2000:]}")


def model_pairs(result: Path, data: Path, model: str, ids: list[str]) -> list[dict[str, Any]]:
    """Every visual pair a finished offline evaluation scored: step 0, flagged steps, stand-ins."""
    from iwrbench import layout

    pairs = []
    for task in selected(data, ids):
        folder = layout.eval_dir(result, task.id, model, None)
        rec = json.loads((folder / "eval.json").read_text(encoding="utf-8"))
        found = [(0, "initial", rec.get("initial_screenshot"), rec.get("initial"))]
        for s in rec["steps"]:
            found.append((s["index"], "step", s.get("screenshot"), s.get("visual")))
            stand_in = s.get("visual_last_state")
            found.append((s["index"], "stand-in", (stand_in or {}).get("compared_with"), stand_in))
        for k, kind, shot, visual in found:
            gt = task.checkpoint(k)
            if visual is None or not shot or gt is None:
                continue
            pairs.append({"task": task.id, "step": k, "kind": kind, "candidate": str(folder / shot),
                          "gt": str(gt), "recorded_ocr": visual.get("ocr")})
    return pairs


def perturbed_pairs(data: Path, ids: list[str], scratch: Path) -> list[dict[str, Any]]:
    """Step 0 and every flagged checkpoint, against a shifted, hue-moved copy of itself."""
    from visual import perturb

    pairs = []
    for task in selected(data, ids):
        for k in [0] + [a.index for a in task.actions if a.visual_evaluation_flag]:
            gt = task.checkpoint(k)
            if gt is not None:
                cand = perturb(gt, scratch / "perturbed" / f"{task.id}_step_{k}.png")
                pairs.append({"task": task.id, "step": k, "kind": "perturbed", "candidate": str(cand),
                              "gt": str(gt), "recorded_ocr": None})
    return pairs


# ---------------------------------------------------------------- the run


def before_tree(args: argparse.Namespace, scratch: Path) -> Path:
    if args.before:
        root = Path(args.before).resolve()
        if not (root / "iwrbench" / "judges" / "visual.py").is_file():
            raise SystemExit(f"--before {root}: no iwrbench/judges/visual.py there")
        return root
    root = scratch / "before"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before_rev, "iwrbench"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {args.before_rev}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    return root


def run_side(root: Path, pairs_file: Path, cache: Path, seed: Path | None, out: Path) -> dict[str, Any]:
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--side-root", str(root), "--pairs",
           str(pairs_file), "--cache", str(cache), "--out", str(out)] + (["--seed", str(seed)] if seed else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(cache.parent))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"worker for {root} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(out.read_text(encoding="utf-8"))
    res["process"] = {"wall_s": time.perf_counter() - t0,
                      "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}
    return res


def median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def summarise(sets: dict[str, list[dict[str, Any]]], runs: dict[tuple[str, str, str], list[dict[str, Any]]]
              ) -> dict[str, Any]:
    rows = []
    for name, pairs in sets.items():
        for mode in CACHE_MODES:
            per = {side: [r["scoring"]["cpu_s"] / len(pairs) for r in runs[name, mode, side]]
                   for side in ("before", "now")}
            med = {side: median(v) for side, v in per.items()}
            stats = runs[name, mode, "now"][0]["ocr_stats"]
            rows.append({"set": name, "cache": mode, "pairs": len(pairs), "before_cpu_per_step": med["before"],
                         "now_cpu_per_step": med["now"], "ratio": med["now"] / med["before"] if med["before"] else None,
                         "before_runs": per["before"], "now_runs": per["now"], "now_ocr_stats": stats,
                         "setup_cpu_s": {s: median([r["setup"]["cpu_s"] for r in runs[name, mode, s]])
                                         for s in ("before", "now")}})
    scores = []
    for name, pairs in sets.items():
        b = runs[name, "cold", "before"][0]["pairs"]
        diffs, img, rec, errs = [0.0] * len(pairs), [0.0] * len(pairs), [], 0
        for side_runs in (runs[name, m, s] for m in CACHE_MODES for s in ("before", "now")):
            for run in side_runs:
                errs += sum(1 for p in run["pairs"] if p["errors"] or p["ocr"] is None)
                for i, (p, q) in enumerate(zip(b, run["pairs"], strict=True)):
                    diffs[i] = max(diffs[i], abs((q["ocr"] or 0) - (p["ocr"] or 0)))
                    img[i] = max(img[i], abs((q["image"] or 0) - (p["image"] or 0)))
        for p, pair in zip(runs[name, "cold", "now"][0]["pairs"], pairs, strict=True):
            if pair["recorded_ocr"] is not None:
                rec.append(abs((p["ocr"] or 0) - pair["recorded_ocr"]))
        ocr_b = [p["ocr"] for p in b if p["ocr"] is not None]
        scores.append({"set": name, "pairs": len(pairs), "steps_differing": sum(1 for d in diffs if d > 0),
                       "max_abs_ocr_diff": max(diffs), "max_abs_image_diff": max(img),
                       "max_abs_diff_vs_eval_json": max(rec) if rec else None, "errors": errs,
                       "mean_ocr": sum(ocr_b) / len(ocr_b) if ocr_b else None})
    return {"rows": rows, "scores": scores}


def print_summary(summary: dict[str, Any], rounds: int, load: list[list[float]]) -> None:
    print(f"\nVisual scoring (VisualScorer.score: OCR + SSIM/colour), CPU-seconds per flagged step, median of "
          f"{rounds} round(s) per side; load average seen {min(x[0] for x in load):.1f} to "
          f"{max(x[0] for x in load):.1f}:\n")
    print(f"{'set':<20} {'pairs':>5} {'OCR cache':<9} {'before':>8} {'now':>8} {'now/before':>10}   "
          f"crops recognised/seen (now)   runs before | now")
    for r in summary["rows"]:
        s = r["now_ocr_stats"]
        crops = f"{s.get('crops_recognised', '?')}/{s.get('crops', '?')}" if s else "-"
        print(f"{r['set']:<20} {r['pairs']:>5} {r['cache']:<9} {r['before_cpu_per_step']:>8.3f} "
              f"{r['now_cpu_per_step']:>8.3f} {r['ratio']:>10.2f}   {crops:<28} "
              f"{' '.join(f'{x:.3f}' for x in r['before_runs'])} | {' '.join(f'{x:.3f}' for x in r['now_runs'])}")
    print("\nScores, every run of both sides against before's first cold run (points of 0-100):\n")
    print(f"{'set':<20} {'pairs':>5} {'mean OCR':>8} {'max |dOCR|':>10} {'max |dimage|':>12} "
          f"{'pairs differing':>15} {'max |now - eval.json|':>21} {'errors':>6}")
    for s in summary["scores"]:
        vs = "-" if s["max_abs_diff_vs_eval_json"] is None else f"{s['max_abs_diff_vs_eval_json']:.2f}"
        mean = "-" if s["mean_ocr"] is None else f"{s['mean_ocr']:.2f}"
        print(f"{s['set']:<20} {s['pairs']:>5} {mean:>8} {s['max_abs_ocr_diff']:>10.2f} "
              f"{s['max_abs_image_diff']:>12.2f} {s['steps_differing']:>15} {vs:>21} {s['errors']:>6}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "sample.jsonl")
    ap.add_argument("--result", type=Path, help="where the models' pages and evaluations are (made when missing; "
                    "default: a scratch folder, removed after)")
    ap.add_argument("--sets", default=",".join((*MODELS, PERTURBED)),
                    help=f"comma list of models and/or '{PERTURBED}' (default: %(default)s)")
    ap.add_argument("--before", help="checkout of the code before (default: --before-rev extracted by git archive)")
    ap.add_argument("--before-rev", default=BEFORE_REV, help="revision for `before` (default: %(default)s)")
    ap.add_argument("--task", action="append", help="only these task ids (repeatable or comma lists)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each side once per set and cache mode (default 3)")
    ap.add_argument("--json", type=Path, help="also write every run and the medians here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--side-root", "--pairs", "--cache", "--out", "--seed"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import machine, machine_text, write_json

    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    mach = machine()
    print(machine_text(mach), file=sys.stderr)
    scratch = Path(tempfile.mkdtemp(prefix="bench-visual-ab-"))
    try:
        result = (args.result or scratch / "result").resolve()
        ids = [v.strip() for value in args.task or [] for v in value.split(",") if v.strip()]
        prepare_models(result, args.data, [n for n in names if n != PERTURBED], ids)
        sets = {n: perturbed_pairs(args.data, ids, scratch) if n == PERTURBED
                else model_pairs(result, args.data, n, ids) for n in names}
        roots = {"before": before_tree(args, scratch), "now": ROOT}
        runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        load: list[list[float]] = [list(os.getloadavg())]
        for r in range(args.rounds):
            order = ("before", "now") if r % 2 == 0 else ("now", "before")
            for name, pairs in sets.items():
                pairs_file = scratch / f"pairs-{name.replace('/', '__')}.json"
                pairs_file.write_text(json.dumps(pairs), encoding="utf-8")
                for side in order:
                    base = scratch / f"r{r}-{side}-{name.replace('/', '__')}"
                    print(f"round {r + 1}/{args.rounds}: {name} ({len(pairs)} pairs), {side}, cold and gt-warm ...",
                          file=sys.stderr)
                    runs.setdefault((name, "cold", side), []).append(
                        run_side(roots[side], pairs_file, base / "cold", base / "gt-warm", base / "cold.json"))
                    runs.setdefault((name, "gt-warm", side), []).append(
                        run_side(roots[side], pairs_file, base / "gt-warm", None, base / "gt-warm.json"))
                    shutil.rmtree(base / "cold", ignore_errors=True)
                    load.append(list(os.getloadavg()))
            summary = summarise(sets, runs)
            if args.json:  # after every round: a run stopped early keeps the rounds it finished
                write_json(args.json, {"bench": "visual_ab", "machine": mach, "rounds_done": r + 1,
                                       "load_averages": load,
                                       "before": {"rev": None if args.before else args.before_rev,
                                                  "root": str(roots["before"])},
                                       "sets": sets, **summary,
                                       "runs": {"|".join(k): v for k, v in runs.items()}})
        print_summary(summary, args.rounds, load)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
