#!/usr/bin/env python3
"""Where visual scoring's CPU goes on pages that differ from the ground truth, and the least it can cost.

Issue 18 asks that visual scoring cost at most a third of the CPU per flagged step it cost before the
OCR crop cache, with the same scores (bench/visual_ab.py measures both sides). Every reading with the
same OCR results runs the detector on the whole of each new picture; this bench measures that part,
and the rest, on pictures no cache has seen, to show how low the CPU per step can go.

PICTURES  Every checkpoint of the sample set moved 12 px and hue-shifted (bench/visual.perturb), so
          each is new to every cache, as a model's page is. They are read task by task in step
          order with one crop cache, as one evaluate.py process reads a task's screenshots.
STAGES    Per picture: detection on the whole picture (rapidocr's first stage), recognition of the
          text crops not recognised before (the second), and the image metric of the pair against
          its checkpoint (aligned SSIM + colour). CPU is this process's, all threads.
FLOOR     Detection + image metric: what a step would cost if recognition were free. Divided by
          --before (visual_ab's "before" CPU per step on the perturbed set with the ground truth
          cached), it is the lowest ratio any change that keeps the OCR results can reach.
REUSE     --reuse-detection also measures the way to go below the floor that was tried: detect only
          where a picture differs from its task's first picture (32-px cells, a margin of cells
          around each change, the detector's map of the first picture kept elsewhere), falling back
          to a whole reading when more than half the cells changed. It prints the CPU against whole
          readings and how far each pair's OCR score moved.

    python bench/ocr_floor.py --before 0.906 --reuse-detection --json /tmp/ocr_floor.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import machine, machine_text, write_json  # noqa: E402
from visual import perturb  # noqa: E402

from iwrbench.judges.image_similarity import ssim_similarity  # noqa: E402
from iwrbench.judges.ocr import OcrEngine, decode_image  # noqa: E402
from iwrbench.judges.ocr_parts import Detection, PartReader  # noqa: E402
from iwrbench.judges.text_similarity import text_similarity  # noqa: E402

CELL = 32  # the detector's input is a multiple of 32 px on each side


def task_chains(data: Path, scratch: Path, ids: list[str] | None = None) -> list[list[tuple[Path, Path]]]:
    """Per task (all, or those in `ids`), (perturbed picture, its checkpoint) in step order."""
    chains = []
    for task in sorted((p for p in data.iterdir() if p.is_dir()), key=lambda p: (len(p.name), p.name)):
        if ids and task.name not in ids:
            continue
        cps = sorted((task / "checkpoints").glob("step_*.png"), key=lambda p: int(p.stem.split("_")[1]))
        if cps:
            chains.append([(perturb(cp, scratch / task.name / cp.name), cp) for cp in cps])
    return chains


def text_of(lines: list[tuple[str, Any, float]]) -> str:
    return "\n".join(line[0] for line in lines)


class DetectionReuse:
    """The tried way below the floor (see REUSE above): the detector's map of a keyframe, recomputed
    only in the cells where a picture differs from it."""

    def __init__(self, reader: PartReader, margin_cells: int = 1, max_changed: float = 0.5):
        self.reader = reader
        self.det = reader.engine._load_det_model()
        self.margin, self.max_changed = margin_cells, max_changed

    def _with_boxes(self, found: Detection, pred_map: np.ndarray) -> Detection:
        """`found` with the boxes of a detector's map, as rapidocr's detector turns its own map into boxes."""
        boxes, _scores = self.det.postprocess_op(pred_map, found.img.shape[:2])
        found.boxes = self.det.sorted_boxes(boxes) if len(boxes) else None
        return found

    def keyframe(self, image: np.ndarray) -> tuple[Detection, np.ndarray]:
        """A whole detection of `image`, and the detector's map it came from (the detector runs once)."""
        found = self.reader.prepare(image)
        key_map = self.det.session(self.det.get_preprocess()(found.img))
        return self._with_boxes(found, key_map), key_map

    def read(self, image: np.ndarray, key: Detection, key_map: np.ndarray) -> tuple[list, float]:
        """(lines, share of cells re-detected); a whole reading when too much changed."""
        import cv2

        found = self.reader.prepare(image)
        if found.img.shape != key.img.shape:
            return self.reader.read(image), 1.0
        pre = self.det.get_preprocess()(found.img)
        h, w = found.img.shape[:2]
        hp, wp = pre.shape[2:]
        ys, xs = np.nonzero(np.any(found.img != key.img, axis=2))
        cells = np.zeros((hp // CELL + 1, wp // CELL + 1), np.uint8)
        cells[(ys * hp / h / CELL).astype(int), (xs * wp / w / CELL).astype(int)] = 1
        k = 2 * self.margin + 1
        cells = cv2.dilate(cells, np.ones((k, k), np.uint8))
        share = float(cells.mean())
        if share > self.max_changed:
            return self.reader.recognise(self._with_boxes(found, self.det.session(pre))), 1.0
        composite = key_map.copy()
        count, _labels, stats, _c = cv2.connectedComponentsWithStats(cells, connectivity=8)
        for i in range(1, count):
            x, y, cw, ch = (int(v) for v in stats[i, :4])
            cx0, cy0 = max(0, x - 2), max(0, y - 2)  # two more cells of context, not pasted back
            cx1, cy1 = min(wp // CELL, x + cw + 2), min(hp // CELL, y + ch + 2)
            part = self.det.session(np.ascontiguousarray(pre[:, :, cy0 * CELL:cy1 * CELL, cx0 * CELL:cx1 * CELL]))
            y0, x0 = y * CELL, x * CELL
            y1, x1 = min((y + ch) * CELL, hp), min((x + cw) * CELL, wp)
            oy, ox = y0 - cy0 * CELL, x0 - cx0 * CELL
            composite[..., y0:y1, x0:x1] = part[..., oy:oy + y1 - y0, ox:ox + x1 - x0]
        return self.reader.recognise(self._with_boxes(found, composite)), share


def measure_stages(engine: OcrEngine, chains: list[list[tuple[Path, Path]]]) -> list[dict[str, Any]]:
    reader = PartReader(engine._load(), min_score=engine.min_score)
    rows = []
    for chain in chains:
        for pic, gt in chain:
            image = decode_image(pic.read_bytes())
            t0 = time.process_time()
            found = reader.detect(image)
            t1 = time.process_time()
            before = reader.stats.crops_recognised
            reader.recognise(found)
            t2 = time.process_time()
            ssim_similarity(pic, gt)
            t3 = time.process_time()
            rows.append({"picture": f"{gt.parent.parent.name}/{gt.name}", "detection_s": t1 - t0,
                         "recognition_s": t2 - t1, "image_metric_s": t3 - t2,
                         "crops": 0 if found.boxes is None else len(found.boxes),
                         "crops_recognised": reader.stats.crops_recognised - before})
    return rows


def measure_reuse(engine: OcrEngine, chains: list[list[tuple[Path, Path]]]) -> dict[str, Any]:
    """Whole readings against detection reuse, each with its own crop cache; scores against whole
    readings of the checkpoints."""
    raw = engine._load()
    gt_reader = PartReader(raw, min_score=engine.min_score)
    whole_reader, reuse_reader = (PartReader(raw, min_score=engine.min_score) for _ in range(2))
    reuse = DetectionReuse(reuse_reader)
    whole_s = reuse_s = 0.0
    moves, shares = [], []
    for chain in chains:
        images = [decode_image(pic.read_bytes()) for pic, _gt in chain]
        gts = [text_of(gt_reader.read(decode_image(gt.read_bytes()))) for _pic, gt in chain]
        t0 = time.process_time()
        whole = [whole_reader.read(im) for im in images]
        t1 = time.process_time()
        key, key_map = reuse.keyframe(images[0])
        reused = [reuse_reader.recognise(key)]
        for im in images[1:]:
            lines, share = reuse.read(im, key, key_map)
            reused.append(lines)
            shares.append(share)
        t2 = time.process_time()
        whole_s, reuse_s = whole_s + t1 - t0, reuse_s + t2 - t1
        for (_pic, gt), a, b, ref in zip(chain, whole, reused, gts, strict=True):
            moves.append({"picture": f"{gt.parent.parent.name}/{gt.name}",
                          "move": abs(100 * (text_similarity(text_of(a), ref) - text_similarity(text_of(b), ref)))})
    return {"whole_cpu_s": whole_s, "reuse_cpu_s": reuse_s, "ratio": reuse_s / whole_s if whole_s else None,
            "max_move": max(m["move"] for m in moves), "pairs_moved_over_half_point": sum(m["move"] > 0.5 for m in moves),
            "pairs": len(moves), "median_share_redetected": statistics.median(shares) if shares else None,
            "moves": moves}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "sample", help="the sample set's task folders")
    ap.add_argument("--before", type=float, help="CPU-s per step before the crop cache (visual_ab, perturbed, "
                    "ground truth cached), to print the lowest reachable ratio")
    ap.add_argument("--task", help="comma-separated task ids (default: every task)")
    ap.add_argument("--reuse-detection", action="store_true", help="also measure the tried detection reuse")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    mach = machine()
    print(machine_text(mach))
    engine = OcrEngine()
    engine.read_array(np.full((720, 1280, 3), 255, np.uint8))  # load and warm the models up
    with tempfile.TemporaryDirectory(prefix="ocr-floor-") as tmp:
        chains = task_chains(args.data, Path(tmp), args.task.split(",") if args.task else None)
        if not chains:
            raise SystemExit(f"no task with checkpoints under {args.data}" + (f" among {args.task}" if args.task else ""))
        rows = measure_stages(engine, chains)
        reuse = measure_reuse(engine, chains) if args.reuse_detection else None

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    floor = med("detection_s") + med("image_metric_s")
    print(f"\n{len(rows)} new pictures (perturbed checkpoints), CPU-s per picture, median:")
    print(f"  detection (whole picture)      {med('detection_s'):.3f}")
    print(f"  recognition (new crops only)   {med('recognition_s'):.3f}   "
          f"({sum(r['crops_recognised'] for r in rows)} of {sum(r['crops'] for r in rows)} crops recognised)")
    print(f"  image metric (SSIM + colour)   {med('image_metric_s'):.3f}")
    print(f"  floor: detection + image metric {floor:.3f}")
    if args.before:
        print(f"  floor / before ({args.before:.3f} CPU-s per step): {floor / args.before:.2f}  (target: 0.33)")
    if reuse:
        print(f"\nDetection reused from each task's first picture: {reuse['reuse_cpu_s']:.2f} CPU-s against "
              f"{reuse['whole_cpu_s']:.2f} for whole readings ({reuse['ratio']:.2f}x); median share of cells "
              f"re-detected {reuse['median_share_redetected']:.2f}; OCR score moved by up to {reuse['max_move']:.2f} "
              f"points, {reuse['pairs_moved_over_half_point']} of {reuse['pairs']} pairs by more than 0.5")
    if args.json:
        write_json(args.json, {"bench": "ocr_floor", "machine": mach, "pictures": rows, "floor_cpu_s": floor,
                               "before_cpu_s": args.before, "reuse_detection": reuse})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
