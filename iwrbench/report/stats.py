"""Statistics the reports print, as pure functions of numpy arrays: no I/O, no global state.

Scores are grouped by task: `groups[t]` holds task t's values, one per epoch (an array of shape (k_t,),
or (k_t, P) for P columns resampled together). The unit of sampling is the task (the benchmark is a
sample of tasks); a task's epochs are a sample of the model's generations for it. So:

- mean              the mean over tasks of each task's mean over its epochs (one epoch: the plain mean);
- standard error    sd(task means, ddof=1) / sqrt(n): the task means already carry the epochs' spread;
- bootstrap         two-stage: draw n tasks with replacement, then, for each drawn task, draw its k_t
                    epochs with replacement; the statistic is the mean of the drawn tasks' epoch means.
                    10,000 resamples from a fixed seed: the same input always gives the same interval.
                    Intervals are percentile intervals (linear interpolation, numpy's default).
- paired bootstrap  the same draw of tasks for both models (their difference is a difference on the same
                    tasks), each model's epochs drawn independently within the task.
- agreement         Cohen's kappa of two label sequences, Pearson's r, Spearman's rho (Pearson on average
                    ranks) and Kendall's tau-b (ties counted as in tau-b).

A statistic that is undefined for its input (no tasks, a constant series) is None, never 0 or NaN.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

N_RESAMPLES = 10_000
SEED = 20250928
LEVEL = 0.95
BLOCK = 1000  # at least this many resamples drawn and reduced at a time
DRAWS_PER_BLOCK = 2_000_000  # ... and more while a block draws fewer (task, epoch) slots than this: a small
# bootstrap is one block (its cost is numpy's per-call overhead), a large one stays within ~50 MB

Groups = Sequence[np.ndarray | Sequence[float]]


def as_groups(groups: Groups) -> list[np.ndarray]:
    """Each task's epochs as a float array of shape (k, P) with k >= 1; checks P agrees across tasks."""
    out = []
    width = None
    for i, g in enumerate(groups):
        arr = np.asarray(g, dtype=float)
        arr = arr.reshape(-1, 1) if arr.ndim <= 1 else arr
        if arr.ndim != 2 or arr.shape[0] < 1:
            raise ValueError(f"task {i}: expected at least one epoch, got shape {np.shape(g)}")
        if np.isnan(arr).any():
            raise ValueError(f"task {i}: NaN value (leave a task or epoch out instead)")
        if width is None:
            width = arr.shape[1]
        elif arr.shape[1] != width:
            raise ValueError(f"task {i}: {arr.shape[1]} columns, the first task has {width}")
        out.append(arr)
    return out


def _squeeze(x: np.ndarray, columns: bool):
    """Drop the column axis of a one-column input: a float for a per-column vector, else an array."""
    if columns:
        return x
    return float(x[0]) if x.ndim == 1 else x[..., 0]


def _is_columns(groups: Groups) -> bool:
    return any(np.ndim(g) == 2 for g in groups)


def task_means(groups: Groups) -> np.ndarray:
    """(n_tasks, P): each task's mean over its epochs."""
    return np.stack([g.mean(axis=0) for g in as_groups(groups)])


def mean(groups: Groups) -> float | np.ndarray | None:
    """Mean over tasks of the tasks' epoch means (None without tasks)."""
    if len(groups) == 0:
        return None
    return _squeeze(task_means(groups).mean(axis=0), _is_columns(groups))


def stderr(groups: Groups) -> float | np.ndarray | None:
    """Standard error of `mean`: sd of the task means (ddof=1) / sqrt(n); None with fewer than 2 tasks."""
    if len(groups) < 2:
        return None
    tm = task_means(groups)
    return _squeeze(tm.std(axis=0, ddof=1) / np.sqrt(len(tm)), _is_columns(groups))


@dataclass(frozen=True)
class PlanBlock:
    """One block of resamples: `tasks[b, j]` is the task drawn at position j of resample b; when some
    task has more than one epoch, `epochs[s][b, j, i]` (uniform in [0, 1)) picks, for side s (one side,
    or two for a paired bootstrap), the i-th epoch drawn at that position: epoch floor(u * k) of the
    drawn task's k epochs (only i < k are used)."""

    tasks: np.ndarray
    epochs: tuple[np.ndarray | None, ...]


def resample_plan(n_tasks: int, max_epochs: int, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                  sides: int = 1) -> Iterator[PlanBlock]:
    """The random draws of a bootstrap, block by block: the tasks, then each side's epochs. Depends only
    on its arguments: two bootstraps over the same number of tasks and epochs see the same draws."""
    if n_tasks < 1 or max_epochs < 1 or n_resamples < 1:
        raise ValueError("a bootstrap needs at least one task, one epoch and one resample")
    rng = np.random.default_rng(seed)
    block = max(BLOCK, DRAWS_PER_BLOCK // (n_tasks * max_epochs))
    done = 0
    while done < n_resamples:
        b = min(block, n_resamples - done)
        tasks = rng.integers(0, n_tasks, size=(b, n_tasks))
        epochs = tuple(rng.random(size=(b, n_tasks, max_epochs)) if max_epochs > 1 else None
                       for _ in range(sides))
        yield PlanBlock(tasks, epochs)
        done += b


def _pad(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(values (T, K, P) padded with 0, epochs per task (T,))."""
    counts = np.array([g.shape[0] for g in groups])
    values = np.zeros((len(groups), counts.max(), groups[0].shape[1]))
    for t, g in enumerate(groups):
        values[t, : g.shape[0]] = g
    return values, counts


def _block_means(values: np.ndarray, counts: np.ndarray, tasks: np.ndarray,
                 epochs: np.ndarray | None) -> np.ndarray:
    """(b, P): each resample's mean over its drawn tasks of their drawn epochs' mean.

    Counted, not gathered: how often each (task, epoch) slot was drawn in each resample (one bincount),
    times the slot's value / (its task's epochs), summed, / tasks. The sums are einsum's own loops, one
    column at a time (a BLAS product of these small shapes spends more on its threads than on the sum)."""
    b, n_tasks = tasks.shape
    kmax = values.shape[1]
    slots = n_tasks * kmax
    weights = (values / counts[:, None, None]).reshape(slots, -1)
    rows = np.arange(b)[:, None] * slots
    if counts.max() == 1:  # one epoch per task: a drawn task is its slot
        flat = (rows + tasks).ravel()
    else:
        if epochs is None:
            raise ValueError("tasks with several epochs need epoch draws")
        u = epochs[..., :kmax]
        if counts.min() == kmax:  # every task has every epoch: no masking (the common case, and faster)
            pick = (u * kmax).astype(np.int64)  # floor: u >= 0
            np.minimum(pick, kmax - 1, out=pick)
            pick += (rows + tasks * kmax)[..., None]
            flat = pick.ravel()
        else:
            k = counts[tasks]  # (b, T)
            pick = np.minimum(np.floor(u * k[..., None]).astype(np.int64), (k - 1)[..., None])
            used = np.arange(kmax)[None, None, :] < k[..., None]  # (b, T, K): the first k draws of a task
            flat = (rows[..., None] + tasks[..., None] * kmax + pick)[used]
    drawn = np.bincount(flat, minlength=b * slots).reshape(b, slots)
    return np.stack([np.einsum("bs,s->b", drawn, weights[:, c]) for c in range(weights.shape[1])],
                    axis=1) / n_tasks


def bootstrap_means(groups: Groups, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The bootstrap distribution of `mean`: shape (n_resamples,), or (n_resamples, P) for columns."""
    gs = as_groups(groups)
    if not gs:
        raise ValueError("a bootstrap needs at least one task")
    values, counts = _pad(gs)
    out = np.concatenate([_block_means(values, counts, blk.tasks, blk.epochs[0])
                          for blk in resample_plan(len(gs), int(counts.max()), n_resamples, seed)])
    return _squeeze(out, _is_columns(groups))


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def bootstrap_ci(groups: Groups, level: float = LEVEL, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> tuple[float, float] | tuple[np.ndarray, np.ndarray] | None:
    """Percentile bootstrap interval of `mean` ((lo, hi); arrays for columns); None without tasks."""
    if len(groups) == 0:
        return None
    lo, hi = percentile_interval(bootstrap_means(groups, n_resamples, seed), level)
    if _is_columns(groups):
        return lo, hi
    return float(lo), float(hi)


@dataclass(frozen=True)
class Paired:
    """mean(a) - mean(b) over the same tasks, its bootstrap interval and two-sided p-value."""

    diff: float
    ci: tuple[float, float]
    p: float
    n_tasks: int

    @property
    def distinguishable(self) -> bool:
        """The interval excludes 0: the two means differ at the interval's level."""
        return self.ci[0] > 0 or self.ci[1] < 0


def paired_bootstrap(a: Groups, b: Groups, level: float = LEVEL, n_resamples: int = N_RESAMPLES,
                     seed: int = SEED) -> Paired | None:
    """Paired bootstrap of mean(a) - mean(b); a[t] and b[t] are the same task's epochs (their counts may
    differ). The p-value is two-sided: 2 * the smaller share of resampled differences on either side of
    0, each share counted as (m + 1) / (B + 1), so it is never 0 and is 1 when the difference is always 0.
    None without tasks."""
    if _is_columns(a) or _is_columns(b):
        raise ValueError("paired_bootstrap takes one column (paired_bootstrap_columns takes several)")
    got = paired_bootstrap_columns(a, b, level, n_resamples, seed)
    return None if got is None else got[0]


def paired_bootstrap_columns(a: Groups, b: Groups, level: float = LEVEL, n_resamples: int = N_RESAMPLES,
                             seed: int = SEED) -> list[Paired] | None:
    """`paired_bootstrap` of each of P columns at once (a[t], b[t] of shape (k, P)): the same draws for
    every column, each column's result what `paired_bootstrap` gives it alone."""
    ga, gb = as_groups(a), as_groups(b)
    if len(ga) != len(gb):
        raise ValueError(f"paired samples need the same tasks: {len(ga)} vs {len(gb)}")
    if not ga:
        return None
    if ga[0].shape[1] != gb[0].shape[1]:
        raise ValueError(f"paired samples need the same columns: {ga[0].shape[1]} vs {gb[0].shape[1]}")
    va, ca = _pad(ga)
    vb, cb = _pad(gb)
    kmax = int(max(ca.max(), cb.max()))
    d = np.concatenate([_block_means(va, ca, blk.tasks, blk.epochs[0]) - _block_means(vb, cb, blk.tasks, blk.epochs[1])
                        for blk in resample_plan(len(ga), kmax, n_resamples, seed, sides=2)])
    lo, hi = percentile_interval(d, level)
    below, above = (d <= 0).sum(axis=0), (d >= 0).sum(axis=0)
    diff = task_means(ga).mean(axis=0) - task_means(gb).mean(axis=0)
    return [Paired(diff=float(diff[c]), ci=(float(lo[c]), float(hi[c])),
                   p=min(1.0, 2.0 * (min(int(below[c]), int(above[c])) + 1) / (len(d) + 1)), n_tasks=len(ga))
            for c in range(d.shape[1])]


# ---------------------------------------------------------------- agreement


def cohen_kappa(a: Sequence, b: Sequence) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when undefined (no items, or both
    raters always give the same one label: chance agreement is 1)."""
    if len(a) != len(b):
        raise ValueError(f"kappa needs the same items: {len(a)} vs {len(b)} labels")
    if not len(a):
        return None
    labels = sorted(set(a) | set(b), key=str)
    index = {lab: i for i, lab in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    np.add.at(table, (np.array([index[x] for x in a]), np.array([index[x] for x in b])), 1)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) * table.sum(axis=0)).sum() / n**2)
    if expected >= 1.0:
        return None
    return float((observed - expected) / (1.0 - expected))


def _pair(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"correlation needs two series of the same length: {xa.shape} vs {ya.shape}")
    return xa, ya


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than 2 points or a constant series."""
    xa, ya = _pair(x, y)
    if len(xa) < 2:
        return None
    dx, dy = xa - xa.mean(), ya - ya.mean()
    denom = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    if denom == 0:
        return None
    return float(np.clip((dx * dy).sum() / denom, -1.0, 1.0))


def average_ranks(x: Sequence[float]) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    xa = np.asarray(x, dtype=float)
    order = np.argsort(xa, kind="stable")
    ranks = np.empty(len(xa))
    sorted_x = xa[order]
    i = 0
    while i < len(xa):
        j = i
        while j + 1 < len(xa) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks."""
    xa, ya = _pair(x, y)
    return pearson(average_ranks(xa), average_ranks(ya))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b: (concordant - discordant) / sqrt((n0 - ties in x) * (n0 - ties in y)) over all
    pairs; None with fewer than 2 points or when either series is constant."""
    xa, ya = _pair(x, y)
    if len(xa) < 2:
        return None
    i, j = np.triu_indices(len(xa), k=1)
    sx, sy = np.sign(xa[i] - xa[j]), np.sign(ya[i] - ya[j])
    n0 = len(i)
    tx, ty = int((sx == 0).sum()), int((sy == 0).sum())
    denom = np.sqrt(float(n0 - tx) * float(n0 - ty))
    if denom == 0:
        return None
    return float((sx * sy).sum() / denom)
