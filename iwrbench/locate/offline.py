"""The deterministic locator: no model, no key, the same answer every run.

It adapts an action to `choose` (choice.py): a Type looks only among editable fields, a Select's
option and a Drag's drop target are taken out of the description, a double-click, hover or drag
names its element as a click does, and a page's only field takes the text when nothing else is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from iwrbench.data.tasks import Action
from iwrbench.locate.choice import MARGIN, MIN_SCORE, choose
from iwrbench.locate.description import (
    QUOTE_RE,
    parse_description,
    text_from_description,
    without_phrase,
    without_target,
)
from iwrbench.locate.element import Element
from iwrbench.locate.protocol import Choice
from iwrbench.locate.spatial import AnchorSource


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
