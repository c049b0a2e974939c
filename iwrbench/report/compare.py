"""Paired comparisons of the models of one judge folder (comparisons.json) and the rank ranges they
give the leaderboard.

Two models are compared on the tasks both have in their mean (each task with its own counted epochs):
a paired bootstrap of the difference in Final and in IFS (iwrbench.stats), its 95% interval and a
two-sided p-value. A model's rank range runs from 1 + (models whose Final is better with an interval
that excludes 0) to N - (models it beats that way): "2-4" means the data cannot place it more precisely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from iwrbench.report import stats
from iwrbench.report.model_stats import epoch_values

if TYPE_CHECKING:
    from iwrbench.report.rows import ModelResult

COMPARISONS_MARK = "iwrbench-comparisons"
COMPARISONS_FORMAT = 1
METRICS = ("final", "IFS")


def _r(x: float) -> float:
    return round(float(x), 4)


def paired_groups(a: ModelResult, b: ModelResult, part: str) -> tuple[list[list[float]], list[list[float]]]:
    """Each common task's counted epochs under a and under b (tasks scored by both on `part`)."""
    rows_b = {r.task_id: r for r in b.rows}
    ga: list[list[float]] = []
    gb: list[list[float]] = []
    for ra in a.rows:
        rb = rows_b.get(ra.task_id)
        va, vb = epoch_values(ra, part), (epoch_values(rb, part) if rb is not None else [])
        if va and vb:
            ga.append(va)
            gb.append(vb)
    return ga, gb


def compare_pair(a: ModelResult, b: ModelResult) -> dict[str, Any]:
    """Both metrics of one pair; metrics on the same tasks and epochs share one set of draws."""
    entry: dict[str, Any] = {"a": a.label, "a_slug": a.slug, "b": b.label, "b_slug": b.slug}
    layouts: dict[tuple, list[tuple[str, list, list]]] = {}
    for part in METRICS:
        ga, gb = paired_groups(a, b, part)
        entry[part] = None
        if ga:
            shape = (tuple(map(len, ga)), tuple(map(len, gb)))
            layouts.setdefault(shape, []).append((part, ga, gb))
    for group in layouts.values():
        cols_a = [np.array([g[t] for _p, g, _ in group]).T for t in range(len(group[0][1]))]
        cols_b = [np.array([g[t] for _p, _, g in group]).T for t in range(len(group[0][2]))]
        for (part, _ga, _gb), res in zip(group, stats.paired_bootstrap_columns(cols_a, cols_b) or [], strict=True):
            entry[part] = {"tasks": res.n_tasks, "diff": _r(res.diff), "ci95": [_r(res.ci[0]), _r(res.ci[1])],
                           "p": round(res.p, 6), "distinguishable": res.distinguishable}
    return entry


def rank_ranges(ranked: list[ModelResult], pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{model, slug, position, rank: [lo, hi], label}] in leaderboard order; models without a Final
    have no rank."""
    by_pair = {(p["a_slug"], p["b_slug"]): p for p in pairs}
    with_final = [m for m in ranked if m.report["mean"]["final"] is not None]
    n = len(with_final)
    out = []
    for pos, m in enumerate(ranked, start=1):
        if m.report["mean"]["final"] is None:
            out.append({"model": m.label, "slug": m.slug, "position": pos, "rank": None, "label": "—"})
            continue
        better = worse = 0
        for other in with_final:
            if other is m:
                continue
            pair = by_pair.get((m.slug, other.slug)) or by_pair.get((other.slug, m.slug))
            res = pair.get("final") if pair else None
            if not res or not res["distinguishable"]:
                continue
            m_ahead = (res["diff"] > 0) == (pair["a_slug"] == m.slug)
            worse += m_ahead
            better += not m_ahead
        lo, hi = min(pos, 1 + better), max(pos, n - worse)
        out.append({"model": m.label, "slug": m.slug, "position": pos, "rank": [lo, hi],
                    "label": str(lo) if lo == hi else f"{lo}-{hi}"})
    return out


def comparisons(ranked: list[ModelResult], judge: str) -> dict[str, Any]:
    """comparisons.json of one judge folder: every pair of models (best first), and the rank ranges."""
    pairs = [compare_pair(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1:]]
    return {
        "report": COMPARISONS_MARK,
        "format": COMPARISONS_FORMAT,
        "judge": judge,
        "method": {
            "statistic": "mean over tasks of each task's mean over its counted epochs; difference a - b",
            "tasks": "those both models have in their mean (scored on the metric)",
            "bootstrap": "paired: the same tasks drawn for both models, each model's epochs drawn within the task",
            "resamples": stats.N_RESAMPLES, "seed": stats.SEED, "level": stats.LEVEL,
            "p": "two-sided: 2 * min(share of resampled differences <= 0, share >= 0), shares as (m+1)/(B+1)",
            "distinguishable": "the 95% interval of the difference excludes 0",
            "rank": "from 1 + models distinguishably better on Final to N - models distinguishably worse",
        },
        "ranks": rank_ranges(ranked, pairs),
        "pairs": pairs,
    }
