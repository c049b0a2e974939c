"""What every locator promises: the `Locator` protocol and its answer, a `Choice`.

The offline locator (offline.py) and the model locator both implement `Locator.locate` and return
a `Choice`, which the replay records as `LocatorInfo`; kept apart so neither locator depends on
the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from iwrbench.data.tasks import Action
from iwrbench.locate.element import Element
from iwrbench.locate.spatial import AnchorSource
from iwrbench.records.evaluation import LocatorInfo


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


@runtime_checkable
class Locator(Protocol):
    """Picks the element an action names. `name` is recorded as the locator method.

    `listing` is the element list as browser-use renders it for a model; `anchors` the page's short
    visible texts with their boxes (or a function giving them), for "the button next to 'X'".
    """

    name: str

    async def locate(self, action: Action, elements: Sequence[Element], page_screenshot: bytes | None, *,
                     listing: str | None = None, anchors: AnchorSource = None) -> Choice: ...
