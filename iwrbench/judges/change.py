"""What changed across one action, as text tokens and as screen regions; and the assertion's literals.

The offline assertion judge compares two changes: the recording's (ground-truth checkpoints before and
after, read by OCR) and the candidate's (its visible text, form values and screenshots before and
after). These are the pure building blocks; the judge combines them.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from iwrbench.judges.text_similarity import fuzzy_in, normalise, token_counts, token_similarity, tokens

GRID = (16, 9)  # columns, rows of the coarse change grid
DIFF_SIZE = (320, 180)  # screenshots are compared at this size
DIFF_LEVEL = 14  # grey-level difference that counts as a changed pixel
CELL_SHARE = 0.02  # share of changed pixels that marks a grid cell as changed


# ---------------------------------------------------------------- text


def token_weight(tok: str) -> float:
    """Numbers and words count fully; single letters (often OCR debris or icons) count a quarter."""
    if tok.isdigit():
        return 1.0
    return 0.25 if len(tok) == 1 else 1.0


@dataclass
class TokenChange:
    appeared: Counter[str] = field(default_factory=Counter)
    disappeared: Counter[str] = field(default_factory=Counter)

    @property
    def weight(self) -> float:
        return sum(token_weight(t) for t in set(self.appeared) | set(self.disappeared))

    @property
    def has_number(self) -> bool:
        return any(t.isdigit() for t in (*self.appeared, *self.disappeared))

    def is_empty(self) -> bool:
        return not self.appeared and not self.disappeared

    def sample(self, n: int = 6) -> str:
        """A short human summary: '+cart +3 -2'."""
        parts = [f"+{t}" for t, _ in self.appeared.most_common(n)]
        parts += [f"-{t}" for t, _ in self.disappeared.most_common(max(1, n - len(parts)))]
        return " ".join(parts[:n])


def token_change(before: str, after: str, *, ocr_noise: bool = False) -> TokenChange:
    """Tokens whose count went up (appeared) or down (disappeared) from `before` to `after`.

    With `ocr_noise`, a word that 'appears' while a near-identical word 'disappears' (OCR reading
    'Outfitters' once as '0utfitters') is taken for the same word and dropped from both sides.
    """
    cb, ca = token_counts(before), token_counts(after)
    appeared, disappeared = ca - cb, cb - ca
    if ocr_noise:
        for tok in list(appeared):
            if tok.isdigit() or len(tok) < 4 or not disappeared or appeared[tok] <= 0:
                continue
            match = fuzzy_in(tok, {t: 1 for t in disappeared if t != tok}, threshold=0.75)
            if match is not None:
                appeared[tok] -= 1
                disappeared[match] -= 1
                appeared, disappeared = +appeared, +disappeared
    return TokenChange(appeared, disappeared)


@dataclass
class Reproduction:
    """How much of a reference change a candidate change reproduces (weights of distinct tokens)."""

    ratio: float
    matched: list[str]
    missing: list[str]
    contrary: list[str]  # tokens that moved the other way in the candidate

    @property
    def summary(self) -> str:
        miss = " ".join(self.missing[:5])
        return f"{len(self.matched)}/{len(self.matched) + len(self.missing)} changed words reproduced" + (
            f" (missing: {miss})" if miss else "")


def reproduction(reference: TokenChange, candidate: TokenChange, *, any_number: bool = False) -> Reproduction:
    """How much of the reference change the candidate change reproduces. With `any_number` (the page
    draws its numbers at random: a game's tiles), a number that changed in the reference is reproduced
    by any number that changed the same way in the candidate (each used once): the structure of the
    change counts, not its random values."""
    matched: list[str] = []
    missing: list[str] = []
    contrary: list[str] = []
    got = total = 0.0
    for side, same, other in ((reference.appeared, candidate.appeared, candidate.disappeared),
                              (reference.disappeared, candidate.disappeared, candidate.appeared)):
        spare = [t for t in same if t.isdigit() and t not in side] if any_number else []
        for tok in side:
            w = token_weight(tok)
            total += w
            if fuzzy_in(tok, same) is not None:
                got += w
                matched.append(tok)
            elif any_number and tok.isdigit() and spare:
                got += w
                matched.append(f"{tok}~{spare.pop(0)}")
            else:
                missing.append(tok)
                if fuzzy_in(tok, other) is not None:
                    contrary.append(tok)
    return Reproduction(ratio=got / total if total else 0.0, matched=matched, missing=missing, contrary=contrary)


def numbers_diverged(recorded: str, candidate: str) -> bool:
    """The two pages show the same words but different numbers before the action: the numbers are the
    page's own random (or clock-driven) state, not something a reconstruction could be expected to copy."""
    rec, cand = token_counts(recorded), token_counts(candidate)
    rec_n = Counter({t: n for t, n in rec.items() if t.isdigit()})
    cand_n = Counter({t: n for t, n in cand.items() if t.isdigit()})
    rec_w, cand_w = {t for t in rec if not t.isdigit() and len(t) > 2}, {t for t in cand if not t.isdigit() and len(t) > 2}
    if sum(rec_n.values()) < 2 or not rec_w:
        return False
    numbers = sum((rec_n & cand_n).values()) / sum((rec_n | cand_n).values())
    words = len(rec_w & cand_w) / max(1, len(rec_w))
    return numbers < 0.75 and words >= 0.6


# ---------------------------------------------------------------- assertion literals

# A quoted literal: in single quotes an apostrophe between letters belongs to it ('That's what it is').
_QUOTED = re.compile(r"(?<![\w])(?:'((?:[^'\"\u2018\u2019\u201c\u201d]|(?<=\w)'(?=\w)){1,120}?)'"
                     r"|[\"\u2018\u201c]([^'\"\u2018\u2019\u201c\u201d]{1,120}?)[\"\u2019\u201d])(?![\w])")
_NUMBER = re.compile(r"[$\u20ac\u00a3]?\d[\d,]*(?:\.\d+)?%?")


def assertion_literals(assertion: str) -> list[str]:
    """Quoted strings and multi-character numbers in an assertion: things that should be visible.

    Single bare digits ('shows 2') are left out: every page has some '2' somewhere.
    """
    found: list[str] = []
    quoted_spans: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(assertion or ""):
        text = (m.group(1) or m.group(2) or "").strip()
        if tokens(text):
            found.append(text)
            quoted_spans.append(m.span())
    for m in _NUMBER.finditer(assertion or ""):
        if any(a <= m.start() < b for a, b in quoted_spans):
            continue
        text = m.group(0).rstrip(",")
        if len(text) >= 2:
            found.append(text)
    seen: set[str] = set()
    out = []
    for lit in found:
        key = normalise(lit)
        if key not in seen:
            seen.add(key)
            out.append(lit)
    return out


def literal_share(literal: str, text: str) -> float:
    """Share of the literal's words found in `text` (numbers exactly, words allowing OCR slips)."""
    want = tokens(literal)
    if not want:
        return 0.0
    have = set(tokens(text))
    norm_text = normalise(text)
    if normalise(literal) in norm_text:
        return 1.0
    hits = 0
    for tok in want:
        if tok in have or (not tok.isdigit() and len(tok) >= 4 and
                           any(token_similarity(tok, h) >= 0.8 for h in have if not h.isdigit())):
            hits += 1
    return hits / len(want)


def literal_count(literal: str, text: str) -> int:
    """Exact occurrences of the literal in `text` (case and spacing ignored: OCR glues 'Cart(3')."""
    lit = re.sub(r"\s+", "", normalise(literal))
    if not lit:
        return 0
    pattern = r"\s*".join(re.escape(ch) for ch in lit)
    if lit[0].isalnum():
        pattern = r"(?<!\w)" + pattern
    if lit[-1].isalnum():
        pattern += r"(?!\w)"
    return len(re.findall(pattern, normalise(text)))


def literal_present(literal: str, text: str) -> bool:
    n = len(tokens(literal))
    need = 1.0 if n <= 2 else 0.8
    return literal_share(literal, text) >= need


# ---------------------------------------------------------------- pixels


@dataclass
class PixelChange:
    fraction: float  # share of changed pixels
    cells: np.ndarray  # bool grid (rows, cols): where the change is
    identical: bool = False
    box: tuple[float, float, float, float] | None = None  # changed pixels' bounds (x0, y0, x1, y1), 0-1

    @property
    def cell_count(self) -> int:
        return int(self.cells.sum())


def _gray(path: Path) -> np.ndarray:
    """The screenshot, small and grey. Step k's "after" is step k+1's "before", so each picture is asked
    for twice in a row: decoded pictures are kept (by path, size and mtime, so a rewritten file is read
    again), which halves the decoding that dominates a step's offline judging."""
    st = path.stat()
    return _gray_cached(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _gray_cached(path: str, _size: int, _mtime_ns: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    small = cv2.resize(img, DIFF_SIZE, interpolation=cv2.INTER_AREA)
    small.setflags(write=False)  # shared between callers
    return small


def pixel_change(before: Path, after: Path) -> PixelChange:
    """Where and how much two screenshots differ (resized to DIFF_SIZE; identical files short-cut)."""
    rows, cols = GRID[1], GRID[0]
    if Path(before).read_bytes() == Path(after).read_bytes():
        return PixelChange(0.0, np.zeros((rows, cols), bool), identical=True)
    a, b = _gray(Path(before)), _gray(Path(after))
    mask = cv2.absdiff(a, b) > DIFF_LEVEL
    h, w = mask.shape
    cells = np.zeros((rows, cols), bool)
    for r in range(rows):
        for c in range(cols):
            block = mask[r * h // rows:(r + 1) * h // rows, c * w // cols:(c + 1) * w // cols]
            cells[r, c] = block.size > 0 and float(block.mean()) > CELL_SHARE
    ys, xs = np.nonzero(mask)
    box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h) if len(xs) else None
    return PixelChange(float(mask.mean()), cells, box=box)


def cell_overlap(reference: PixelChange, candidate: PixelChange) -> float:
    """Share of the reference's changed cells where the candidate also changed (one cell of slack).
    A change too small to mark a cell (a thin outline, a greyed-out field) is compared by the bounds of
    its changed pixels instead, with a slack of 5 % of the screen."""
    if reference.cell_count == 0:
        return box_overlap(reference.box, candidate.box)
    grown = cv2.dilate(candidate.cells.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return float((reference.cells & grown).sum() / reference.cell_count)


def box_overlap(ref: tuple[float, float, float, float] | None, cand: tuple[float, float, float, float] | None,
                slack: float = 0.05) -> float:
    """Share of the reference box covered by the candidate box grown by `slack` on every side."""
    if ref is None or cand is None:
        return 0.0
    x0, y0 = max(ref[0], cand[0] - slack), max(ref[1], cand[1] - slack)
    x1, y1 = min(ref[2], cand[2] + slack), min(ref[3], cand[3] + slack)
    area = (ref[2] - ref[0]) * (ref[3] - ref[1])
    return 0.0 if x1 <= x0 or y1 <= y0 or area <= 0 else (x1 - x0) * (y1 - y0) / area


def shifted(change: PixelChange, dx: float, dy: float) -> PixelChange:
    """The same change moved by (dx, dy), in shares of the screen: where it would sit on a page laid out
    a little differently (other fonts or spacing move the same widget down or aside)."""
    rows, cols = change.cells.shape
    r, c = int(round(dy * rows)), int(round(dx * cols))
    cells = np.zeros_like(change.cells)
    src = change.cells[max(0, -r):rows - max(0, r), max(0, -c):cols - max(0, c)]
    cells[max(0, r):max(0, r) + src.shape[0], max(0, c):max(0, c) + src.shape[1]] = src
    box = None if change.box is None else (change.box[0] + dx, change.box[1] + dy, change.box[2] + dx, change.box[3] + dy)
    return PixelChange(change.fraction, cells, change.identical, box)


def layout_offset(reference: list[tuple[str, tuple[float, float, float, float]]],
                  candidate: list[tuple[str, tuple[float, float, float, float]]],
                  near: tuple[float, float, float, float] | None, keep: int = 3) -> tuple[float, float] | None:
    """How far the candidate's layout moved the lines near a place: the median offset of the `keep` lines
    nearest to `near` that both screens show once each (text and box, boxes in shares of the screen).
    None when no such line exists."""
    def unique(lines: list[tuple[str, tuple[float, float, float, float]]]) -> dict[str, tuple[float, ...]]:
        seen = Counter(normalise(t) for t, _ in lines)
        return {normalise(t): b for t, b in lines if seen[normalise(t)] == 1 and len(normalise(t).replace(" ", "")) >= 3}
    ref, cand = unique(reference), unique(candidate)
    shared = [t for t in ref if t in cand]
    if not shared:
        return None
    if near is not None:
        cx, cy = (near[0] + near[2]) / 2, (near[1] + near[3]) / 2
        shared.sort(key=lambda t: ((ref[t][0] + ref[t][2]) / 2 - cx) ** 2 + ((ref[t][1] + ref[t][3]) / 2 - cy) ** 2)
    picked = shared[:keep]
    dx = float(np.median([cand[t][0] - ref[t][0] for t in picked]))
    dy = float(np.median([cand[t][1] - ref[t][1] for t in picked]))
    return dx, dy


# ---------------------------------------------------------------- order


def reordered(before: str, after: str) -> list[str] | None:
    """The new order of the lines two texts share, when only their order changed (a sorted table, a
    dragged list item): words alone cannot see that. None when the shared lines kept their order.
    Only lines that occur once on each side are followed (they can be told apart)."""
    b = [x for x in (normalise(line) for line in before.splitlines()) if x]
    a = [x for x in (normalise(line) for line in after.splitlines()) if x]
    cb, ca = Counter(b), Counter(a)
    # A glyph line ('x', a chevron read as '>') moving is an icon shown elsewhere, not a line moved.
    keys = {x for x in cb if cb[x] == 1 and ca.get(x) == 1 and len(x.replace(" ", "")) >= 3}
    if len(keys) < 2:
        return None
    old, new = [x for x in b if x in keys], [x for x in a if x in keys]
    return new if old != new else None


def same_relative_order(one: list[str], other: list[str]) -> bool:
    """Whether the lines both lists hold come in the same order in each (at least two of them)."""
    shared = set(one) & set(other)
    if len(shared) < 2:
        return False
    return [x for x in one if x in shared] == [x for x in other if x in shared]
