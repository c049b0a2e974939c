"""Image similarity of a candidate screenshot and its ground-truth checkpoint, in [0, 1].

Default ("ssim"): a structural measure robust to small shifts, combined with a colour measure.
- SSIM on a downscaled (480 px wide) grayscale pair, averaged over the windows that hold content,
  after aligning the pair with phase correlation (shift capped at 5% of each side): unaligned, a page
  whose content sits 20 px lower scores as low as a blank page; unweighted, a blank white page
  scores ~0.86 against a light page full of text because empty background matches empty background.
- Colour histogram intersection (hue bins for colours, value bins for greys): SSIM barely sees a
  page restyled from blue to red; the histogram does.
The two are averaged.

Optional ("dinov2"): cosine similarity of DINOv2 CLS embeddings over the whole page (no centre crop,
252x448 input; dinov2-small unless IWRBENCH_DINOV2_MODEL names another).
Optional ("dinov2-paper"): the published code's metric as it is: facebook/dinov2-base with its own
default preprocessing (shortest side to 256, centre crop to 224x224: on a 16:9 page it sees only the
middle), cosine clamped to [0, 1] (docs/protocol.md).
Both need torch, transformers and the weights in the local Hugging Face cache; nothing is downloaded.
Imported lazily, with a clear message when unavailable. The image processor runs on its PIL backend:
transformers' default backend needs torchvision, which is not installed here (it breaks torch).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

WORK_WIDTH = 480  # SSIM works on a 480-px-wide grayscale copy (270 px high for 16:9)
MAX_SHIFT = 0.05  # alignment shifts beyond 5% of a side are not trusted
CONTRAST_CAP = 20.0  # local std (grey levels) above which a window counts fully
GREY_SATURATION, GREY_VALUE = 40, 40  # HSV below these: a grey, binned by value only
DINOV2_DEFAULT = "facebook/dinov2-small"
DINOV2_SIZE = {"height": 252, "width": 448}
DINOV2_PAPER = "facebook/dinov2-base"  # the published code's model (docs/protocol.md)
DINOV2_METRICS = ("dinov2", "dinov2-paper")


class ImageMetricUnavailable(Exception):
    """The requested image metric cannot run here (missing package or weights)."""


@dataclass(frozen=True)
class ImageScore:
    score: float  # the image similarity used in low_level
    metric: str  # "ssim+hsv" or "dinov2:<model>"
    parts: dict[str, float]  # components, for the record


def load_bgr(path: str | os.PathLike) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return img


def _fit(candidate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The candidate at the reference's size (screenshots of another size are stretched to match)."""
    if candidate.shape[:2] == reference.shape[:2]:
        return candidate
    h, w = reference.shape[:2]
    return cv2.resize(candidate, (w, h), interpolation=cv2.INTER_AREA)


def _shrink(img: np.ndarray) -> np.ndarray:
    """A WORK_WIDTH-wide copy (aspect kept)."""
    h, w = img.shape[:2]
    return cv2.resize(img, (WORK_WIDTH, max(8, round(WORK_WIDTH * h / w))), interpolation=cv2.INTER_AREA)


def _local_std(x: np.ndarray) -> np.ndarray:
    mu = cv2.blur(x, (7, 7))
    return np.sqrt(np.maximum(cv2.blur(x * x, (7, 7)) - mu * mu, 0.0))


def content_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM averaged over the places where either image has content (local contrast).

    Plain SSIM is dominated by empty background: a blank white page scores ~0.86 against a light
    page with text. Weighting each window by the larger local standard deviation of the pair
    (capped, so text and photos weigh alike) makes empty-vs-empty count for nothing.
    """
    from skimage.metrics import structural_similarity

    if min(a.shape[:2]) < 7:
        return float(np.mean(a == b))
    plain, smap = structural_similarity(a, b, data_range=255, full=True)
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    weight = np.minimum(np.maximum(_local_std(fa), _local_std(fb)), CONTRAST_CAP)
    total = float(weight.sum())
    if total < 1e-3 * weight.size:  # both images (nearly) flat: fall back to plain SSIM
        return float(plain)
    return float((smap * weight).sum() / total)


def aligned_ssim(candidate: np.ndarray, reference: np.ndarray) -> tuple[float, tuple[int, int]]:
    """`content_ssim` of two BGR images after undoing a small translation -> (score, (dx, dy) in px).

    The shift is measured on the small copies (sub-pixel), applied at full size, and the overlapping
    parts are downscaled again, so a 20 px shift is undone exactly rather than to the nearest small pixel.
    """
    cand = _fit(candidate, reference)
    full_a = cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY)
    full_b = cv2.cvtColor(cand, cv2.COLOR_BGR2GRAY)
    a, b = _shrink(full_a), _shrink(full_b)
    plain = content_ssim(a, b)
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    if float(fa.std()) < 1e-3 or float(fb.std()) < 1e-3:
        return max(0.0, plain), (0, 0)  # a flat image has nothing to align
    window = cv2.createHanningWindow((a.shape[1], a.shape[0]), cv2.CV_32F)
    (dx, dy), _response = cv2.phaseCorrelate(fa, fb, window)
    H, W = full_a.shape
    sx, sy = int(round(dx * W / a.shape[1])), int(round(dy * H / a.shape[0]))
    if (sx == 0 and sy == 0) or abs(sx) > MAX_SHIFT * W or abs(sy) > MAX_SHIFT * H:
        return max(0.0, plain), (0, 0)
    # b is a shifted by (sx, sy): compare the overlapping parts
    a_part = full_a[max(0, -sy):H - max(0, sy), max(0, -sx):W - max(0, sx)]
    b_part = full_b[max(0, sy):H - max(0, -sy), max(0, sx):W - max(0, -sx)]
    shifted = content_ssim(_shrink(a_part), _shrink(b_part))
    if shifted > plain:
        return max(0.0, shifted), (sx, sy)
    return max(0.0, plain), (0, 0)


def _colour_hist(img: np.ndarray) -> np.ndarray:
    """Histogram over 8 grey levels + 72 colours (12 hues x 2 saturations x 3 values).

    Hue is meaningless for near-grey pixels: binning #f6f7fb and #fffaf0 by hue would call two
    white backgrounds different colours, so unsaturated or dark pixels are binned by value only.
    """
    hsv = cv2.cvtColor(_shrink(img), cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int32)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    grey = (s < GREY_SATURATION) | (v < GREY_VALUE)
    idx = np.where(grey, v * 8 // 256, 8 + (h * 12 // 180) * 6 + (s * 2 // 256) * 3 + (v * 3 // 256))
    hist = np.bincount(idx, minlength=80).astype(np.float64)
    return hist / max(1.0, float(hist.sum()))


def colour_similarity(candidate: np.ndarray, reference: np.ndarray) -> float:
    """Intersection of the two colour histograms, in [0, 1]."""
    return float(np.minimum(_colour_hist(reference), _colour_hist(_fit(candidate, reference))).sum())


def ssim_similarity(candidate: str | os.PathLike, reference: str | os.PathLike) -> ImageScore:
    cand, ref = load_bgr(candidate), load_bgr(reference)
    structural, shift = aligned_ssim(cand, ref)
    colour = colour_similarity(cand, ref)
    score = (structural + colour) / 2
    return ImageScore(score=score, metric="ssim+hsv",
                      parts={"ssim": round(structural, 4), "colour": round(colour, 4),
                             "shift_x": shift[0], "shift_y": shift[1]})


# ---------------------------------------------------------------- DINOv2 (optional)


def image_metric_label(metric: str) -> str:
    """The image metric as reports name it, with the model it uses."""
    if metric == "dinov2":
        return f"dinov2:{os.environ.get('IWRBENCH_DINOV2_MODEL') or DINOV2_DEFAULT} (full page, 252x448)"
    if metric == "dinov2-paper":
        return f"dinov2-paper:{DINOV2_PAPER} (default preprocessing: centre crop 224x224)"
    return "ssim+hsv"


def load_image_processor(model_name: str) -> Any:
    """The model's image processor from the local cache, on the PIL backend (see the module docstring)."""
    import transformers
    from transformers.models.auto.image_processing_auto import AutoImageProcessor

    kwargs: dict[str, Any] = {"local_files_only": True}
    if int(transformers.__version__.split(".")[0]) >= 5:
        kwargs["backend"] = "pil"
    else:
        kwargs["use_fast"] = False
    return AutoImageProcessor.from_pretrained(model_name, **kwargs)


class Dinov2Similarity:
    """Cosine similarity of DINOv2 CLS embeddings, from locally cached weights only. `paper=True`:
    the published model and preprocessing ("dinov2-paper")."""

    def __init__(self, model_name: str | None = None, *, paper: bool = False):
        self.paper = paper
        self.metric = "dinov2-paper" if paper else "dinov2"
        if paper:
            self.model_name = model_name or DINOV2_PAPER
        else:
            self.model_name = model_name or os.environ.get("IWRBENCH_DINOV2_MODEL") or DINOV2_DEFAULT
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load now (raises ImageMetricUnavailable with a one-line reason and a fix)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download: the weights must be local
            try:
                import torch  # noqa: F401
                from transformers import AutoModel
            except ImportError as exc:
                raise ImageMetricUnavailable(
                    f"--image-metric {self.metric} needs torch and transformers ({exc.name or exc} is missing); "
                    "install a CPU build of torch and transformers, or use the default 'ssim'") from None
            try:
                self._processor = load_image_processor(self.model_name)
                model = AutoModel.from_pretrained(self.model_name, local_files_only=True)
            except (OSError, ValueError, ImportError) as exc:  # not cached / not a DINOv2 folder
                where = "" if self.paper else " or set IWRBENCH_DINOV2_MODEL to a local folder"
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
                raise ImageMetricUnavailable(
                    f"DINOv2 weights {self.model_name!r} are not in the local Hugging Face cache "
                    f"({first}); copy them into HF_HOME{where}") from None
            model.eval()
            self._model = model

    def embed(self, path: str | os.PathLike) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        if self.paper:  # the processor's own settings, as the published code calls it
            inputs = self._processor(images=rgb, return_tensors="pt")
        else:
            inputs = self._processor(images=rgb, return_tensors="pt", do_center_crop=False, size=DINOV2_SIZE)
        with torch.no_grad():
            out = self._model(**inputs)
        vec = out.last_hidden_state[:, 0, :][0].float().numpy()
        return vec / max(1e-12, float(np.linalg.norm(vec)))

    def similarity(self, candidate: str | os.PathLike, reference: str | os.PathLike) -> ImageScore:
        cos = float(np.dot(self.embed(candidate), self.embed(reference)))
        return ImageScore(score=min(1.0, max(0.0, cos)), metric=f"{self.metric}:{self.model_name}",
                          parts={"cosine": round(cos, 4)})


def dinov2_available(metric: str = "dinov2") -> tuple[bool, str]:
    """(True, "") when the DINOv2 metric (`dinov2` or `dinov2-paper`) can run here, else (False, why)."""
    try:
        Dinov2Similarity(paper=metric == "dinov2-paper").load()
    except ImageMetricUnavailable as exc:
        return False, str(exc)
    return True, ""


