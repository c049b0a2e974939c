"""The JavaScript the replay runs in the candidate page, read once at import from js/*.js.

Apart so the scripts live as JavaScript (each file's header says what it returns and how it is called)
and every part of the replay takes them from one place. One-line property reads (a tag name, the
scroll offsets) stay inline where they are used.
"""

from __future__ import annotations

from pathlib import Path

JS_DIR = Path(__file__).parent / "js"


def _read(name: str) -> str:
    return (JS_DIR / name).read_text(encoding="utf-8")


# The page's state as the replay records it: its text (same-origin iframes included), form values (a
# password masked), the text shown in the viewport, focus, scroll.
STATE_SCRIPT = _read("page_state.js")
# Whether the keyboard focus is on the element, inside it, or on an element around it.
HOLDS_FOCUS = _read("holds_focus.js")
# The label drawn for a control the page hides from sight, else null.
HIDDEN_CONTROL_LABEL = _read("hidden_control_label.js")
# The first shown descendant of an element whose whole text is the quote, else null.
QUOTED_PART = _read("quoted_part.js")
# Scroll offsets of the window and of every element under the point: changes iff the view moved.
SCROLL_PROBE = _read("scroll_probe.js")
# How many elements in the body have a box: 0 means an empty page (nothing to press a key on).
RENDERED_ELEMENTS = _read("rendered_elements.js")
# The box of the first or last item of the list holding the element at (x, y).
LIST_EDGE = _read("list_edge.js")
