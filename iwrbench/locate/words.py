"""The vocabulary of action descriptions: text normalisation and the word tables.

How text is folded for comparison (`normalize`, `tokens`, `stem`), and which words name a role, an
ordinal, a position, a landmark or a size, which are mere filler, and which words and glyphs an
icon-only control's labels use for one function. Parsing (description.py) and scoring (scoring.py)
both read these tables; they are data, kept apart from the rules that use them.
"""

from __future__ import annotations

import re
import unicodedata


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


def synonyms(word: str) -> frozenset[str]:
    """Other words a control's label, title or class may use for `word` (an icon's name or a function)."""
    out = set(ICON_WORDS.get(word, ()))
    for group in FUNCTION_GROUPS:
        if word in group:
            out |= group
    out.discard(word)
    return frozenset(out)


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
