"""One candidate element as the perception layer describes it, and what kind of control it is.

The locators, the perception layer and the replay all speak in `Element` descriptors; this module
holds only the descriptor and the rules that read its tag, role and attributes (its kind, its
label, whether it takes typed text), so every other part can depend on it without the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
