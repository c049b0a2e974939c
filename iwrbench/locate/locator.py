"""Finding the element an action's natural-language description names.

Two locators speak one protocol (`Locator.locate`): the offline one here scores every element
against the description with deterministic rules and acts only when the best match is clear; the
LLM one (agent.py) asks a model to pick an index. Everything in this module is a pure function over
`Element` descriptors, so it is unit-tested without a browser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Protocol, runtime_checkable

from iwrbench.data.tasks import Action
from iwrbench.records.evaluation import LocatorInfo

# ---------------------------------------------------------------- element descriptors

TEXT_INPUT_TYPES = {"", "text", "search", "email", "url", "tel", "password", "number", "date", "datetime-local",
                    "month", "week", "time"}
EDITABLE_ROLES = {"textbox", "searchbox", "combobox", "spinbutton"}


@dataclass(frozen=True)
class Element:
    """One candidate element as the perception layer saw it (browser-use or the Playwright scan)."""

    index: int
    tag: str
    role: str = ""  # accessibility role (explicit or implied)
    name: str = ""  # accessible name
    text: str = ""  # visible text inside the element
    attributes: Mapping[str, str] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None  # x, y, width, height in document coordinates
    in_viewport: bool = True
    editable: bool = False
    scrollable: bool = False
    context: str = ""  # text of the nearest enclosing row/item, for "the checkbox next to 'Milk'"
    landmark: str = ""  # enclosing header/nav/main/aside/footer/form/dialog, if any
    source: str = "browser-use"

    @property
    def kind(self) -> str:
        """Canonical role used for matching role words in descriptions."""
        return element_kind(self)

    def label(self) -> str:
        """The best short human label: what a user would call this element."""
        a = self.attributes
        for value in (self.name, self.text, a.get("aria-label", ""), a.get("placeholder", ""),
                      a.get("title", ""), a.get("alt", ""), shown_value(self)):
            value = " ".join(str(value).split())
            if value:
                return value
        return ""

    def summary(self, limit: int = 80) -> str:
        """`<button> "Add to cart"` — for logs and eval.json."""
        label = self.label()
        if len(label) > limit:
            label = label[: limit - 1] + "…"
        role = f" role={self.role}" if self.role and self.role not in {self.tag, "generic"} else ""
        return f'<{self.tag}{role}> "{label}"' if label else f"<{self.tag}{role}>"


def shown_value(e: Element) -> str:
    """The value attribute where a user sees it (a button's caption, a field's text); a checkbox's or
    radio's value ('on') is never shown."""
    if e.tag.lower() == "input" and (e.attributes.get("type") or "").lower() in ("checkbox", "radio", "hidden"):
        return ""
    return e.attributes.get("value", "")


def element_kind(e: Element) -> str:
    tag = e.tag.lower()
    role = (e.attributes.get("role") or e.role or "").lower()
    itype = (e.attributes.get("type") or "").lower()
    if role in {"tab", "link", "checkbox", "radio", "switch", "slider", "option", "menuitem", "combobox",
                "listbox", "button", "img", "image", "searchbox", "textbox", "heading", "menuitemcheckbox",
                "menuitemradio", "treeitem", "row", "gridcell", "cell"}:
        return {"img": "image", "searchbox": "textbox", "menuitemcheckbox": "menuitem",
                "menuitemradio": "menuitem", "gridcell": "cell"}.get(role, role)
    if tag == "a":
        return "link"
    if tag in {"button", "summary"} or (tag == "input" and itype in {"button", "submit", "reset", "image"}):
        return "button"
    if tag == "input" and itype == "checkbox":
        return "checkbox"
    if tag == "input" and itype == "radio":
        return "radio"
    if tag == "input" and itype == "range":
        return "slider"
    if tag == "select":
        return "combobox"
    if tag in {"img", "svg", "picture", "canvas"}:
        return "image"
    if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
        return "heading"
    if e.editable or tag == "textarea" or (tag == "input" and itype in TEXT_INPUT_TYPES):
        return "textbox"
    if tag == "label":
        return "label"
    if tag == "li":
        return "listitem"
    return "generic"


def is_editable(tag: str, attributes: Mapping[str, str], role: str = "") -> bool:
    tag = tag.lower()
    itype = (attributes.get("type") or "").lower()
    if tag == "textarea":
        return True
    if tag == "input":
        return itype in TEXT_INPUT_TYPES
    ce = attributes.get("contenteditable")
    if ce is not None and ce.lower() in {"", "true", "plaintext-only"}:
        return True
    return (role or attributes.get("role", "")).lower() in {"textbox", "searchbox"}


# ---------------------------------------------------------------- description parsing

ROLE_WORDS: dict[str, str] = {
    "button": "button", "buttons": "button", "btn": "button",
    "link": "link", "links": "link", "hyperlink": "link", "anchor": "link",
    "tab": "tab", "tabs": "tab",
    "field": "textbox", "input": "textbox", "textbox": "textbox", "textarea": "textbox", "searchbox": "textbox",
    "box": "textbox",
    "checkbox": "checkbox", "checkboxes": "checkbox", "tickbox": "checkbox",
    "radio": "radio",
    "dropdown": "combobox", "combobox": "combobox", "picker": "combobox",
    "option": "option", "options": "option",
    "image": "image", "images": "image", "img": "image", "picture": "image", "photo": "image",
    "thumbnail": "image", "logo": "image",
    "icon": "icon", "toggle": "switch", "switch": "switch", "slider": "slider",
    "heading": "heading", "headline": "heading",
    "menuitem": "menuitem",
}
# Phrases folded into one role word before tokenising.
ROLE_PHRASES = (
    (r"\bcheck[\s-]?box(es)?\b", "checkbox"), (r"\btick[\s-]?box(es)?\b", "checkbox"),
    (r"\bradio[\s-]?buttons?\b", "radio"), (r"\btext[\s-]?(box|area|field|input)\b", "textbox"),
    (r"\bsearch[\s-]?(box|bar|field|input)\b", "search textbox"), (r"\bdrop[\s-]?down( menu| list)?\b", "dropdown"),
    (r"\bmenu[\s-]?items?\b", "menuitem"), (r"\binput[\s-]?field\b", "textbox"),
    (r"\b(?:editing|edit|writing|text|content)[\s-]?(?:area|region|pane|surface)\b", "textbox"),
    (r"\b(?:rich[\s-]?text\s+)?editor\b", "editor textbox"),
)
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
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
            "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1, "final": -1}
POSITIONS = {"top", "bottom", "left", "right", "upper", "lower", "center", "centre", "middle", "corner"}
LANDMARKS = {"header": "header", "navbar": "nav", "navigation": "nav", "nav": "nav", "footer": "footer",
             "sidebar": "aside", "modal": "dialog", "dialog": "dialog", "popup": "dialog", "form": "form"}
STOP = frozenset(re.split(r"\s+", """
a an the this that these those to of in on at into onto for from with by as and or it its is are be
click clicks clicking tap press pressing hit select choose type typing enter entering scroll scrolling
then again page element area section labeled labelled named called titled marked saying reads which
shows show showing displayed button's item items one user their your his her our next near beside
under below above over after before inside within up down so can via using use
again once twice now just also still instead please every each
""".strip()))
SIZE_WORDS = {"big": "large", "large": "large", "main": "large", "wide": "large", "tall": "large", "huge": "large",
              "small": "small", "tiny": "small", "little": "small", "narrow": "small", "mini": "small"}
# A single quote opens only after a non-letter and closes only before one, so "Men's" is no quote.
QUOTE_RE = re.compile(r"(?<!\w)'(.+?)'(?!\w)|\"([^\"]+)\"|‘([^’]+)’|“([^”]+)”|«([^»]+)»")


def normalize(text: str) -> str:
    """Lower-case, NFKC, punctuation to spaces, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^\w]+", " ", text, flags=re.UNICODE)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    out = []
    for tok in normalize(re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))).split():
        out.append(stem(tok))
    return out


def stem(tok: str) -> str:
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        return tok[:-1]
    return tok


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


# Function words for icon-only controls, and the words their labels, titles and classes use instead.
ICON_WORDS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "chevron": {"toggle", "expand", "collapse", "chevron", "caret", "all"},
    "caret": {"toggle", "expand", "collapse", "chevron", "caret", "dropdown"},
    "trash": {"delete", "remove", "destroy", "trash", "bin"}, "bin": {"delete", "remove", "destroy", "trash"},
    "pencil": {"edit", "pencil", "rename", "modify"},
    "gear": {"settings", "gear", "cog", "preferences", "options"}, "cog": {"settings", "gear", "cog", "options"},
    "check": {"check", "tick", "done", "ok", "confirm", "save", "apply", "complete", "accept"},
    "tick": {"check", "tick", "done", "ok", "confirm", "save", "apply", "complete"},
    "checkmark": {"check", "tick", "done", "ok", "confirm", "save", "apply", "complete", "accept"},
    "cross": {"close", "delete", "remove", "dismiss", "cancel", "destroy", "times", "x"},
    "x": {"close", "delete", "remove", "dismiss", "cancel", "destroy", "times"},
    "hamburger": {"menu", "nav", "navigation", "hamburger", "sidebar"},
    "magnifier": {"search", "find", "magnifier", "zoom", "zoomin", "enlarge", "larger"},
    "magnifying": {"search", "find", "zoom", "zoomin", "enlarge", "larger"},
    "plus": {"add", "new", "create", "plus", "increase", "increment"},
    "minus": {"decrease", "decrement", "minus", "remove"},
    "arrowup": {"up", "increase", "increment", "north", "previous", "prev"},
    "arrowdown": {"down", "decrease", "decrement", "south", "next"},
    "arrowleft": {"left", "previous", "prev", "back", "west"},
    "arrowright": {"right", "next", "forward", "west"},
    "kebab": {"more", "menu", "options", "actions"}, "ellipsis": {"more", "menu", "options", "actions"},
    "star": {"star", "favorite", "favourite", "rate"}, "heart": {"like", "favorite", "favourite", "love", "heart"},
}.items()}
# Words for one function that labels, titles and class names use interchangeably.
FUNCTION_GROUPS = [
    {"delete", "remove", "destroy", "trash", "bin", "discard"}, {"close", "dismiss", "cancel", "exit"},
    {"edit", "modify", "rename", "pencil"}, {"add", "new", "create", "plus", "insert"},
    {"search", "find", "lookup", "magnifier"}, {"settings", "preferences", "options", "gear", "cog", "config"},
    {"menu", "hamburger", "navigation", "nav"}, {"done", "complete", "completed", "finish", "check", "tick"},
    {"save", "confirm", "ok", "apply", "submit", "accept"}, {"next", "forward"}, {"previous", "prev", "back"},
    {"increase", "increment", "up", "more"}, {"decrease", "decrement", "down", "less"},
    {"expand", "open", "show"}, {"collapse", "hide"},
]


FUNCTION_WORDS = frozenset(w for group in FUNCTION_GROUPS for w in group)


def _has_word(w: str, e: Element) -> bool:
    have = _word_tokens(e)
    return w in have or bool(synonyms(w) & have) or (bool(e.context) and w in set(tokens(e.context)))


def synonyms(word: str) -> frozenset[str]:
    """Other words a control's label, title or class may use for `word` (an icon's name or a function)."""
    out = set(ICON_WORDS.get(word, ()))
    for group in FUNCTION_GROUPS:
        if word in group:
            out |= group
    out.discard(word)
    return frozenset(out)


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


# ---------------------------------------------------------------- scoring

MIN_SCORE = 3.0  # below this nothing matches the description well enough to act on
STRONG = 8.0  # a score only an element whose own label the description quotes or names reaches
MARGIN = 1.0  # the best must beat the runner-up by this much unless the two are equivalent


def _fields(e: Element) -> list[str]:
    a = e.attributes
    values = [e.name, e.text, a.get("aria-label", ""), a.get("placeholder", ""), a.get("title", ""),
              a.get("alt", ""), shown_value(e), a.get("label", "")]
    out = []
    for v in values:
        n = normalize(v)
        if n and n not in out:
            out.append(n)
    return out


# What a symbol-only label means: "Click the '+' button" finds aria-label="Increase" too.
SYMBOLS = {
    "+": {"plus", "increase", "increment", "add", "more", "new", "create"}, "＋": {"plus", "increase", "add", "new"},
    "-": {"minus", "decrease", "decrement", "less"}, "−": {"minus", "decrease", "decrement", "less"},
    "–": {"minus", "decrease", "decrement"}, "×": {"close", "dismiss", "remove", "delete", "x"},
    "✕": {"close", "dismiss", "remove", "delete", "x"}, "✖": {"close", "dismiss", "remove", "delete", "x"},
    "x": {"close", "dismiss", "remove", "delete"}, "☰": {"menu", "navigation"}, "≡": {"menu"},
    ">": {"next", "forward"}, "›": {"next", "forward"}, "»": {"next", "last"}, "→": {"next", "forward"},
    "<": {"previous", "prev", "back"}, "‹": {"previous", "prev", "back"}, "«": {"previous", "first"},
    "←": {"previous", "prev", "back"}, "♥": {"like", "favorite", "favourite", "love"},
    "♡": {"like", "favorite", "favourite", "love"}, "❤": {"like", "favorite", "favourite", "love"},
    "★": {"star", "rate", "favorite"}, "☆": {"star", "rate", "favorite"}, "⋮": {"more", "menu", "options"},
    "…": {"more", "menu", "options"}, "...": {"more", "menu", "options"}, "?": {"help"}, "i": {"info"},
}


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


def _phrase_score(phrase: str, fields: Sequence[str]) -> float:
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
    fields = _fields(e)
    for phrase in q.quoted:
        if normalize(phrase) and phrase.strip().lower() not in SYMBOLS:
            s = _phrase_score(phrase, fields)
        else:
            s = symbol_score(phrase, _raw_fields(e))
        if s > 0:
            parts.append(f"quote {s:.1f}")
            total += s
        else:
            ctx = _phrase_score(phrase, [normalize(e.context)]) if e.context else 0.0
            if ctx >= 4.0:
                parts.append("quote-in-context 3.0")
                total += 3.0
            else:
                total -= 3.0
                parts.append("quote-missing -3")
    for phrase, relation in q.context_quoted:
        # "in 'Trail Runner'" may be the element's own card title; "left of 'X'" is never X itself.
        direct = _phrase_score(phrase, fields) if relation not in SPATIAL_RELATIONS else 0.0
        ctx = _phrase_score(phrase, [normalize(e.context)]) if e.context else 0.0
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
        if (symbol_score(phrase, _raw_fields(e)) if glyph else _phrase_score(phrase, fields)) >= (8.0 if glyph else 9.0):
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


@dataclass(frozen=True)
class Anchor:
    """A short piece of visible text and its box (document coordinates): what "next to 'Milk'" or
    "the bar above 'Dec'" points at when the neighbour is not itself interactive."""

    text: str
    bbox: tuple[float, float, float, float]


AnchorSource = Sequence[Anchor] | Callable[[], Sequence[Anchor]] | None
SPATIAL_RELATIONS = {"near", "above", "below", "left", "right"}


def _gap(a: tuple[float, float, float, float], b: tuple[float, float, float, float], relation: str) -> float:
    """Distance between two boxes; misalignment across the relation's axis counts double."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = max(0.0, bx - (ax + aw), ax - (bx + bw))
    dy = max(0.0, by - (ay + ah), ay - (by + bh))
    if relation in ("above", "below"):
        dx *= 2
    elif relation in ("left", "right"):
        dy *= 2
    return (dx * dx + dy * dy) ** 0.5


def _direction_ok(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> bool:
    ex, ey = e[0] + e[2] / 2, e[1] + e[3] / 2
    ax, ay = a[0] + a[2] / 2, a[1] + a[3] / 2
    return {"above": ey < ay, "below": ey > ay, "left": ex < ax, "right": ex > ax}.get(relation, True)


def spatial_scores(phrase: str, relation: str, elements: Sequence[Element], anchors: Sequence[Anchor],
                   ) -> dict[int, float]:
    """Score (0-7) how well each element sits `relation` of visible text `phrase`; the nearest gets 7."""
    q = normalize(phrase)
    spots = [a.bbox for a in anchors if normalize(a.text) == q]
    if not spots:
        spots = [a.bbox for a in anchors if _phrase_score(phrase, [normalize(a.text)]) >= 8.5]
    if not spots:
        return {}
    dist: dict[int, float] = {}
    for e in elements:
        if e.bbox is None:
            continue
        ds = [_gap(e.bbox, a, relation) * _off_line(e.bbox, a, relation) for a in spots
              if _direction_ok(e.bbox, a, relation) and not _contains(e.bbox, a) and _aligned(e.bbox, a, relation)]
        if ds:
            dist[e.index] = min(ds)
    if not dist:
        return {}
    if relation in ("near", "left", "right"):
        # Something on the text's own line is what "next to" / "left of" means; only without one does an
        # element above or below it count (a field under its label).
        on_line = {e.index for e in elements if e.index in dist and e.bbox is not None
                   and any(_off_line(e.bbox, a, "near") == 1.0 for a in spots)}
        if on_line:
            dist = {i: d for i, d in dist.items() if i in on_line}
    best = min(dist.values())
    return {i: round(7.0 * (best + 20.0) / (d + 20.0), 3) for i, d in dist.items()}


def _aligned(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> bool:
    """Whether an element can be said to sit `relation` of a text: beside it on its line (near, left,
    right) or in its column (above, below), or else right against it. The checkbox of the next row is
    not "next to 'Walk the dog'", even when the one beside it is missing."""
    ex, ey, ew, eh = e
    ax, ay, aw, ah = a
    tol = 0.5 * min(eh, ah)
    same_line = ey < ay + ah - tol and ey + eh > ay + tol
    same_column = ex < ax + aw and ex + ew > ax
    close = _gap(e, a, "near") <= 0.5 * max(eh, ah)
    if relation in ("above", "below"):
        return same_column or close
    if relation in ("left", "right"):
        return same_line or close
    return same_line or close or (same_column and _gap(e, a, "near") <= 1.5 * max(eh, ah))


def _off_line(e: tuple[float, float, float, float], a: tuple[float, float, float, float], relation: str) -> float:
    """"Next to" reads along a line: an element above or below the text counts as three times as far."""
    if relation != "near":
        return 1.0
    tol = 0.5 * min(e[3], a[3])
    return 1.0 if e[1] < a[1] + a[3] - tol and e[1] + e[3] > a[1] + tol else 3.0


def _contains(outer: tuple[float, float, float, float], inner: tuple[float, float, float, float]) -> bool:
    """A box around the anchor (a whole card) is not "next to" it."""
    ox, oy, ow, oh = outer
    ix, iy, iw, ih = inner
    return ox <= ix and oy <= iy and ox + ow >= ix + iw and oy + oh >= iy + ih and ow * oh > 4 * iw * ih


def reading_order(e: Element) -> tuple[float, float, int]:
    if e.bbox is None:
        return (float("inf"), float("inf"), e.index)
    x, y, _w, h = e.bbox
    return (round((y + h / 2) / 12.0), x, e.index)


def _equivalent(a: Element, b: Element) -> bool:
    """Two elements a user could not tell apart by the description: the same label and role, or the
    same label on an element and its own wrapper (a menu item and the div inside it). Elements without
    any label are never twins: nothing says they are the same thing."""
    la, lb = normalize(a.label()), normalize(b.label())
    if not la or la != lb:
        return False
    return a.kind == b.kind or _nested(a, b)


def _nested(a: Element, b: Element) -> bool:
    if a.bbox is None or b.bbox is None:
        return False
    def inside(x: tuple[float, float, float, float], y: tuple[float, float, float, float]) -> bool:
        return x[0] >= y[0] - 1 and x[1] >= y[1] - 1 and x[0] + x[2] <= y[0] + y[2] + 1 and x[1] + x[3] <= y[1] + y[3] + 1
    return inside(a.bbox, b.bbox) or inside(b.bbox, a.bbox)


@dataclass(frozen=True)
class Choice:
    """A locator's answer: the element to act on, or None with the reason."""

    element: Element | None
    method: str
    reason: str = ""
    score: float | None = None
    candidates: int = 0
    runner_up: float | None = None
    alternatives: tuple[str, ...] = ()

    def info(self) -> LocatorInfo:
        extra = {"reason": self.reason} if self.reason else {}
        if self.runner_up is not None:
            extra["runner_up"] = self.runner_up
        if self.alternatives:
            extra["alternatives"] = list(self.alternatives)
        if self.element is not None:
            extra["perception"] = self.element.source
        return LocatorInfo(method=self.method, index=None if self.element is None else self.element.index,
                           score=self.score, element="" if self.element is None else self.element.summary(),
                           candidates=self.candidates, **extra)


def rank(action_type: str, description: str, elements: Sequence[Element], *,
         typed_text: str | None = None, anchors: AnchorSource = None, ignore: Sequence[str] = (),
         ) -> tuple[Query, list[Scored]]:
    q = parse_description(description, typed_text=typed_text, ignore=ignore)
    extent = (max((e.bbox[0] + e.bbox[2] for e in elements if e.bbox), default=1.0),
              max((e.bbox[1] + e.bbox[3] for e in elements if e.bbox), default=1.0))
    spatial: dict[tuple[str, str], dict[int, float]] = {}
    wanted = [(p, r) for p, r in q.context_quoted if r in SPATIAL_RELATIONS]
    if wanted and anchors is not None:
        found = list(anchors() if callable(anchors) else anchors)
        for phrase, relation in wanted:
            spatial[(phrase, relation)] = spatial_scores(phrase, relation, elements, found)
    for phrase, relation in q.context_refs:
        # Where "the new todo field" or "the draft" is: the element that clearly is it, and the texts
        # that name it ("Draft of 'X'", when the draft itself is no interactive element).
        ref = resolve_reference(phrase, elements)
        spots = [Anchor(phrase, ref.bbox)] if ref is not None and ref.bbox is not None else []
        if anchors is not None:
            want = [w for w in tokens(phrase) if w not in STOP]
            found = list(anchors() if callable(anchors) else anchors)
            named = [Anchor(phrase, a.bbox) for a in found if want and all(w in tokens(a.text) for w in want)]
            spots += named if len(named) <= 6 else []
        if spots:
            others = [e for e in elements if ref is None or e.index != ref.index]
            spatial[(phrase, relation)] = spatial_scores(phrase, relation, others, spots)
    present = frozenset(w for w in q.words if any(_has_word(w, e) for e in elements))
    scored = [score_element(q, e, action_type, extent, spatial, present) for e in elements]
    scored = _inner_first(q, scored)
    scored = _rows_before_spans(q, scored)
    if q.size:
        scored = _by_size(q.size, scored)
    scored.sort(key=lambda s: (-s.score, not s.element.in_viewport, reading_order(s.element)))
    return q, scored


def _by_size(size: str, scored: list[Scored]) -> list[Scored]:
    """"The big text box" / "the small ×": among the elements that match best, the largest (smallest)
    gets 2 points, and so does any other within 10 % of its area; the rest nothing."""
    top = max((s.score for s in scored), default=0.0)
    near = [s for s in scored if s.score > top - 3.0 and s.element.bbox and s.element.bbox[2] * s.element.bbox[3] > 0]
    if len(near) < 2:
        return scored
    areas = {id(s): s.element.bbox[2] * s.element.bbox[3] for s in near}
    big, small = max(areas.values()), min(areas.values())
    out = []
    for s in scored:
        if id(s) in areas:
            share = areas[id(s)] / big if size == "large" else small / areas[id(s)]
            if share >= 0.9:
                s = Scored(s.element, round(s.score + 2.0, 3), s.why + f", {size} 2.0")
        out.append(s)
    return out


def resolve_reference(phrase: str, elements: Sequence[Element]) -> Element | None:
    """The element a reference in words names ("the new todo field"), when one matches it clearly."""
    q = parse_description(f"the {phrase}")
    if not (q.words or q.roles or q.named):
        return None
    extent = (1.0, 1.0)
    scored = sorted((score_element(q, e, "Click", extent) for e in elements), key=lambda x: -x.score)
    if not scored or scored[0].score < MIN_SCORE:
        return None
    if len(scored) > 1 and scored[1].score > scored[0].score - MARGIN:
        return None
    return scored[0].element


def _containers_last(scored: list[Scored], margin: float) -> list[Scored]:
    """Among the elements that match about equally well, one that holds another of them (a card
    around its icon, a list item around its link) is what the user did not name: it goes behind them."""
    if len(scored) < 2:
        return scored
    top = scored[0].score
    near = [s for s in scored if s.score > top - margin and s.element.bbox is not None]
    holders = {id(s) for s in near if any(o is not s and _box_inside(o.element.bbox, s.element.bbox) for o in near)}
    if not holders or len(holders) == len(near):
        return scored
    return [s for s in scored if id(s) not in holders] + [s for s in scored if id(s) in holders]


def _rows_before_spans(q: Query, scored: list[Scored]) -> list[Scored]:
    """"The checkbox of 'Feed the cat'": a control whose surroundings span several rows (the list's
    mark-all box, whose context is every todo) loses 3 points to the one whose own row names the
    phrase. A context spans rows when it holds most of the words that set another row of the same
    kind apart (that row's context, less the phrase and what every such context shares)."""
    phrases = [p for p, rel in q.context_quoted if rel not in SPATIAL_RELATIONS]
    if not phrases or len(scored) < 2:
        return scored
    around = {s.element.index: set(tokens(s.element.context)) for s in scored if s.element.context}
    said_by = {phrase: set(tokens(phrase)) for phrase in phrases}
    out = []
    for s in scored:
        e = s.element
        mine = around.get(e.index, set())
        for phrase in phrases:
            said = said_by[phrase]
            if not mine or not said <= mine:
                continue
            kin = [around[o.element.index] for o in scored
                   if o.element.index != e.index and o.element.kind == e.kind and o.element.index in around]
            others = [k for k in kin if not said <= k]
            if not others:
                continue
            shared = set.intersection(mine, *kin)
            if any(len(apart) >= 2 and 2 * len(apart & mine) >= len(apart)
                   for apart in ({t for t in k - said - shared if len(t) >= 3} for k in others)):
                s = Scored(e, round(s.score - 3.0, 3), s.why + ", spans other rows -3")
                break
        out.append(s)
    return out


def _inner_first(q: Query, scored: list[Scored]) -> list[Scored]:
    """A container whose text merely includes the quoted label (a results list, a card) loses 4 points
    to an element inside it whose own label is that quote: the user named the inner one."""
    if not q.quoted:
        return scored
    exact = [s.element for s in scored if any(_phrase_score(p, _fields(s.element)) >= 9.5 for p in q.quoted)]
    out = []
    for s in scored:
        e = s.element
        if e.bbox is not None and e not in exact and any(
                x.bbox is not None and x.index != e.index and _box_inside(x.bbox, e.bbox) for x in exact):
            s = Scored(e, round(s.score - 4.0, 3), s.why + ", holds the exact match -4")
        out.append(s)
    return out


def _box_inside(inner: tuple[float, float, float, float], outer: tuple[float, float, float, float]) -> bool:
    return (inner[0] >= outer[0] - 1 and inner[1] >= outer[1] - 1 and inner[0] + inner[2] <= outer[0] + outer[2] + 1
            and inner[1] + inner[3] <= outer[1] + outer[3] + 1 and inner[2] * inner[3] < outer[2] * outer[3])


def _look_alikes(group: list[Scored]) -> bool:
    """Elements a user tells apart only by where they are: the same tag, kind and label (none, often: a
    slider's handles) and about the same size. Classes are not compared: a focused or hovered one gains some."""
    first = group[0].element
    if first.bbox is None:
        return False
    for s in group[1:]:
        e = s.element
        if e.bbox is None or e.tag.lower() != first.tag.lower() or e.kind != first.kind \
                or normalize(e.label()) != normalize(first.label()):
            return False
        if any(abs(a - b) > 0.2 * max(a, b, 1.0) for a, b in zip(e.bbox[2:], first.bbox[2:], strict=True)):
            return False
    return True


AXES = {"left": (0, False), "right": (0, True), "top": (1, False), "bottom": (1, True)}


def _extreme_look_alike(positions: Sequence[str], group: list[Scored]) -> Scored | None:
    """"The left handle of the slider", "the up arrow in the top row": among look-alikes (nothing but
    their place tells them apart), the position word picks the one furthest that way,
    when it is clearly further than the others (a fifth of the spread between them)."""
    axis = next((AXES[p] for p in positions if p in AXES), None)
    if axis is None or not _look_alikes(group):
        return None
    dim, far = axis
    def centre(s: Scored) -> float:
        b = s.element.bbox
        assert b is not None
        return b[dim] + b[dim + 2] / 2
    ordered = sorted(group, key=centre, reverse=far)
    gap = abs(centre(ordered[0]) - centre(ordered[1]))
    spread = abs(centre(ordered[0]) - centre(ordered[-1]))
    return ordered[0] if gap > 2 and gap >= 0.2 * spread else None


def choose(action_type: str, description: str, elements: Sequence[Element], *,
           typed_text: str | None = None, min_score: float = MIN_SCORE, margin: float = MARGIN,
           anchors: AnchorSource = None, ignore: Sequence[str] = ()) -> Choice:
    """Pick the element a description names, or None when no match is clear (deterministic)."""
    if not elements:
        return Choice(None, "offline", reason="the page has no interactive elements", candidates=0)
    q, scored = rank(action_type, description, elements, typed_text=typed_text, anchors=anchors, ignore=ignore)
    scored = _containers_last(scored, margin)
    best = scored[0]
    alts = tuple(f"{s.element.summary(40)} {s.score:.1f}" for s in scored[:3])
    if best.score < min_score:
        return Choice(None, "offline", reason=f"no element matches the description well enough "
                                              f"(best score {best.score:.1f} < {min_score})",
                      score=best.score, candidates=len(elements), alternatives=alts)
    if q.ordinal is not None:
        group = [s for s in scored if s.score >= best.score - margin]
        # "the icon of the first card": the first of the best match's look-alikes; cards around them
        # and other kinds of elements are not counted.
        group = [s for s in group if not any(o is not s and o.element.bbox and s.element.bbox
                                             and _box_inside(o.element.bbox, s.element.bbox) for o in group)]
        alike = [s for s in group if s.element.kind == best.element.kind
                 and normalize(s.element.label()) == normalize(best.element.label())]
        group = alike if len(alike) > 1 else group
        group.sort(key=lambda s: reading_order(s.element))
        pick = q.ordinal - 1 if q.ordinal > 0 else len(group) + q.ordinal
        if len(group) == 1 and (q.quoted or q.named) and best.score >= STRONG:
            # "the third tab, 'Aenean lacinia'": the text names one element; the ordinal only says
            # where it sits among its kind.
            pick = 0
        if not 0 <= pick < len(group):
            return Choice(None, "offline", reason=f"description asks for item {q.ordinal} of {len(group)} matches",
                          score=best.score, candidates=len(elements), alternatives=alts)
        chosen = group[pick]
        return Choice(chosen.element, "offline", reason=f"{'last' if q.ordinal < 0 else q.ordinal} of "
                                                        f"{len(group)} matches; {chosen.why}",
                      score=chosen.score, candidates=len(elements),
                      runner_up=None, alternatives=alts)
    rivals = [s for s in scored[1:] if s.score > best.score - margin]
    # A container of the chosen element (its card, its list item) is no rival: it is the same click.
    rivals = [s for s in rivals if not (s.element.bbox and best.element.bbox
                                        and _box_inside(best.element.bbox, s.element.bbox))]
    distinct = [s for s in rivals if not _equivalent(s.element, best.element)]
    if distinct and q.positions:
        extreme = _extreme_look_alike(q.positions, [best, *rivals])
        if extreme is not None:
            return Choice(extreme.element, "offline", reason=f"the {q.positions[0]}most of {len(rivals) + 1} "
                                                              f"look-alikes; {extreme.why}",
                          score=extreme.score, candidates=len(elements), runner_up=best.score, alternatives=alts)
    if distinct:
        return Choice(None, "offline", reason=f"ambiguous: {len(distinct) + 1} elements match about equally well",
                      score=best.score, candidates=len(elements),
                      runner_up=distinct[0].score, alternatives=alts)
    runner = scored[1].score if len(scored) > 1 else None
    note = f"; {len(rivals)} identical twin(s), took the first in reading order" if rivals else ""
    return Choice(best.element, "offline", reason=best.why + note, score=best.score, candidates=len(elements),
                  runner_up=runner, alternatives=alts)


# ---------------------------------------------------------------- keys, text, scroll

KEY_ALIASES = {
    "enter": "Enter", "return": "Enter", "esc": "Escape", "escape": "Escape", "tab": "Tab", "space": "Space",
    "spacebar": "Space", "backspace": "Backspace", "delete": "Delete", "del": "Delete", "home": "Home",
    "end": "End", "pageup": "PageUp", "page up": "PageUp", "pagedown": "PageDown", "page down": "PageDown",
    "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
    "arrowup": "ArrowUp", "arrowdown": "ArrowDown", "arrowleft": "ArrowLeft", "arrowright": "ArrowRight",
    "up arrow": "ArrowUp", "down arrow": "ArrowDown", "left arrow": "ArrowLeft", "right arrow": "ArrowRight",
    "arrow up": "ArrowUp", "arrow down": "ArrowDown", "arrow left": "ArrowLeft", "arrow right": "ArrowRight",
    "insert": "Insert",
}
MODIFIERS = {"ctrl": "Control", "control": "Control", "cmd": "Meta", "command": "Meta", "meta": "Meta",
             "win": "Meta", "alt": "Alt", "option": "Alt", "shift": "Shift"}


def normalize_key(key: str) -> str | None:
    """'ctrl+a' -> 'Control+a', 'Return' -> 'Enter', 'down arrow' -> 'ArrowDown'; None if unknown."""
    raw = " ".join(str(key).strip().split())
    if not raw:
        return None
    parts = [p.strip() for p in re.split(r"\s*\+\s*", raw) if p.strip()] if len(raw) > 1 else [raw]
    out = []
    for i, part in enumerate(parts):
        low = part.lower()
        if i < len(parts) - 1:
            mod = MODIFIERS.get(low)
            if mod is None:
                return None
            out.append(mod)
            continue
        if low in MODIFIERS:
            out.append(MODIFIERS[low])
        elif low in KEY_ALIASES:
            out.append(KEY_ALIASES[low])
        elif re.fullmatch(r"f([1-9]|1[0-2])", low):
            out.append(low.upper())
        elif len(part) == 1:
            out.append(part.lower() if len(parts) > 1 else part)  # Control+A means Control+a
        else:
            return None
    return "+".join(out)


KEY_IN_TEXT = re.compile(
    r"\b((?:(?:ctrl|control|cmd|command|alt|shift|meta)\s*\+\s*)*"
    r"(?:enter|return|escape|esc|tab|space(?:bar)?|backspace|delete|home|end|page ?up|page ?down|insert|"
    r"(?:up|down|left|right) arrow|arrow ?(?:up|down|left|right)|f(?:1[0-2]|[1-9])|[a-z0-9]))\b"
    r"(?:\s+key)?", re.IGNORECASE)


def key_from_description(description: str) -> str | None:
    """The key a Press description names: 'Press Enter to submit' -> 'Enter'."""
    for m in QUOTE_RE.finditer(description):
        phrase = next(g for g in m.groups() if g is not None)
        key = normalize_key(phrase)
        if key:
            return key
    m = re.search(r"\b(?:press(?:es|ing)?|hit(?:s|ting)?|tap|push)\s+(?:the\s+)?(.+)", description, re.IGNORECASE)
    scope = m.group(1) if m else description
    for km in KEY_IN_TEXT.finditer(scope):
        candidate = km.group(1)
        if len(candidate) == 1 and not (m and scope.lower().startswith(candidate.lower())):
            continue  # a lone letter counts only right after "press"
        key = normalize_key(candidate)
        if key:
            return key
    return None


def without_key(description: str) -> str:
    """A Press description with its key phrase taken out, so the rest names only the element:
    "Press the right arrow key on the 'First' tab" -> "on the 'First' tab"."""
    m = re.search(r"\b(?:press(?:es|ing)?|hit(?:s|ting)?|tap|push)\s+(?:the\s+)?", description, re.IGNORECASE)
    if not m:
        return description
    km = KEY_IN_TEXT.match(description, m.end())
    if not km:
        return description
    return (description[:m.start()] + description[km.end():]).strip()


def is_label_of(phrase: str, e: Element) -> bool:
    """Whether `phrase` is the element's own label (exactly, give or take case and a badge count), not
    only words inside its text."""
    return _phrase_score(phrase, _fields(e)) >= 9.0 or symbol_score(phrase, _raw_fields(e)) >= 10.0


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


# ---------------------------------------------------------------- the protocol


@runtime_checkable
class Locator(Protocol):
    """Picks the element an action names. `name` is recorded as the locator method.

    `listing` is the element list as browser-use renders it for a model; `anchors` the page's short
    visible texts with their boxes (or a function giving them), for "the button next to 'X'".
    """

    name: str

    async def locate(self, action: Action, elements: Sequence[Element], page_screenshot: bytes | None, *,
                     listing: str | None = None, anchors: AnchorSource = None) -> Choice: ...


class OfflineLocator:
    """The deterministic locator: no model, no key, same answer every run."""

    name = "offline"

    def __init__(self, *, min_score: float = MIN_SCORE, margin: float = MARGIN):
        self.min_score = min_score
        self.margin = margin

    async def locate(self, action: Action, elements: Sequence[Element], page_screenshot: bytes | None = None, *,
                     listing: str | None = None, anchors: AnchorSource = None) -> Choice:
        return self.choose(action, elements, anchors=anchors)

    def choose(self, action: Action, elements: Sequence[Element], *, anchors: AnchorSource = None) -> Choice:
        typed = action.text if action.type == "Type" else None
        if action.type == "Type" and typed is None:
            typed = text_from_description(action.description)
        pool = list(elements)
        if action.type == "Type":
            pool = [e for e in elements if e.editable or e.kind == "textbox"]
            if not pool:
                return Choice(None, self.name, reason="the page has no editable field", candidates=len(elements))
        ignore: list[str] = []
        description = action.description
        if action.type == "Select":
            # "Choose 2020 in the year list": the option names no element, the list does.
            ignore.append(action.option or "")
            description = without_phrase(description, action.option or "")
        elif action.type == "Drag":
            ignore += [next(g for g in m.groups() if g is not None) for m in QUOTE_RE.finditer(action.target or "")]
            description = without_target(description, action.target or "")
        # A double-click, a hover or the press of a drag names its element as a click does.
        kind = "Click" if action.type in ("DoubleClick", "Hover", "Drag") else action.type
        choice = choose(kind, description, pool, typed_text=typed, min_score=self.min_score,
                        margin=self.margin, anchors=anchors, ignore=ignore)
        if action.type == "Type" and choice.element is None and len(pool) == 1 and "ambiguous" not in choice.reason:
            q = parse_description(action.description, typed_text=typed)
            if not q.quoted and not q.named:
                # "Type ... into the editing area under the toolbar": the page's only field, and the
                # description names no other.
                only = pool[0]
                choice = Choice(only, self.name, reason="the only editable field on the page; "
                                + choice.reason, score=choice.score, candidates=len(elements))
        choice = replace(choice, candidates=len(elements))
        return choice
