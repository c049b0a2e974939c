"""Checking a broken copy's label by recording it with the same action script.

The label "action L fails first" holds when the broken copy's checkpoints before L match the page's own
(within a small pixel tolerance) and at L either the action cannot be performed or the checkpoint
differs. The page is recorded twice (the task's checkpoints and a fresh run): a step whose two recordings
of the page itself differ is not deterministic (a random tile, a clock), and a label that rests on such a
step is reported as not validated instead of being guessed.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from utils.task_recorder import MOVING_MARGIN, Recording, RecordMode, record, serve_folder

PIXEL_DELTA = 40          # a channel differing by more than this is a changed pixel
CHANGED_SHARE = 0.00005   # two states differ when more than this share of pixels changed (46 px at
                          # 1280x720: a masked password growing by two dots, a counter's digit)


def _decode(png: bytes | Path) -> np.ndarray:
    data = png.read_bytes() if isinstance(png, Path) else png
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    return img


Box = tuple[float, float, float, float]  # x, y, width, height in CSS pixels


def changed_share(a: bytes | Path, b: bytes | Path, ignore: list[Box] | None = None) -> float:
    """Share of pixels that differ clearly between two screenshots (1.0 if their sizes differ); pixels
    inside the `ignore` boxes (plus a small margin) do not count."""
    x, y = _decode(a), _decode(b)
    if x.shape != y.shape:
        return 1.0
    changed = np.abs(x.astype(np.int16) - y.astype(np.int16)).max(axis=2) > PIXEL_DELTA
    for box in ignore or []:
        bx, by, bw, bh = (int(round(v)) for v in box)
        m = MOVING_MARGIN
        changed[max(0, by - m):max(0, by + bh + m), max(0, bx - m):max(0, bx + bw + m)] = False
    return float(changed.mean())


def same_state(a: bytes | Path, b: bytes | Path, ignore: list[Box] | None = None) -> bool:
    return changed_share(a, b, ignore) <= CHANGED_SHARE


def record_folder(folder: Path, actions: list[Any], size: tuple[int, int]) -> Recording:
    """Record `folder`'s index.html with the script as a real site, up to the first action that fails."""
    with tempfile.TemporaryDirectory(prefix="thirdparty-probe-") as tmp:
        home = Path(tmp)
        with serve_folder(folder) as url:
            return asyncio.run(record(url + "index.html", actions, size=size, home=home,
                                      mode=RecordMode(real=True), stop_on_error=False))


@dataclass(frozen=True)
class Verdict:
    status: str        # "validated" | "unvalidated" | "refuted"
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


def deterministic_steps(task_shots: list[Path], fresh: Recording, ignore: list[Box] | None = None) -> list[bool]:
    """Per checkpoint: did two recordings of the page itself agree (outside endless animations)?"""
    return [k < len(fresh.checkpoints) and same_state(p, fresh.checkpoints[k], ignore)
            for k, p in enumerate(task_shots)]


def judge_label(label: int, task_shots: list[Path], stable: list[bool], broken: Recording,
                ignore: list[Box] | None = None, hidden: Box | None = None) -> Verdict:
    """Does the broken copy's recording bear out 'action `label` fails first'? `ignore`: boxes left out
    of every comparison (endless animations); `hidden`: the box of an element the copy hides, left out
    of the comparisons before the label (it is meant to be missing)."""
    before = [*(ignore or []), *([hidden] if hidden else [])]
    for k in range(label):
        if k >= len(broken.checkpoints):
            return Verdict("refuted", f"action {broken.failed_at} could not be performed, before the label")
        if stable[k] and not same_state(task_shots[k], broken.checkpoints[k], before):
            share = changed_share(task_shots[k], broken.checkpoints[k], before)
            return Verdict("refuted", f"step {k} already differs ({share:.2%} of pixels)")
    if broken.failed_at == label:
        return Verdict("validated", f"action {label} cannot be performed on the broken copy")
    if label >= len(broken.checkpoints):
        return Verdict("refuted", "the broken copy's recording stopped early")
    if not stable[label]:
        return Verdict("unvalidated", f"step {label} differs between two recordings of the page itself")
    share = changed_share(task_shots[label], broken.checkpoints[label], ignore)
    if share <= CHANGED_SHARE:
        return Verdict("refuted", f"step {label} looks the same as the page's ({share:.2%} of pixels differ)")
    unstable = [k for k in range(label) if not stable[k]]
    note = f"; steps {unstable} not deterministic, not compared" if unstable else ""
    return Verdict("validated", f"steps 0..{label - 1} match the page, step {label} differs ({share:.2%}){note}")
