"""Reading an action's description: what it quotes, names, and says about where the element is.

`parse_description` turns "the checkbox next to 'Milk'" into a `Query` (quoted phrases, role words,
ordinals, positions, neighbours and their relations) that the scorer weighs against each element;
the helpers at the end take out the parts of a description that name no element (a Select's
option, a Drag's drop target, a Type's text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from iwrbench.locate.words import (
    ICON_WORDS,
    LANDMARKS,
    ORDINALS,
    POSITIONS,
    ROLE_PHRASES,
    ROLE_WORDS,
    SIZE_WORDS,
    STOP,
    SYMBOLS,
    normalize,
    stem,
)

# A single quote opens only after a non-letter and closes only before one, so "Men's" is no quote.
QUOTE_RE = re.compile(r"(?<!\w)'(.+?)'(?!\w)|\"([^\"]+)\"|‘([^’]+)’|“([^”]+)”|«([^»]+)»")


@dataclass(frozen=True)
class Query:
    """What a description asks for, split into the signals the scorer uses."""

    quoted: tuple[str, ...] = ()
    # quoted text that names a neighbour, with its relation: ("Milk", "near") for "next to 'Milk'";
    # relations: near, above, below, left, right (spatial) and "in" (for/of/in: the same row or card)
    context_quoted: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    ordinal: int | None = None
    positions: tuple[str, ...] = ()
    landmarks: tuple[str, ...] = ()
    # unquoted labels right before a role word: "the Close button" -> ("close",)
    named: tuple[str, ...] = ()
    # words naming the element's surroundings, after a relation: "the up arrow of the quantity field"
    # -> ("quantity",); they are looked for in the element's row or card, never as its own role or label
    context_words: tuple[str, ...] = ()
    # another element named without quotes, with a spatial relation: "the chevron left of the new todo
    # field" -> (("new todo field", "left"),); resolved to that element's box on the page
    context_refs: tuple[tuple[str, str], ...] = ()
    size: str | None = None  # "the big text box" -> "large", "the small ×" -> "small"


ICON_PHRASE_RE = re.compile(r"\b(up|down|left|right)[\s-]?(?:pointing\s+)?(?:arrow|chevron|caret|triangle)s?\b")
ROLE_ALT = "|".join(sorted({*ROLE_WORDS, "search"}, key=len, reverse=True))
NAMED_RE = re.compile(r"\b(?:the|a|an)\s+((?:[a-z0-9&+'-]+\s+){0,2}?[a-z0-9&+'-]+)\s+(?:" + ROLE_ALT + r")\b")
CONTEXT_SPLIT_RE = re.compile(r"\s(?:of|in|on|inside|within|from)\s+(?:the|this|that|a|an)\s")
PURPOSE_RE = re.compile(r"\s(?:to|that|which|so|in order to)\s")

RELATION_RE = re.compile(
    r"\b(to the left of|to the right of|left of|right of|next to|beside|near|underneath|under|below|beneath|"
    r"above|over|on top of|for|of|in|inside|within|from|on|at|by)\s+(?:the\s+)?(?:(?:first|second|third|fourth|"
    r"fifth|last|\d+(?:st|nd|rd|th))\s+)?(?:item|row|product|entry|card|photo|image|picture|"
    r"task|todo|section|list|panel|post|message|tile|label|text|word|column|heading|title)?\s*,?\s*$")
# "left of the new todo field": a spatial relation to another element named in words (no quotes), up to
# a clause that says what the element does.
REF_RE = re.compile(r"\b(to the left of|to the right of|left of|right of|next to|beside|above|below|under|"
                    r"underneath|beneath|on top of)\s+(?:the\s+|a\s+)?([a-z0-9][a-z0-9 '&-]*?)"
                    r"(?=\s+(?:that|which|to|so|and|in order|where|with)\b|\s*[,.;]|\s*$)")
RELATIONS = {"to the left of": "left", "left of": "left", "to the right of": "right", "right of": "right",
             "next to": "near", "beside": "near", "near": "near", "by": "near", "underneath": "below",
             "under": "below", "below": "below", "beneath": "below", "above": "above", "over": "above",
             "on top of": "above"}
SPATIAL_RELATIONS = {"near", "above", "below", "left", "right"}


def parse_description(description: str, *, typed_text: str | None = None, ignore: Sequence[str] = ()) -> Query:
    """Split a description into quoted phrases, role words, position words and content words.
    Quoted phrases that are `typed_text` or one of `ignore` (a Select's option, a Drag's drop target)
    name no element and are left out."""
    desc = description.strip()
    quoted: list[str] = []
    context_quoted: list[tuple[str, str]] = []
    skip = {normalize(t) for t in (typed_text, *ignore) if t}
    for m in QUOTE_RE.finditer(desc):
        phrase = next(g for g in m.groups() if g is not None).strip()
        if not phrase:
            continue
        if normalize(phrase) in skip:
            continue  # "Type 'Bananas' into ..." — the typed text names no element
        before = desc[: m.start()].lower()
        rel = RELATION_RE.search(before)
        # A relation places the quote against the element when something before it named that element:
        # a role word ("the checkbox next to 'Milk'") or a quote ("'Socket Activation' ... above 'Glossary'").
        if rel and (quoted_role_before(before) is not None or quoted):
            context_quoted.append((phrase, RELATIONS.get(rel.group(1), "in")))
        else:
            quoted.append(phrase)
    rest = QUOTE_RE.sub(" ", desc)
    low = rest.lower()
    for pattern, repl in ROLE_PHRASES:
        low = re.sub(pattern, repl, low)
    low = ICON_PHRASE_RE.sub(lambda m: f" arrow{m.group(1)} ", low)
    low = re.sub(r"\b(?:check|tick)[\s-]?marks?\b", " checkmark ", low)
    refs: list[tuple[str, str]] = []
    for m in list(REF_RE.finditer(low)):
        head = low[:m.start()]
        if m.group(2).split()[0] in ("in", "on", "of", "at", "from", "inside", "within"):
            continue  # "left of [a quote] in the list": the quote was the reference, already read
        if _names_something(head):
            refs.append((" ".join(m.group(2).split()), RELATIONS.get(m.group(1), "near")))
            low = low[:m.start()] + " " + low[m.end():]
            break  # one reference per description: the rest is read as before
    # What follows a relation word ("of the quantity field", "in the cart panel") describes where the
    # element is, once something before it has named the element itself; a purpose clause after it
    # ("... to mark all as done") describes the element again.
    context_part = ""
    split = CONTEXT_SPLIT_RE.search(low)
    if split and _names_something(low[:split.start()]):
        context_part = low[split.end():]
        purpose = PURPOSE_RE.search(context_part)
        low = low[:split.start()] + (" " + context_part[purpose.end():] if purpose else "")
        context_part = context_part[:purpose.start()] if purpose else context_part
    named = [" ".join(m.group(1).split()) for m in NAMED_RE.finditer(low)
             if not set(m.group(1).split()) & (STOP | set(POSITIONS) | set(ORDINALS) | set(ROLE_WORDS))]
    # "Click the × at the right end of the row": a glyph outside quotes names the control that shows it.
    named += [ch for ch in dict.fromkeys(rest) if ch in SYMBOLS and not ch.isalnum() and not ch.isspace()]
    roles: list[str] = []
    words: list[str] = []
    positions: list[str] = []
    landmarks: list[str] = []
    ordinal: int | None = None
    context_words = [stem(w) for w in normalize(context_part).split()
                     if w not in STOP and w not in ROLE_WORDS and w not in POSITIONS and len(w) > 1]
    size = None
    for raw in normalize(low).split():
        if raw in SIZE_WORDS:
            size = size or SIZE_WORDS[raw]
            continue
        if raw in ORDINALS:
            ordinal = ORDINALS[raw] if ordinal is None else ordinal
            continue
        if raw in POSITIONS:
            positions.append({"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}.get(raw, raw))
            continue
        if raw in LANDMARKS:
            landmarks.append(LANDMARKS[raw])
            continue
        if raw in ROLE_WORDS:
            role = ROLE_WORDS[raw]
            if role not in roles:
                roles.append(role)
            continue
        if raw in STOP or (len(raw) < 2 and not raw.isdigit()) or (raw.isdigit() and len(raw) > 6):
            continue
        words.append(stem(raw))
    for raw in normalize(context_part).split():  # "in the top right corner of the header": still where it is
        if raw in ORDINALS and ordinal is None:
            ordinal = ORDINALS[raw]  # "the icon of the first card": the first of the look-alikes
        elif raw in LANDMARKS:
            landmarks.append(LANDMARKS[raw])
        elif raw in POSITIONS:
            positions.append({"upper": "top", "lower": "bottom", "centre": "center", "middle": "center"}.get(raw, raw))
    return Query(quoted=tuple(quoted), context_quoted=tuple(context_quoted), words=tuple(dict.fromkeys(words)),
                 roles=tuple(roles), ordinal=ordinal, positions=tuple(dict.fromkeys(positions)),
                 landmarks=tuple(dict.fromkeys(landmarks)), named=tuple(dict.fromkeys(named)),
                 context_words=tuple(dict.fromkeys(w for w in context_words if w not in words)),
                 context_refs=tuple(refs), size=size)


def _names_something(text: str) -> bool:
    """Whether a stretch of a description names an element: a role word or a content word."""
    for raw in normalize(text).split():
        if raw in ROLE_WORDS or raw in ICON_WORDS or (raw not in STOP and raw not in POSITIONS
                                                      and raw not in ORDINALS and len(raw) > 1):
            return True
    return False


def quoted_role_before(before: str) -> str | None:
    """The role word (if any) named before a relation ("the checkbox next to" -> checkbox; a glyph
    such as "the small × left of" counts as one)."""
    for glyph in SYMBOLS:
        if len(glyph) == 1 and not glyph.isalnum() and glyph in before:
            return glyph
    low = before
    for pattern, repl in ROLE_PHRASES:
        low = re.sub(pattern, repl, low)
    found = None
    for raw in normalize(low).split():
        if raw in ROLE_WORDS or raw in {"icon", "arrow", "x", "heart", "star", "remove", "delete", "edit", "bar",
                                        "dot", "marker", "pin", "point", "cell", "card", "tile", "badge"}:
            found = raw
    return found


def without_phrase(description: str, phrase: str) -> str:
    """The description with `phrase` (quoted or not, any case) taken out."""
    if not phrase.strip():
        return description
    pattern = r"[\"'\u2018\u201c]?" + re.escape(phrase.strip()) + r"[\"'\u2019\u201d]?"
    return " ".join(re.sub(pattern, " ", description, flags=re.IGNORECASE).split())


def without_target(description: str, target: str) -> str:
    """A Drag's description without where it drops ("Drag the photo to the Trash box" -> "Drag the
    photo"): the target's own words when the description repeats them, else what follows its last
    'to' / 'onto' / 'into' / 'over'."""
    if target.strip() and target.strip().lower() in description.lower():
        return without_phrase(description, target)
    cut = list(re.finditer(r"\s(?:on\s*to|onto|into|to|over|towards?)\s", description, re.IGNORECASE))
    return description[:cut[-1].start()] if cut else description


def text_from_description(description: str) -> str | None:
    """The text a Type description quotes: "Type 'laptop' into the search box" -> 'laptop'."""
    m = QUOTE_RE.search(description)
    return next(g for g in m.groups() if g is not None) if m else None
