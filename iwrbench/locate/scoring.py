"""Scoring one element against a parsed description, rule by rule.

`score_element` adds up the signals (quoted label, named label, content words, role, position,
landmark, neighbours) and keeps the list of what contributed as `why`; the phrase and symbol
matchers here also answer whether a phrase is an element's own label (`is_label_of`). Scores of one
element never depend on the others, except through the page-wide inputs `rank` passes in
(choice.py), so this module is the per-element half of the offline locator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from iwrbench.locate.description import SPATIAL_RELATIONS, Query
from iwrbench.locate.element import Element, shown_value
from iwrbench.locate.words import FUNCTION_WORDS, ICON_WORDS, SYMBOLS, normalize, synonyms, tokens

# Role words that do not exclude other roles ("the search box" may be a combobox; "icon" is any button).
SOFT_ROLES = {"icon", "image", "option"}
COMPATIBLE = {
    "textbox": {"textbox", "combobox"},
    "button": {"button", "menuitem", "tab", "switch", "option", "link", "generic", "image", "listitem", "cell"},
    "link": {"link", "button", "menuitem", "tab", "generic"},
    "tab": {"tab", "button", "link", "generic", "listitem"},
    "checkbox": {"checkbox", "switch", "menuitem", "label"},
    "radio": {"radio", "option", "label"},
    "combobox": {"combobox", "listbox", "button"},
    "option": {"option", "menuitem", "listitem", "button", "generic", "radio", "link"},
    "switch": {"switch", "checkbox", "button"},
    "slider": {"slider"},
    "heading": {"heading", "generic", "link", "button"},
    "menuitem": {"menuitem", "link", "button", "generic", "listitem"},
    "image": {"image", "link", "button", "generic"},
    "icon": {"button", "link", "image", "generic", "menuitem", "tab"},
}


def label_fields(e: Element) -> list[str]:
    a = e.attributes
    values = [e.name, e.text, a.get("aria-label", ""), a.get("placeholder", ""), a.get("title", ""),
              a.get("alt", ""), shown_value(e), a.get("label", "")]
    out = []
    for v in values:
        n = normalize(v)
        if n and n not in out:
            out.append(n)
    return out


def symbol_score(phrase: str, raw_fields: Sequence[str]) -> float:
    """Score a quoted symbol ('+', '×', '☰') against an element's raw labels."""
    p = phrase.strip()
    if not p:
        return 0.0
    if any(f.strip() == p for f in raw_fields):
        return 10.0
    meanings = SYMBOLS.get(p.lower(), set())
    words = {w for f in raw_fields for w in normalize(f).split()}
    # Another glyph of the same meaning ('×' for '✖', '✕'): what a user calls it either way.
    kin = any(f.strip() != p and SYMBOLS.get(f.strip().lower()) == meanings for f in raw_fields) if meanings else False
    return 8.0 if meanings & words or kin else 0.0


def _raw_fields(e: Element) -> list[str]:
    a = e.attributes
    return [v for v in (e.name, e.text, a.get("aria-label", ""), a.get("title", ""), shown_value(e),
                        a.get("alt", "")) if v]


def phrase_score(phrase: str, fields: Sequence[str]) -> float:
    """How well one quoted phrase names an element (0 = not at all, 10 = exactly)."""
    q = normalize(phrase)
    if not q:
        return 0.0
    best = 0.0
    for f in fields:
        if f == q:
            return 10.0
        bare = " ".join(t for t in f.split() if not t.isdigit())
        if bare == q:  # "Cart 3", "Inbox 12": a badge count does not make the label different
            best = max(best, 9.5)
            continue
        if re.search(rf"(^| ){re.escape(q)}($| )", f):
            best = max(best, 6.0 + 3.0 * len(q) / len(f))
        elif q in f and len(q) >= 3:  # 'I' inside 'list' is no match; 'cart' inside 'carts' is
            best = max(best, 4.0 + 2.0 * len(q) / len(f))
        elif len(f) >= 3 and re.search(rf"(^| ){re.escape(f)}($| )", q):
            best = max(best, 5.0 * len(f) / len(q))
        if len(f) <= 3 * len(q):
            ratio = SequenceMatcher(None, q, f).ratio()
            if ratio >= 0.8:
                best = max(best, 9.0 * ratio)
    return best


def _word_tokens(e: Element) -> set[str]:
    a = e.attributes
    parts = [e.name, e.text[:300], a.get("aria-label", ""), a.get("placeholder", ""), a.get("title", ""),
             a.get("alt", ""), a.get("id", ""), a.get("name", ""), a.get("class", ""), a.get("type", ""),
             shown_value(e), a.get("href", "").rsplit("/", 1)[-1], a.get("src", "").rsplit("/", 1)[-1]]
    out: set[str] = set()
    for p in parts:
        out.update(tokens(p.replace("-", " ").replace("_", " ")))
    return out


def has_word(w: str, e: Element) -> bool:
    have = _word_tokens(e)
    return w in have or bool(synonyms(w) & have) or (bool(e.context) and w in set(tokens(e.context)))


def _role_score(q: Query, e: Element, action_type: str) -> float:
    kind = e.kind
    score = 0.0
    if action_type == "Type":
        score += 2.0 if (e.editable or kind == "textbox") else -8.0
    elif action_type == "Select":
        # A native list, or a custom dropdown's opener (aria-haspopup); a custom one may be any button.
        if kind in ("combobox", "listbox"):
            score += 2.0
        elif e.attributes.get("aria-haspopup", "false").lower() not in ("", "false"):
            score += 1.5
    for role in q.roles:
        if role == "icon":
            short = len(normalize(e.text)) <= 3
            score += 1.5 if short and kind in COMPATIBLE["icon"] else 0.0
            continue
        if role == "textbox":
            score += 3.0 if (e.editable or kind in {"textbox", "combobox"}) else (-1.0 if action_type != "Click" else -2.0)
            continue
        if kind == role:
            score += 3.0
        elif kind in COMPATIBLE.get(role, set()):
            score += 1.0
        elif role not in SOFT_ROLES:
            score -= 2.0
    return score


def _position_score(q: Query, e: Element, extent: tuple[float, float]) -> float:
    if not q.positions or e.bbox is None:
        return 0.0
    x, y, w, h = e.bbox
    cx = (x + w / 2) / max(extent[0], 1.0)
    cy = (y + h / 2) / max(extent[1], 1.0)
    score = 0.0
    for p in q.positions:
        if p == "top":
            score += 1.5 * (1 - cy)
        elif p == "bottom":
            score += 1.5 * cy
        elif p == "left":
            score += 1.5 * (1 - cx)
        elif p == "right":
            score += 1.5 * cx
        elif p == "center":
            score += 1.5 * (1 - abs(cx - 0.5) * 2)
    return score


@dataclass(frozen=True)
class Scored:
    element: Element
    score: float
    why: str


def score_element(q: Query, e: Element, action_type: str, extent: tuple[float, float],
                  spatial_scores: Mapping[tuple[str, str], Mapping[int, float]] | None = None,
                  present: frozenset[str] | None = None) -> Scored:
    """Score one element. `why` lists the signals that contributed (kept for the record). `present`
    are the description's words that some element on the page has (own text, label, class, context):
    words no element has ("every", "area") cannot tell elements apart and do not dilute the others."""
    parts: list[str] = []
    total = 0.0
    fields = label_fields(e)
    for phrase in q.quoted:
        if normalize(phrase) and phrase.strip().lower() not in SYMBOLS:
            s = phrase_score(phrase, fields)
        else:
            s = symbol_score(phrase, _raw_fields(e))
        if s > 0:
            parts.append(f"quote {s:.1f}")
            total += s
        else:
            ctx = phrase_score(phrase, [normalize(e.context)]) if e.context else 0.0
            if ctx >= 4.0:
                parts.append("quote-in-context 3.0")
                total += 3.0
            else:
                total -= 3.0
                parts.append("quote-missing -3")
    for phrase, relation in q.context_quoted:
        # "in 'Trail Runner'" may be the element's own card title; "left of 'X'" is never X itself.
        direct = phrase_score(phrase, fields) if relation not in SPATIAL_RELATIONS else 0.0
        ctx = phrase_score(phrase, [normalize(e.context)]) if e.context else 0.0
        # Its row's text speaks for an element with little text of its own (an icon, a checkbox); a
        # card or list item that has its own title must name the phrase itself.
        relies = len(normalize(e.text).split()) <= 3
        near = (7.0 * (ctx >= 4.0) + 0.1 * ctx) if relies else 0.0
        placed = spatial_scores.get((phrase, relation)) if spatial_scores else None
        if placed:
            # The text was found on the page: where the element sits decides, the row text only helps.
            s = max(min(direct, 8.0), placed.get(e.index, 0.0)) + (1.5 if ctx >= 4.0 else 0.0)
        else:
            s = max(min(direct, 8.0), near)
        if s > 0:
            parts.append(f"{relation} {s:.1f}")
            total += s
        else:
            total -= 3.0
            parts.append(f"{relation}-missing -3")
    for phrase in q.named:  # "the Close button", "the + button": its label or glyph, named outright
        glyph = phrase.strip().lower() in SYMBOLS or not normalize(phrase)
        if (symbol_score(phrase, _raw_fields(e)) if glyph else phrase_score(phrase, fields)) >= (8.0 if glyph else 9.0):
            parts.append("named 5.0")
            total += 5.0
    for phrase, relation in q.context_refs:  # placed against another element: only where it is counts
        placed = spatial_scores.get((phrase, relation)) if spatial_scores else None
        if placed and placed.get(e.index):
            parts.append(f"{relation} of {phrase!r} {placed[e.index]:.1f}")
            total += placed[e.index]
    ctx_tokens = set(tokens(e.context)) if e.context else set()
    words = [w for w in q.words if present is None or w in present]
    if words:
        have = _word_tokens(e)
        hit = [w for w in words if w in have or synonyms(w) & have]
        near = sum(1 for w in words if w not in have and w in ctx_tokens)
        s = 4.0 * len(hit) / len(words) + 1.0 * near / len(words)
        if any(w in ICON_WORDS or w in FUNCTION_WORDS for w in hit) and not normalize(e.label()):
            s += 2.0  # an icon-only control named by what it shows or does: nothing else names it
        if s:
            parts.append(f"words {s:.1f}")
            total += s
    for w in q.words:  # "the day 15": a number that is the element's whole label names it
        if w.isdigit() and normalize(e.label()) == w:
            parts.append("named 5.0")
            total += 5.0
    if q.context_words:
        around = ctx_tokens | set(tokens(e.landmark))
        s = 3.0 * sum(1 for w in q.context_words if w in around) / len(q.context_words)
        if s:
            parts.append(f"context {s:.1f}")
            total += s
    r = _role_score(q, e, action_type)
    if r:
        parts.append(f"role {r:+.1f}")
        total += r
    p = _position_score(q, e, extent)
    if p:
        parts.append(f"position {p:.1f}")
        total += p
    for lm in q.landmarks:
        if e.landmark == lm:
            total += 1.0
            parts.append(f"in {lm} 1.0")
    if not e.in_viewport:
        total -= 0.25  # ties go to what the user can see
    return Scored(e, round(total, 3), ", ".join(parts))


def is_label_of(phrase: str, e: Element) -> bool:
    """Whether `phrase` is the element's own label (exactly, give or take case and a badge count), not
    only words inside its text."""
    return phrase_score(phrase, label_fields(e)) >= 9.0 or symbol_score(phrase, _raw_fields(e)) >= 10.0
