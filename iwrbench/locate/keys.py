"""The key a Press action names: "Press Enter to submit" -> 'Enter', "ctrl+a" -> 'Control+a'.

Key names as descriptions and recorded parameters spell them, normalised to Playwright's names,
and the description with the key phrase taken out so the rest can name the element pressed on.
"""

from __future__ import annotations

import re

from iwrbench.locate.description import QUOTE_RE

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
