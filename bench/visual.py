#!/usr/bin/env python3
"""Visual scoring: milliseconds per checkpoint pair for each metric, with a cold and a warm OCR cache.

A pair is (candidate screenshot, ground-truth checkpoint) from the sample set, scored by the same code
evaluate.py uses (iwrbench.judges). Candidates are, by default, perturbed copies of the checkpoints: the
page moved 12 px down and its colours shifted a few hue degrees, re-encoded as PNG. That is a realistic
near miss (SSIM must align it, the colour histogram sees the hue change, OCR reads the same text), and
every candidate has bytes of its own, so OCR cache hits are only the ones a mode allows. With
`--candidates replay` the screenshots of a finished evaluation are used instead.

OCR cache modes (a fresh temporary cache folder each repeat; a new OcrCache instance, so nothing is
served from memory across modes):
    cold        empty cache: both images are OCR'd (a first evaluation of a new dataset)
    gt-cached   ground-truth entries on disk, candidate not (evaluating another model on the same data)
    all-cached  both on disk (identical screenshots, a re-scored run)

    python bench/visual.py                          # 8 pairs, median of 3 runs
    python bench/visual.py --pairs 3 --repeat 1 --json bench/results/visual.json
    python bench/visual.py --candidates replay --result outputs --model builtin/oracle
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iwrbench import layout  # noqa: E402
from iwrbench.data.tasks import load_tasks  # noqa: E402
from iwrbench.judges.image_similarity import (  # noqa: E402
    Dinov2Similarity,
    ImageMetricUnavailable,
    aligned_ssim,
    colour_similarity,
    load_bgr,
    ssim_similarity,
)
from iwrbench.judges.ocr import OcrCache, OcrEngine, content_key, decode_image, pixel_key  # noqa: E402
from iwrbench.judges.text_similarity import text_similarity  # noqa: E402
from iwrbench.judges.visual import VisualScorer  # noqa: E402

SHIFT_PX = 12
HUE_SHIFT = 4  # OpenCV hue units (2 degrees each)
MODES = ("cold", "gt-cached", "all-cached")


@dataclass(frozen=True)
class Pair:
    task_id: str
    step: int
    candidate: Path
    gt: Path


@dataclass
class Row:
    metric: str
    mode: str  # "-" when the OCR cache plays no part
    ms_per_pair: float | None  # median over runs of the mean over pairs; None = not measured
    runs: list[float] = field(default_factory=list)
    note: str = ""


# ---------------------------------------------------------------- pairs


def perturb(gt: Path, out: Path) -> Path:
    """A near-miss copy of a checkpoint: moved down SHIFT_PX (top filled with the first row), hue shifted."""
    img = load_bgr(gt)
    moved = np.concatenate([np.repeat(img[:1], SHIFT_PX, axis=0), img[:-SHIFT_PX]], axis=0)
    hsv = cv2.cvtColor(moved, cv2.COLOR_BGR2HSV)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + HUE_SHIFT) % 180).astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)):
        raise OSError(f"cannot write {out}")
    return out


def spread(items: list, n: int) -> list:
    """n items evenly spread over the list (all of them when n >= len)."""
    if n >= len(items):
        return list(items)
    return [items[round(i * (len(items) - 1) / max(1, n - 1))] for i in range(n)] if n > 1 else items[:1]


def make_pairs(args: argparse.Namespace, scratch: Path) -> list[Pair]:
    tasks = load_tasks(args.data)
    # One checkpoint per task first (round robin over steps), so a few pairs still cover every task.
    by_task = [[(t, k, p) for k, p in sorted(t.checkpoints.items())] for t in tasks]
    order = []
    for i in range(max((len(x) for x in by_task), default=0)):
        order += [x[(i * 3 + j) % len(x)] for j, x in enumerate(by_task) if i < len(x)]
    pairs: list[Pair] = []
    for task, k, gt in order:
        if len(pairs) >= args.pairs:
            break
        if args.candidates == "replay":
            cand = layout.eval_dir(Path(args.result), task.id, args.model, args.judge) / layout.step_screenshot_name(k)
            if not cand.is_file():
                continue
        else:
            cand = perturb(gt, scratch / "candidates" / f"{task.id}_step_{k}.png")
        pairs.append(Pair(task.id, k, cand, gt))
    if not pairs:
        raise SystemExit(f"no pairs: no checkpoints in {args.data}"
                         + (f" with screenshots under {args.result} for {args.model}" if args.candidates == "replay"
                            else ""))
    return pairs


# ---------------------------------------------------------------- timing


def per_pair_ms(fn: Callable[[Pair], object], pairs: list[Pair]) -> float:
    t0 = time.perf_counter()
    for p in pairs:
        fn(p)
    return 1000 * (time.perf_counter() - t0) / len(pairs)


def seed_gt_entries(src: Path, dst: Path, pairs: list[Pair]) -> None:
    """Copy the ground-truth OCR entries (only those: the picture's entry and the file's .ref) of cache
    folder src into dst, as an earlier evaluation of the same data leaves them."""
    for p in pairs:
        data = p.gt.read_bytes()
        for name in (f"{pixel_key(decode_image(data))}.json", f"{content_key(data)}.ref"):
            entry = src / name[:2] / name
            if entry.is_file():
                (dst / name[:2]).mkdir(parents=True, exist_ok=True)
                shutil.copy2(entry, dst / name[:2] / name)


def ocr_pair(cache: OcrCache, p: Pair) -> float:
    return text_similarity(cache.read(p.candidate).text, cache.read(p.gt).text)


async def _score_all(scorer: VisualScorer, pairs: list[Pair]) -> float:
    t0 = time.perf_counter()
    for p in pairs:  # one at a time, as one evaluation worker scores its checkpoints
        await scorer.score(p.candidate, p.gt)
    return 1000 * (time.perf_counter() - t0) / len(pairs)


def scorer_pass(engine: OcrEngine, cache_dir: Path, pairs: list[Pair]) -> float:
    cache = OcrCache(cache_dir, engine=engine)
    try:
        return asyncio.run(_score_all(VisualScorer("ssim", None, ocr=cache), pairs))
    finally:
        cache.close()


def one_run(engine: OcrEngine, pairs: list[Pair], work: Path, dino: Dinov2Similarity | None) -> dict[tuple[str, str], float]:
    """Every measurement once over all pairs -> {(metric, mode): ms per pair}."""
    out: dict[tuple[str, str], float] = {}
    arrays = {p: (load_bgr(p.candidate), load_bgr(p.gt)) for p in pairs}
    out["image: SSIM+colour (decode, align, SSIM, histogram)", "-"] = per_pair_ms(
        lambda p: ssim_similarity(p.candidate, p.gt), pairs)
    out["  decode both PNGs", "-"] = per_pair_ms(lambda p: (load_bgr(p.candidate), load_bgr(p.gt)), pairs)
    out["  aligned content SSIM", "-"] = per_pair_ms(lambda p: aligned_ssim(*arrays[p]), pairs)
    out["  colour histogram", "-"] = per_pair_ms(lambda p: colour_similarity(*arrays[p]), pairs)
    if dino is not None:
        out["image: DINOv2 (optional metric)", "-"] = per_pair_ms(lambda p: dino.similarity(p.candidate, p.gt), pairs)

    cold, gt_only, scorer_cold, scorer_gt = (work / n for n in ("cold", "gt", "scorer-cold", "scorer-gt"))
    cache = OcrCache(cold, engine=engine)
    out["ocr: text similarity (OCR both, edit distance)", "cold"] = per_pair_ms(lambda p: ocr_pair(cache, p), pairs)
    texts = {p: (cache.read(p.candidate).text, cache.read(p.gt).text) for p in pairs}
    seed_gt_entries(cold, gt_only, pairs)
    gt_cache = OcrCache(gt_only, engine=engine)
    out["ocr: text similarity (OCR both, edit distance)", "gt-cached"] = per_pair_ms(
        lambda p: ocr_pair(gt_cache, p), pairs)
    warm = OcrCache(cold, engine=engine)
    out["ocr: text similarity (OCR both, edit distance)", "all-cached"] = per_pair_ms(lambda p: ocr_pair(warm, p), pairs)
    out["  edit distance alone", "-"] = per_pair_ms(lambda p: text_similarity(*texts[p]), pairs)

    out["all: VisualScorer.score (what evaluate.py pays)", "cold"] = scorer_pass(engine, scorer_cold, pairs)
    seed_gt_entries(cold, scorer_gt, pairs)
    out["all: VisualScorer.score (what evaluate.py pays)", "gt-cached"] = scorer_pass(engine, scorer_gt, pairs)
    out["all: VisualScorer.score (what evaluate.py pays)", "all-cached"] = scorer_pass(engine, cold, pairs)
    return out


def dinov2() -> tuple[Dinov2Similarity | None, str]:
    dino = Dinov2Similarity()
    try:
        dino.load()
    except ImageMetricUnavailable as exc:
        return None, str(exc)
    return dino, ""


def measure(args: argparse.Namespace) -> tuple[list[Pair], list[Row], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="bench-visual-") as tmp:
        scratch = Path(tmp)
        pairs = make_pairs(args, scratch)
        engine = OcrEngine()
        t0 = time.perf_counter()
        engine._load()  # one-off model load, reported apart from the per-pair figures
        once = {"ocr_engine_load_ms": round(1000 * (time.perf_counter() - t0), 1)}
        dino, dino_why = (None, "skipped (--no-dinov2)") if args.no_dinov2 else dinov2()
        engine.read_bytes(pairs[0].gt.read_bytes())  # warm-up: onnxruntime's first call is slower
        ssim_similarity(pairs[0].candidate, pairs[0].gt)  # warm-up: imports scikit-image
        runs: dict[tuple[str, str], list[float]] = {}
        for r in range(args.repeat):
            print(f"run {r + 1}/{args.repeat} over {len(pairs)} pairs ...", file=sys.stderr)
            work = scratch / f"run{r}"
            for key, ms in one_run(engine, pairs, work, dino).items():
                runs.setdefault(key, []).append(round(ms, 2))
            shutil.rmtree(work, ignore_errors=True)
    rows = [Row(metric, mode, round(statistics.median(v), 1), v) for (metric, mode), v in runs.items()]
    if dino is None:
        at = next(i for i, r in enumerate(rows) if r.metric.startswith("  colour")) + 1
        rows.insert(at, Row("image: DINOv2 (optional metric)", "-", None, [], f"unavailable: {dino_why}"))
    return pairs, rows, once


def print_table(pairs: list[Pair], rows: list[Row], once: dict[str, float], repeat: int, candidates: str) -> None:
    size = load_bgr(pairs[0].gt).shape
    print(f"\nVisual scoring of {len(pairs)} checkpoint pairs ({size[1]}x{size[0]}, candidates: {candidates}, "
          f"tasks {', '.join(sorted({p.task_id for p in pairs}, key=lambda s: (len(s), s)))}); "
          f"median of {repeat} run(s):\n")
    head = f"{'metric':<52} {'OCR cache':<11} {'ms/pair':>9}   runs"
    print(head)
    print("-" * max(len(head), 90))
    for r in rows:
        value = "n/a" if r.ms_per_pair is None else f"{r.ms_per_pair:.1f}"
        detail = r.note or " ".join(f"{x:.1f}" for x in r.runs)
        print(f"{r.metric:<52} {r.mode:<11} {value:>9}   {detail}")
    print(f"\nOCR engine load (once per process): {once['ocr_engine_load_ms']:.0f} ms. "
          "VisualScorer runs OCR (one thread) and the image metric concurrently, as evaluate.py does.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "sample.jsonl"))
    ap.add_argument("--pairs", type=int, default=8, help="checkpoint pairs, spread over the tasks (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="median of N runs (default 3)")
    ap.add_argument("--candidates", choices=("perturbed", "replay"), default="perturbed",
                    help="perturbed copies of the checkpoints (default) or a finished evaluation's screenshots")
    ap.add_argument("--result", default="outputs", help="with --candidates replay: the output root")
    ap.add_argument("--model", default="builtin/oracle", help="with --candidates replay: whose screenshots")
    ap.add_argument("--judge", default=None, help="with --candidates replay: judge folder (default offline)")
    ap.add_argument("--no-dinov2", action="store_true", help="do not try to load DINOv2")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.pairs < 1 or args.repeat < 1:
        ap.error("--pairs and --repeat must be at least 1")
    pairs, rows, once = measure(args)
    print_table(pairs, rows, once, args.repeat, args.candidates)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "bench": "visual", "args": {k: str(v) for k, v in vars(args).items()}, **once,
            "pairs": [{"task_id": p.task_id, "step": p.step, "candidate": str(p.candidate.name), "gt": str(p.gt)}
                      for p in pairs],
            "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
