"""Single facts the offline assertion judge reads off texts: what the candidate page shows (visible text,
field values, typed text), which value the assertion puts in a field, and whether the recording's OCR
change is noise (icons, greyed-out text) rather than words that changed.

Pure functions, each tested alone; the judge (assertion_offline.py) gathers them into its Evidence.
"""

from __future__ import annotations

import re
from collections import Counter

from iwrbench.data.tasks import Action
from iwrbench.judges.change import TokenChange, token_change
from iwrbench.judges.offline_evidence import Side
from iwrbench.judges.text_similarity import normalise, token_counts, tokens
from iwrbench.replay.states import PageState

CHECKBOX_VALUES = {"checked", "unchecked"}
TYPED_MARK = "[typed]"  # js/page_state.js marks a masked password field that holds the typed text
MASKED = re.compile(r"\u2022*( \[typed\])?")

FIELD_CLAIM = re.compile(
    r"\b(?:field|input|(?:text|search|input|edit|entry|combo)[ -]?box|textarea|search bar|editor)\b(?:(?!\band\b|\bbut\b)[^.;,]){0,40}?\b(?:now\s+)?"
    r"(?:reads|shows|contains|displays|holds|says|is set to|is filled with)\s+(?:the\s+(?:text|value)\s+)?"
    r"['\"\u2018\u201c]([^'\"\u2019\u201d]{1,120})['\"\u2019\u201d]", re.IGNORECASE)


def field_claims(assertion: str) -> list[str]:
    """Values the assertion says a form field holds: "the search box reads 'laptop'" -> ['laptop']."""
    return [m.group(1).strip() for m in FIELD_CLAIM.finditer(assertion or "") if m.group(1).strip()]


def masked(value: str) -> bool:
    """A password field's value as the replay records it: bullets, and '[typed]' when it holds the text
    the action typed."""
    return bool(MASKED.fullmatch(value))


def visible_text(state: PageState) -> str:
    """innerText plus the values shown in text fields (checkbox states and masked passwords are not
    words on screen)."""
    values = [v for v in state.inputs.values() if v and v not in CHECKBOX_VALUES and not masked(v)]
    return "\n".join([state.text, *values])


def new_lines(before: str, after: str) -> list[str]:
    """Normalised non-empty lines of `after` that `before` does not have (as many times)."""
    had = Counter(normalise(x) for x in before.splitlines())
    out = []
    for line in after.splitlines():
        key = normalise(line)
        if not key:
            continue
        if had[key] > 0:
            had[key] -= 1
        else:
            out.append(key)
    return out


def changed_inputs(before: PageState, after: PageState) -> list[str]:
    keys = set(before.inputs) | set(after.inputs)
    return sorted(k for k in keys if before.inputs.get(k, "") != after.inputs.get(k, ""))


def typed_text_present(action: Action, before: PageState, after: PageState) -> bool:
    """A Type action's text must now be in a field whose value changed (or newly in editable text)."""
    want = normalise(action.text or "")
    if not want:
        return True
    changed = [after.inputs.get(k, "") for k in changed_inputs(before, after)]
    if any(want in normalise(v) or (masked(v) and v.endswith(TYPED_MARK)) for v in changed):
        return True
    return normalise(after.text).count(want) > normalise(before.text).count(want)


def ocr_view_only(change: TokenChange, before: str, after: str, assertion: str) -> bool:
    """The recorded change is only words the page shows unchanged, before and after: OCR of a greyed-out
    or re-coloured text, not a change of the text (an assertion that names them, "still shows 6", is
    then true of the page as it is)."""
    toks = set(change.appeared) | set(change.disappeared)
    if not toks:
        return False
    cb, ca = token_counts(before), token_counts(after)
    return all(cb.get(t, 0) > 0 and cb.get(t) == ca.get(t) for t in toks)


def glyphs_not_in_text(change: TokenChange, before: str, after: str, assertion: str) -> bool:
    """The recorded change is only one- and two-character tokens (digits too) that the assertion does
    not mention and that the page's own text never shows, before or after: OCR reading a radio button's
    ring as '1' and its filled dot as '4', not a counter (a counter's digits are text on the page)."""
    toks = set(change.appeared) | set(change.disappeared)
    if not toks or any(len(t) > 2 for t in toks) or toks & set(tokens(assertion or "")):
        return False
    seen = token_counts(before) + token_counts(after)
    return not any(seen.get(t) for t in toks)


def glyph_noise(change: TokenChange, assertion: str) -> bool:
    """The recorded change is only one- and two-character tokens the assertion does not mention:
    OCR reading a toolbar's icons a little differently once one is highlighted ('-u -1'), not words
    that appeared or went away."""
    toks = set(change.appeared) | set(change.disappeared)
    said = set(tokens(assertion or ""))
    # A number alone is a real change (a counter, a total); letters read off icons are not.
    return (bool(toks) and all(len(t) <= 2 for t in toks) and any(not t.isdigit() for t in toks)
            and not toks & said)



def viewport_side(start: PageState, after: PageState) -> Side | None:
    """The change of the text the DOM shows in the viewport (None when a state has not read it).
    Exact text on both sides, so no OCR-noise matching; literal checks see it as they see OCR."""
    if start.screen_text is None or after.screen_text is None:
        return None
    return Side(token_change(start.screen_text, after.screen_text), None, after.screen_text,
                before_text=start.screen_text)
