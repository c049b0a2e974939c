"""Generic ways to break a page, driven by the recording's selectors, and the label each one implies.

A broken copy is the page with one small script (and style) injected first into the <head> of every
HTML file. Four kinds, after what a reconstruction gets wrong:

    handler     events on the action's target are swallowed (a control without its handler)
    element     the action's target is hidden and cannot be hit (an element left out)
    state       a key press on the target is not taken, or text typed into it does not stay
    navigation  a link or form on the target does not navigate (a broken link or hash route)

The label is the first action that must fail: the first action on that selector the breakage hits.
Whether the copy really fails there first is checked by recording it (validate.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("handler", "element", "state", "navigation")
MARK = "data-iwrbench-breakage"

BREAK_SCRIPT = r"""
(function () {
  var B = %(config)s;
  function hit(e) {
    var t = e.target;
    if (t && t.nodeType !== 1) t = t.parentElement;
    return t && t.closest ? t.closest(B.selector) : null;
  }
  function swallow(types, test) {
    types.forEach(function (type) {
      window.addEventListener(type, function (e) {
        if (test(e)) { e.stopImmediatePropagation(); e.preventDefault(); }
      }, true);
    });
  }
  if (B.kind === 'handler') {
    swallow(['click', 'dblclick', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart', 'touchend',
             'auxclick', 'contextmenu'], hit);
  } else if (B.kind === 'element') {
    var css = B.selector + ', ' + B.selector.split(',').map(function (s) { return s + ' *'; }).join(', ') +
      ' { visibility: hidden !important; pointer-events: none !important; }';
    var add = function () {
      var st = document.createElement('style');
      st.setAttribute('%(mark)s', '');
      st.textContent = css;
      (document.head || document.documentElement).appendChild(st);
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', add); else add();
  } else if (B.kind === 'state' && B.key) {
    swallow(['keydown', 'keypress', 'keyup'], function (e) { return e.key === B.key && hit(e); });
  } else if (B.kind === 'state') {
    window.addEventListener('keydown', function (e) {
      if (hit(e) && e.key && e.key.length === 1) { e.stopImmediatePropagation(); e.preventDefault(); }
    }, true);
    window.addEventListener('input', function (e) {
      var t = hit(e);
      if (!t) return;
      e.stopImmediatePropagation();
      if ('value' in t) t.value = ''; else if (t.isContentEditable) t.textContent = '';
    }, true);
  } else if (B.kind === 'navigation') {
    window.addEventListener('click', function (e) {
      var t = hit(e);
      var a = t && (t.closest('a[href]') || (t.querySelector && t.querySelector('a[href]')));
      if (a) e.preventDefault();
    }, true);
    window.addEventListener('submit', function (e) {
      if (e.target && e.target.querySelector && e.target.querySelector(B.selector)) e.preventDefault();
    }, true);
  }
})();
"""


@dataclass(frozen=True)
class Breakage:
    kind: str
    selector: str
    label: int              # 1-based action that must fail first
    key: str | None = None  # state: the key that is not taken
    what: str = ""

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "selector": self.selector, "key": self.key}


PLAYWRIGHT_ONLY = re.compile(r":has-text\(|:text\(|:text-is\(|:nth-match\(|:visible|>>|^text=|^xpath=|^role=")


def css_selector(selector: str | None) -> bool:
    """A selector the page's own script can use (querySelector/closest): no Playwright-only syntax."""
    return bool(selector) and not PLAYWRIGHT_ONLY.search(selector or "")


def _same_target(action: Any, selector: str) -> bool:
    return action.selector == selector and not action.frame


def candidates(actions: list[Any], traces: list[dict[str, Any]], kind: str) -> list[Breakage]:
    """Every breakage of `kind` the script allows, one per distinct target, labelled with the first
    action it hits; ordered with labels near the middle of the script first (more steps to check)."""
    out: dict[str, Breakage] = {}
    for i, a in enumerate(actions, start=1):
        if a.frame or not css_selector(a.selector):
            continue  # an iframe's events never reach the page's own window
        nav = bool(traces[i - 1].get("navigated")) if i - 1 < len(traces) else False
        if kind == "handler" and a.type in ("Click", "DoubleClick", "Drag"):
            key = f"h:{a.selector}"
            what = f"events on the target of action {i} ({a.description!r}) are swallowed"
            out.setdefault(key, Breakage("handler", a.selector, _first(actions, i, a.selector), what=what))
        elif kind == "element" and a.type in ("Click", "DoubleClick", "Type", "Select", "Hover", "Drag"):
            out.setdefault(f"e:{a.selector}", Breakage("element", a.selector, _first(actions, i, a.selector),
                                                       what=f"the target of action {i} ({a.description!r}) "
                                                            f"is hidden"))
        elif kind == "state" and a.type == "Press":
            k = a.parameters["key"]
            first = next(j for j, b in enumerate(actions, start=1)
                         if b.type == "Press" and b.parameters.get("key") == k and _same_target(b, a.selector))
            out.setdefault(f"s:{a.selector}:{k}", Breakage("state", a.selector, first, key=k,
                                                           what=f"the key {k} on the target of action {first} "
                                                                f"is not taken"))
        elif kind == "state" and a.type == "Type":
            out.setdefault(f"t:{a.selector}", Breakage("state", a.selector, _first(actions, i, a.selector),
                                                       what=f"text typed into the target of action {i} "
                                                            f"({a.description!r}) does not stay"))
        elif kind == "navigation" and nav and a.type in ("Click", "Press"):
            out.setdefault(f"n:{a.selector}", Breakage("navigation", a.selector, i,
                                                       what=f"the link or form of action {i} "
                                                            f"({a.description!r}) does not navigate"))
    n = len(actions)
    return sorted(out.values(), key=lambda b: (abs(b.label - 0.45 * n), b.label))


def _first(actions: list[Any], i: int, selector: str) -> int:
    """The first action on the same target (an earlier one is hit by the breakage too)."""
    return next(j for j, b in enumerate(actions[:i], start=1) if _same_target(b, selector))


def inject(folder: Path, head_html: str) -> int:
    """Insert `head_html` first in the <head> of every HTML file of `folder`; returns how many."""
    count = 0
    for page in sorted(folder.rglob("*.htm*")):
        if not page.is_file() or page.suffix.lower() not in (".html", ".htm"):
            continue
        text = page.read_text(encoding="utf-8", errors="surrogateescape")
        new, n = re.subn(r"(<head\b[^>]*>)", lambda m: m.group(1) + head_html, text, count=1, flags=re.I)
        if n == 0:
            new, n = re.subn(r"(<html\b[^>]*>)", lambda m: m.group(1) + head_html, text, count=1, flags=re.I)
        if n == 0:
            new = head_html + text
        page.write_text(new, encoding="utf-8", errors="surrogateescape")
        count += 1
    return count


def breakage_head(b: Breakage) -> str:
    return f"<script {MARK}>" + BREAK_SCRIPT % {"config": json.dumps(b.config()), "mark": MARK} + "</script>"


RESTYLE_CSS = """
body, body * { font-family: "DejaVu Serif", Georgia, serif !important; letter-spacing: 0.01em !important; }
body { background-color: #fbf7ee !important; color: #23234a !important; }
a, a * { color: #a0285a !important; }
button, input, select, textarea { border-radius: 6px !important; }
p, li, td, th { line-height: 1.5 !important; }
"""


def restyle_head() -> str:
    """A restyled copy: other fonts, colours and spacing; same markup, same scripts, same behaviour."""
    return f"<style data-iwrbench-restyle>{RESTYLE_CSS}</style>"
