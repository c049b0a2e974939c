"""Means, 95% bootstrap intervals and standard errors of a model's task rows, overall and per category.

A task's score on a part is the mean over its counted epochs that scored the part; the model's mean is
the mean over tasks of those (one epoch: the plain mean over tasks, as before epochs existed). The
interval resamples tasks, and each task's epochs within it (iwrbench.stats). A part no task scored has
mean, interval and standard error None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from iwrbench.report import stats
from iwrbench.scoring.scores import PARTS

if TYPE_CHECKING:
    from iwrbench.report.rows import TaskRow

__all__ = ["CATEGORIES", "PARTS", "UNSPECIFIED", "by_category", "summarize"]
CATEGORIES = ("domain", "visual_complexity", "interaction_complexity")
UNSPECIFIED = "(unspecified)"
DIGITS = 4


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), DIGITS)


def epoch_values(row: TaskRow, part: str) -> list[float]:
    """The values of `part` over the task's counted epochs (one value for a task without epochs)."""
    if not row.counted:
        return []
    epochs = row.per_epoch or [row]
    return [float(getattr(e, part)) for e in epochs if e.counted and getattr(e, part) is not None]


def summarize(rows: Sequence[TaskRow], parts: Iterable[str] = PARTS) -> dict[str, dict[str, Any]]:
    """{"mean": {part: x}, "mean_n": {part: tasks}, "ci95": {part: [lo, hi]}, "stderr": {part: x}}.

    Parts whose values sit on the same tasks and epochs are resampled together (one set of draws,
    the same result as one by one, a fraction of the time)."""
    parts = tuple(parts)
    values = {p: [(i, epoch_values(r, p)) for i, r in enumerate(rows)] for p in parts}
    values = {p: [(i, v) for i, v in vs if v] for p, vs in values.items()}
    out: dict[str, dict[str, Any]] = {"mean": {}, "mean_n": {}, "ci95": {}, "stderr": {}}
    layouts: dict[tuple, list[str]] = {}
    for p in parts:
        out["mean_n"][p] = len(values[p])
        if not values[p]:
            out["mean"][p] = out["stderr"][p] = out["ci95"][p] = None
            continue
        layouts.setdefault(tuple((i, len(v)) for i, v in values[p]), []).append(p)
    for layout, group in layouts.items():
        groups = [np.array([[values[p][j][1][e] for p in group] for e in range(k)])
                  for j, (_i, k) in enumerate(layout)]
        means = stats.mean(groups)
        errs = stats.stderr(groups)
        lo, hi = stats.bootstrap_ci(groups)
        for c, p in enumerate(group):
            out["mean"][p] = _round(means[c])
            out["stderr"][p] = None if errs is None else _round(errs[c])
            out["ci95"][p] = [_round(lo[c]), _round(hi[c])]
    return {key: {p: out[key][p] for p in parts} for key in out}


def by_category(rows: Sequence[TaskRow]) -> dict[str, dict[str, dict[str, Any]]]:
    """{category: {value: {part means..., "n", "tasks", "ci95": {...}, "stderr": {...}}}}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cat in CATEGORIES:
        groups: dict[str, list[TaskRow]] = {}
        for r in rows:
            groups.setdefault(getattr(r, cat) or UNSPECIFIED, []).append(r)
        out[cat] = {}
        for value in sorted(groups):
            members = groups[value]
            s = summarize(members)
            out[cat][value] = {**s["mean"], "n": sum(r.counted for r in members), "tasks": len(members),
                               "ci95": s["ci95"], "stderr": s["stderr"]}
    return out
