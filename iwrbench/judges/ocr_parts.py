"""OCR of a picture with the text crops it shares with pictures read before recognised only once.

A task's consecutive screenshots differ in a few places (a menu opened, a counter went up); a rebuilt
page's screenshots share their header and navigation from step to step; the copies of a task share
their checkpoints. rapidocr reads a picture in two stages: it detects the text boxes on the whole
picture (about 0.3 CPU-s for 1280x720 here), then recognises every box's crop (0.3 to 1.4 CPU-s,
growing with the number of lines). `PartReader` runs the same stages with the same models, and
recognises only the crops it has not recognised before:

- detection runs on the whole picture, as in rapidocr. (Reading bands of the picture alone was
  measured and dropped: the detector pools over the whole picture, and banded boxes moved the OCR
  similarity of the screenshot baseline's steps by up to 7 points; docs/performance.md, session 7);
- rapidocr recognises crops in batches of `rec_batch_num`, sorted by aspect ratio, each crop padded to
  the widest crop of its batch, and the padding changes what is read now and then. Each crop is read
  alone here, padded exactly as in its batch, and its text and score are cached by (crop pixels,
  padding). The lines are therefore those of rapidocr's whole-picture reading; only the work differs.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Detection:
    """A picture after detection: the detector's input, how it maps back, and the boxes (None: no text)."""

    img: np.ndarray
    op_record: dict[str, Any]
    boxes: Any
    shape: tuple[int, int]


@dataclass
class PartStats:
    """What reading cost: crops recognised against crops found already recognised."""

    pictures: int = 0
    crops: int = 0
    crops_recognised: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _Lru:
    def __init__(self, items: int):
        self.items = items
        self._d: OrderedDict[bytes, Any] = OrderedDict()

    def get(self, key: bytes) -> Any:
        hit = self._d.get(key)
        if hit is not None:
            self._d.move_to_end(key)
        return hit

    def put(self, key: bytes, value: Any) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.items:
            self._d.popitem(last=False)


def crop_key(crop: np.ndarray, padded_ratio: float) -> bytes:
    digest = hashlib.blake2b(repr((crop.shape, crop.dtype.str, round(padded_ratio, 6))).encode(), digest_size=20)
    digest.update(np.ascontiguousarray(crop).data)
    return digest.digest()


def batch_padding(ratios: list[float], batch: int, base_ratio: float) -> list[float]:
    """The aspect ratio each crop is padded to by rapidocr's recogniser: crops sorted by ratio, taken
    `batch` at a time, each batch padded to its widest crop (at least the model's own ratio)."""
    order = np.argsort(np.array(ratios))
    pad = [0.0] * len(ratios)
    for beg in range(0, len(ratios), batch):
        chunk = order[beg:beg + batch]
        widest = max([base_ratio] + [ratios[i] for i in chunk])
        for i in chunk:
            pad[i] = widest
    return pad


class PartReader:
    """Reads pictures with a loaded rapidocr engine, recognising each distinct crop once (see module
    doc). Not thread-safe: the OCR engine's callers hold its lock."""

    def __init__(self, engine: Any, *, min_score: float, crop_items: int = 65536):
        self.engine = engine
        self.min_score = min_score
        self._crops = _Lru(crop_items)
        self.stats = PartStats()

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        rec = self.engine._load_rec_model()
        _c, img_h, img_w = rec.rec_image_shape[:3]
        ratios = [c.shape[1] / float(c.shape[0]) for c in crops]
        out: list[tuple[str, float]] = []
        for crop, ratio, widest in zip(crops, ratios, batch_padding(ratios, rec.rec_batch_num, img_w / img_h),
                                       strict=True):
            self.stats.crops += 1
            key = crop_key(crop, widest)
            hit = self._crops.get(key)
            if hit is None:
                self.stats.crops_recognised += 1
                batch = rec.resize_norm_img(crop, widest)[np.newaxis, :].astype(np.float32)
                lines, _words = rec.postprocess_op(rec.session(batch), False, wh_ratio_list=[ratio],
                                                   max_wh_ratio=widest)
                text, score = lines[0] if lines else ("", 0.0)
                hit = (str(text), float(score))
                self._crops.put(key, hit)
            out.append(hit)
        return out

    def prepare(self, image: np.ndarray) -> Detection:
        """The picture as rapidocr hands it to the detector, no boxes yet."""
        from rapidocr.utils.process_img import apply_vertical_padding

        eng = self.engine
        img, op_record = eng.preprocess_img(image)
        if eng.cfg.Global.use_vertical_padding:
            img, op_record = apply_vertical_padding(img, op_record, eng.width_height_ratio, eng.min_height)
        else:
            op_record["padding_1"] = {"top": 0, "left": 0}
        return Detection(img, op_record, None, image.shape[:2])

    def detect(self, image: np.ndarray) -> Detection:
        """rapidocr's first stage on the whole picture: its text boxes, in reading order."""
        found = self.prepare(image)
        det = self.engine._load_det_model()(found.img)
        found.boxes = det.boxes if det.boxes is not None and len(det.boxes) else None
        return found

    def recognise(self, found: Detection) -> list[tuple[str, tuple[int, int, int, int], float]]:
        """The second stage: each box's crop read (the crops seen before from the cache), mapped back to
        the picture's pixels, lines under the score threshold dropped."""
        from rapidocr.utils.process_img import get_rotate_crop_image, map_boxes_to_original

        if found.boxes is None:
            return []
        crops = [get_rotate_crop_image(found.img, copy.deepcopy(box)) for box in found.boxes]
        texts = self._recognise(crops)
        h, w = found.shape
        mapped = map_boxes_to_original(np.array(found.boxes, dtype=np.float32), found.op_record, h, w)
        lines = []
        for (text, score), box in zip(texts, mapped, strict=True):
            text = text.strip()
            if not text or score < self.min_score:
                continue
            xs, ys = box[:, 0], box[:, 1]
            lines.append((text, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())), round(score, 4)))
        return lines

    def read(self, image: np.ndarray) -> list[tuple[str, tuple[int, int, int, int], float]]:
        """(text, (x0, y0, x1, y1), score) per line in reading order, in `image`'s pixels: the lines of
        rapidocr's `engine(image)` with its classifier off."""
        self.stats.pictures += 1
        return self.recognise(self.detect(image))
