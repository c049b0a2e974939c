"""The small pieces every part of index.html is written with: escaping (every piece of task or model
text is escaped, because task descriptions, judge reasons and error messages are untrusted), number
and interval formats, relative URLs, tables, a task row's status label and a run's anchor. Apart so
that the models' and the tasks' sections share them without importing each other."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from iwrbench.report.rows import TaskRow


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def ci_text(ci: list[float] | None) -> str:
    return "—" if not ci or ci[0] is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def url_of(rel: str) -> str:
    """A relative file path as a URL path (each segment percent-encoded)."""
    return "/".join(quote(part) for part in rel.replace(os.sep, "/").split("/"))


def status_text(row: TaskRow) -> tuple[str, str]:
    """(css class, short label) of a task row."""
    if row.status == "missing":
        return "s-missing", "missing"
    if row.status == "error":
        return "s-error", f"error ({row.error_kind or 'unknown'})"
    if row.error_kind == "no_page":
        return "s-no_page", "no page: 0"
    return "s-scored", "scored"


def run_id(task_id: str, slug: str, epoch: int = 1) -> str:
    return f"run-{task_id}--{slug}" + ("" if epoch == 1 else f"--epoch-{epoch}")


def table(header: list[str], rows: list[list[str]], left: int = 1, text_last: bool = False) -> str:
    """`rows` hold already-escaped HTML; the first `left` columns (and a text last column) align left."""
    def cls(i: int) -> str:
        return "l" if i < left or (text_last and i == len(header) - 1) else ""
    th = "".join(f'<th class="{cls(i)}">{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{cls(i)}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

