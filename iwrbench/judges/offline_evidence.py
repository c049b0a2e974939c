"""What the offline assertion judge gathers about one step (Side, Evidence), and the thresholds it measures
them with.

Gathered by the judge (assertion_offline.py), read by the decision (offline_decision.py): a record
between the two, so the decision can be tested on constructed evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iwrbench.data.tasks import Action
from iwrbench.judges.change import PixelChange, TokenChange

PASS_RATIO = 0.5  # share of the recorded change the candidate must reproduce
FAIL_RATIO = 0.2  # below this (with a clear recorded change) the candidate did something else
CLEAR_WORDS = 2.0  # weight of changed words that makes a recorded change "clear"
CLEAR_PIXELS = 0.002  # share of changed pixels that makes a wordless change "clear"
TINY_PIXELS = 0.0003  # below this the candidate's screen did not change
REGION_OVERLAP = 0.3  # share of the recorded change region the candidate must also change
LAYOUT_MOVED = 0.02  # a layout offset below this share of the screen is no move (OCR boxes jitter)
MAGNITUDE_PASS = 0.25  # a wordless change must be at least this share of the recorded one ...
BIG_TEXT_CHANGE = 8.0  # changed-word weight that is a different page state, not a highlight
MAGNITUDE_FAIL = 0.1  # ... and below this share it is no change (a focus ring, a hover)


@dataclass
class Side:
    """One side's change across the action."""

    words: TokenChange
    pixels: PixelChange | None = None
    after_text: str = ""  # everything the side shows after the action, for literal checks
    new_lines: list[str] = field(default_factory=list)  # normalised lines that appeared
    before_text: str = ""


@dataclass
class Evidence:
    action: Action
    gt: Side | None  # None: the data has no checkpoint pair for this step
    gt_span: tuple[int, int] | None
    text: Side  # candidate: innerText + form values
    screen: Side | None = None  # candidate: the words on its screen (only when needed), read from ...
    screen_source: str = ""  # ... the DOM ("viewport text") or its screenshots ("screenshots by OCR")
    inputs_changed: list[str] = field(default_factory=list)
    scrolled: tuple[float, float] = (0.0, 0.0)
    focus_changed: bool = False
    literals_expected: list[str] = field(default_factory=list)  # literals the recording shows after
    literals_missing: list[str] = field(default_factory=list)  # ... that the candidate does not show
    typed_missing: bool = False
    random_numbers: bool = False  # the recording's numbers are the page's random state (numbers_diverged)
    typed_masked: bool = False  # a Type whose text went into a masked (password) field
    # every word the recording's OCR saw change is in the page's text before and after, as often: OCR
    # lost or found text whose contrast changed (a field greyed out), not text that changed
    gt_words_unchanged_here: bool = False
    gt_glyphs_not_here: bool = False  # glyphs_not_in_text: the recorded change is OCR of icons, not text
    gt_order: list[str] | None = None  # the recording's lines in their new order, when only their order changed
    # how far the page's layout moved the recording's changed region (shares of the screen), when the
    # change is elsewhere on the page than on the recording (layout_offset of the lines near it)
    gt_shift: tuple[float, float] | None = None
    order: list[str] | None = None  # the page's, likewise
    notes: list[str] = field(default_factory=list)

    @property
    def candidate_still(self) -> bool:
        """Nothing at all moved on the candidate: text, fields, scroll, focus and pixels. A change of
        pixels below TINY_PIXELS still counts when the recording's own change was as small (a spinner
        greyed out, a thin outline) and the page's is of the same order."""
        px = self.text.pixels
        gt_px = self.gt.pixels.fraction if self.gt is not None and self.gt.pixels is not None else 0.0
        small_alike = px is not None and 0 < gt_px < CLEAR_PIXELS and px.fraction >= MAGNITUDE_PASS * gt_px > 0
        return (self.text.words.is_empty() and not self.inputs_changed and self.scrolled == (0.0, 0.0)
                and not self.focus_changed and (px is None or px.fraction < TINY_PIXELS) and not small_alike)
