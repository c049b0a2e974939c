"""Text similarity for the OCR part of the low-level visual score, and the token helpers the offline
assertion judge shares with it.

The OCR score is 1 - Levenshtein(a, b) / max(len(a), len(b)) on lower-cased, whitespace-collapsed
text. Unrelated English pages still score about 0.27 (common letters line up): that is the floor, not 0.
The edit distance is computed row by row with numpy, so a 3,000-character page takes tens of
milliseconds without a compiled extension.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import numpy as np

_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower-cased, NFKC-folded, whitespace collapsed to single spaces."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute, each cost 1)."""
    if a == b:
        return 0
    if len(a) > len(b):
        a, b = b, a  # loop over the shorter string, vectorise over the longer one
    if not a:
        return len(b)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    idx = np.arange(len(b) + 1, dtype=np.int64)
    prev = idx.copy()
    tmp = np.empty_like(prev)
    for i, ch in enumerate(a, start=1):
        cost = (codes != ord(ch)).astype(np.int64)
        tmp[0] = i
        np.minimum(prev[1:] + 1, prev[:-1] + cost, out=tmp[1:])
        # cur[j] = min_k<=j (tmp[k] + j - k): insertions along the row, as one running minimum
        prev = np.minimum.accumulate(tmp - idx) + idx
    return int(prev[-1])


def text_similarity(a: str, b: str) -> float:
    """Normalised edit similarity in [0, 1] of two texts after `normalise` (both empty -> 1.0)."""
    na, nb = normalise(a), normalise(b)
    if not na and not nb:
        return 1.0
    return 1.0 - levenshtein(na, nb) / max(len(na), len(nb))


def tokens(text: str) -> list[str]:
    """Word and number tokens, lower-cased: 'Cart (3 items) $307.00' -> cart 3 items 307 00."""
    return _TOKEN.findall(normalise(text))


def token_counts(text: str) -> Counter[str]:
    return Counter(tokens(text))


def token_similarity(a: str, b: str) -> float:
    """Similarity of two single tokens, tolerant of OCR slips (0 when lengths are far apart)."""
    if a == b:
        return 1.0
    if not a or not b or abs(len(a) - len(b)) > max(len(a), len(b)) // 2:
        return 0.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def fuzzy_in(token: str, pool: Counter[str] | set[str] | dict[str, int], *, threshold: float = 0.75) -> str | None:
    """The member of `pool` that best matches `token` (exact first), or None.

    Numbers must match exactly: '2' and '3' differ by one edit but mean different things.
    """
    if token in pool:
        return token
    if token.isdigit() or len(token) < 4:
        return None
    best, best_score = None, threshold
    for cand in pool:
        if cand.isdigit():
            continue
        score = token_similarity(token, cand)
        if score >= best_score:
            best, best_score = cand, score
    return best
