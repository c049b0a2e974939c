"""Offline OCR (rapidocr + onnxruntime) with an on-disk cache keyed by the image's content.

Why these settings (measured on 1280x720 and 1920x1080 Chromium screenshots, see the judges report):
- the 180-degree text classifier is off: web pages have no upside-down text, and it costs ~10%;
- detection runs at native resolution up to a longest side of 1440 px. rapidocr's default upsamples
  a 1280x720 page (min side 736) and runs 1920x1080 at full size; halving the detector's input
  (longest side 960) lost 11% of the words on 1080p pages, 1440 loses ~1% and is ~40% faster.
  Downscaling the image itself does not pay: web text is 12-16 px at any viewport width.

Each text crop is recognised once per process (ocr_parts.py): a screenshot that shares most of its
lines with one read before (the task's previous step, another copy of the same page) costs the
detection and its new lines only, with the same lines as a whole reading. Ground-truth checkpoints
are read once per dataset; candidate screenshots are cached by the hash of
their pixels too, so identical states (a page that did not change, reruns, a reference page whose
screenshot matches its checkpoint pixel for pixel) are never read twice. All OCR runs on
one worker thread per process: onnxruntime already uses every core for one image, and the thread
keeps the event loop free (onnxruntime and OpenCV release the GIL). That thread, and the onnxruntime
threads it starts, run behind the replay at a lower CPU priority (judges/behind.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iwrbench.fsutil import atomic_write_text
from iwrbench.judges.behind import lower_priority, run_behind

log = logging.getLogger("iwrbench.judges.ocr")

DET_MAX_SIDE = 1440
MIN_SCORE = 0.5
# Part of every cache key: change it whenever the engine or its settings change.
ENGINE_ID = f"rapidocr3-ppocrv6s-nocls-det{DET_MAX_SIDE}-s{MIN_SCORE}-v1"


class OcrError(Exception):
    """The image could not be read, or the OCR engine is unavailable."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass
class OcrResult:
    lines: list[OcrLine]
    width: int
    height: int
    seconds: float = 0.0
    cached: bool = field(default=False, compare=False)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"engine": ENGINE_ID, "width": self.width, "height": self.height, "seconds": round(self.seconds, 3),
                "lines": [asdict(line) for line in self.lines]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> OcrResult:
        lines = [OcrLine(text=str(d["text"]), box=tuple(int(v) for v in d["box"]), score=float(d["score"]))
                 for d in obj["lines"]]
        return cls(lines=lines, width=int(obj["width"]), height=int(obj["height"]),
                   seconds=float(obj.get("seconds", 0.0)), cached=True)


def default_cache_dir() -> Path:
    """$IWRBENCH_CACHE_DIR/ocr, else .cache/ocr under the working directory."""
    return Path(os.environ.get("IWRBENCH_CACHE_DIR") or ".cache") / "ocr"


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("IWRBENCH_OCR_THREADS", "0"))) if os.environ.get(
            "IWRBENCH_OCR_THREADS") else min(4, os.cpu_count() or 1)
    except ValueError:
        return min(4, os.cpu_count() or 1)


def decode_image(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes -> BGR array (alpha dropped), or OcrError."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None or arr.size == 0:
        raise OcrError("not a readable image")
    return arr


SPIN_KEY = "session.intra_op.allow_spinning"


def _onnxruntime_without_spinning() -> None:
    """Make the onnxruntime sessions rapidocr creates let their idle pool threads sleep.

    onnxruntime's intra-op threads spin while they wait for work by default. Here the cores are shared
    with the replay and Chromium, so spinning is CPU taken from them for nothing: a 1280x720
    screenshot took 2.21 CPU-s with spinning and 1.91 without, and its wall time did not grow
    (1.12 -> 1.04 s, 2 threads). rapidocr builds its SessionOptions in one static method; it is
    wrapped once to add the setting. A rapidocr without that method keeps its defaults.
    """
    try:
        from rapidocr.inference_engine.onnxruntime import main as ort_main
    except ImportError:
        return
    cls = getattr(ort_main, "OrtInferSession", None)
    build = getattr(cls, "_init_sess_opts", None)
    if cls is None or build is None or getattr(build, "_iwrbench_no_spin", False):
        return

    def session_options(cfg: Any) -> Any:
        opts = build(cfg)
        opts.add_session_config_entry(SPIN_KEY, "0")
        return opts

    session_options._iwrbench_no_spin = True  # type: ignore[attr-defined]
    cls._init_sess_opts = staticmethod(session_options)


class OcrEngine:
    """rapidocr, loaded on first use. Calls are serialised: one image already uses every core."""

    def __init__(self, *, det_max_side: int = DET_MAX_SIDE, min_score: float = MIN_SCORE,
                 threads: int | None = None):
        self.det_max_side = det_max_side
        self.min_score = min_score
        self.threads = threads or _threads()
        self._engine: Any = None
        self._reader: Any = None  # ocr_parts.PartReader: each distinct text crop recognised once
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # pinned in requirements; a broken install is reported, not hidden
                raise OcrError(f"rapidocr is not installed ({exc}); install requirements.txt") from None
            _onnxruntime_without_spinning()
            self._engine = RapidOCR(params={
                "Global.log_level": "error", "Global.use_cls": False, "Global.text_score": self.min_score,
                "Det.limit_type": "max", "Det.limit_side_len": self.det_max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
        return self._engine

    @property
    def stats(self) -> dict[str, int]:
        """Pictures read, text crops in them, crops that had to be recognised (not seen before)."""
        return self._reader.stats.as_dict() if self._reader is not None else {}

    def read_array(self, image: np.ndarray) -> OcrResult:
        """The lines rapidocr reads in `image` (detection on the whole picture, then recognition of
        each text crop not recognised before: ocr_parts.PartReader, same lines as rapidocr's own call)."""
        from iwrbench.judges.ocr_parts import PartReader

        t0 = time.perf_counter()
        with self._lock:
            if self._reader is None:
                self._reader = PartReader(self._load(), min_score=self.min_score)
            found = self._reader.read(image)
        lines = [OcrLine(text=text, box=box, score=score) for text, box, score in found]
        h, w = image.shape[:2]
        return OcrResult(lines=lines, width=w, height=h, seconds=time.perf_counter() - t0)

    def read_bytes(self, data: bytes) -> OcrResult:
        return self.read_array(decode_image(data))


_HEX64 = re.compile(r"[0-9a-f]{64}")


def content_key(data: bytes) -> str:
    """Key of a file's bytes: a fast, in-memory shortcut for a file read before."""
    return hashlib.sha256(ENGINE_ID.encode() + b"\0" + data).hexdigest()


def pixel_key(image: np.ndarray) -> str:
    """Key of the decoded picture, the one entries are stored under: the same pixels saved by another
    PNG encoder (a dataset checkpoint and Chromium's screenshot of the same state) are read once."""
    digest = hashlib.sha256(ENGINE_ID.encode() + b"\0px\0" + repr(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


class OcrCache:
    """OCR by content: memory (LRU) first, then disk, then the engine.

    Entries are keyed by the decoded pixels (`pixel_key`); the file's bytes (`content_key`) key the
    memory too and, on disk, a small `.ref` naming the entry, so a file read before is not decoded again.
    `read` is synchronous; `aread` decodes on a worker thread, runs the OCR on this cache's single OCR
    thread and shares one computation between concurrent requests for the same picture.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, *, engine: OcrEngine | None = None,
                 memory_items: int = 1024, disk: bool = True):
        self.dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.engine = engine or OcrEngine()
        self.disk = disk
        self.memory_items = memory_items  # keys, two per picture (bytes and pixels)
        self._memory: OrderedDict[str, OcrResult] = OrderedDict()
        self._mem_lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.hits = 0
        self.misses = 0

    # -------------------------------------------------------------- storage

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def _remember(self, key: str, result: OcrResult) -> None:
        with self._mem_lock:
            self._memory[key] = result
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)

    def _recall(self, key: str) -> OcrResult | None:
        """From memory only."""
        with self._mem_lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
            return hit

    def _lookup(self, key: str) -> OcrResult | None:
        hit = self._recall(key)
        if hit is not None:
            return hit
        if self.disk:
            path = self._path(key)
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
                if obj.get("engine") == ENGINE_ID:
                    result = OcrResult.from_json(obj)
                    self._remember(key, result)
                    return result
            except FileNotFoundError:
                return None
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable OCR cache entry %s: %s", path, exc)
        return None

    def _store(self, key: str, result: OcrResult) -> None:
        self._remember(key, result)
        if self.disk:
            try:
                atomic_write_text(self._path(key), json.dumps(result.to_json(), ensure_ascii=False))
            except OSError as exc:  # a read-only cache slows later runs down but changes no result
                log.warning("cannot write OCR cache entry under %s: %s", self.dir, exc)

    def _ref_path(self, file_key: str) -> Path:
        return self.dir / file_key[:2] / f"{file_key}.ref"

    def _link(self, file_key: str, key: str, result: OcrResult) -> None:
        """Remember `result` under the file's key too, and on disk point the file's key at the picture's
        entry: a later run finds a file it has seen without decoding it (a ~15 ms saving per image)."""
        self._remember(file_key, result)
        if self.disk:
            try:
                atomic_write_text(self._ref_path(file_key), key)
            except OSError as exc:
                log.warning("cannot write OCR cache entry under %s: %s", self.dir, exc)

    def _lookup_file(self, file_key: str) -> OcrResult | None:
        """By the file's bytes: memory, else the .ref on disk that names the picture's entry."""
        hit = self._recall(file_key)
        if hit is not None or not self.disk:
            return hit
        try:
            key = self._ref_path(file_key).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        hit = self._lookup(key) if _HEX64.fullmatch(key) else None
        if hit is not None:
            self._remember(file_key, hit)
        return hit

    def _probe(self, data: bytes, file_key: str) -> tuple[str, np.ndarray, OcrResult | None]:
        """Decode and look the picture up -> (pixel key, image, cached result or None)."""
        image = decode_image(data)
        key = pixel_key(image)
        hit = self._lookup(key)
        if hit is not None:
            self._link(file_key, key, hit)
        return key, image, hit

    def _compute(self, key: str, file_key: str, image: np.ndarray) -> OcrResult:
        hit = self._recall(key)  # a concurrent request for the same picture may have finished first
        if hit is not None:
            self.hits += 1
            self._link(file_key, key, hit)
            return hit
        self.misses += 1
        result = self.engine.read_array(image)
        self._store(key, result)
        self._link(file_key, key, result)
        return result

    # -------------------------------------------------------------- reading

    def read_bytes(self, data: bytes) -> OcrResult:
        file_key = content_key(data)
        hit = self._lookup_file(file_key)
        if hit is None:
            key, image, hit = self._probe(data, file_key)
            if hit is None:
                return self._compute(key, file_key, image)
        self.hits += 1
        return hit

    def read(self, path: str | os.PathLike) -> OcrResult:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise OcrError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return self.read_bytes(data)
        except OcrError as exc:
            raise OcrError(f"{path}: {exc}") from None

    async def aread(self, path: str | os.PathLike) -> OcrResult:
        """`read` with the decoding on a worker thread and the OCR on this cache's OCR thread (so a
        cached picture never waits behind another picture's OCR); concurrent requests for the same
        picture share one result."""
        try:
            data = await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            raise OcrError(f"cannot read {path}: {exc.strerror or exc}") from None
        file_key = content_key(data)
        hit = self._lookup_file(file_key)
        if hit is None:
            try:
                key, image, hit = await run_behind(self._probe, data, file_key)
            except OcrError as exc:
                raise OcrError(f"{path}: {exc}") from None
        if hit is not None:
            self.hits += 1
            return hit
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iwrbench-ocr",
                                                initializer=lower_priority)
        # Pending is checked before memory: a finished computation is remembered before it leaves
        # `_pending`, so one of the two always sees it.
        fut = self._pending.get(key)
        joined = fut is not None
        if fut is None:
            hit = self._recall(key)
            if hit is not None:
                self.hits += 1
                return hit
            fut = self._executor.submit(self._compute, key, file_key, image)
            self._pending[key] = fut
            fut.add_done_callback(lambda _f, k=key: self._pending.pop(k, None))
        else:
            self.hits += 1  # served by another request's computation
        try:
            result = await asyncio.wrap_future(fut)
        except OcrError as exc:
            raise OcrError(f"{path}: {exc}") from None
        if joined:  # this file may differ in bytes from the one computed: let it find the entry too
            await asyncio.to_thread(self._link, file_key, key, result)
        return result

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
