"""iwrbench.report.stats against values worked out by hand on small fixed arrays, and against second
implementations written here as plain Python loops (slow, obviously right)."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from iwrbench.report import stats

# ---------------------------------------------------------------- slow second implementations


def slow_quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default method), by hand."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def slow_resample_mean(groups: list[list[float]], tasks_row, epochs_row) -> float:
    """One resample, by loops: the drawn tasks, each with its drawn epochs."""
    total = 0.0
    for j, t in enumerate(tasks_row):
        epochs = groups[t]
        k = len(epochs)
        if k == 1:
            total += epochs[0]
            continue
        picks = [min(int(math.floor(epochs_row[j][i] * k)), k - 1) for i in range(k)]
        total += sum(epochs[p] for p in picks) / k
    return total / len(tasks_row)


def slow_bootstrap_from_plan(groups: list[list[float]], n: int, seed: int) -> tuple[float, float]:
    kmax = max(len(g) for g in groups)
    means = []
    for blk in stats.resample_plan(len(groups), kmax, n, seed):
        for b in range(len(blk.tasks)):
            ep = blk.epochs[0]
            means.append(slow_resample_mean(groups, blk.tasks[b].tolist(), None if ep is None else ep[b].tolist()))
    return slow_quantile(means, 0.025), slow_quantile(means, 0.975)


def independent_bootstrap(groups: list[list[float]], n: int, seed: int) -> tuple[float, float]:
    """The same two-stage bootstrap with Python's own random numbers: agrees within Monte Carlo error."""
    rng = random.Random(seed)
    means = []
    for _ in range(n):
        total = 0.0
        for _ in groups:
            epochs = groups[rng.randrange(len(groups))]
            total += sum(epochs[rng.randrange(len(epochs))] for _ in epochs) / len(epochs)
        means.append(total / len(groups))
    return slow_quantile(means, 0.025), slow_quantile(means, 0.975)


def slow_kappa(a: list[str], b: list[str]) -> float | None:
    labels = sorted(set(a) | set(b))
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pe = sum((a.count(lab) / n) * (b.count(lab) / n) for lab in labels)
    return None if pe == 1 else (po - pe) / (1 - pe)


def slow_pearson(x: list[float], y: list[float]) -> float | None:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def slow_ranks(x: list[float]) -> list[float]:
    """Rank of each value = 1 + (values below) + (equal values - 1) / 2."""
    return [1 + sum(v < xi for v in x) + (sum(v == xi for v in x) - 1) / 2 for xi in x]


def slow_kendall(x: list[float], y: list[float]) -> float | None:
    conc = disc = tx = ty = 0
    pairs = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        pairs += 1
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0:
            tx += 1
        if dy == 0:
            ty += 1
        if dx * dy > 0:
            conc += 1
        elif dx * dy < 0:
            disc += 1
    denom = math.sqrt((pairs - tx) * (pairs - ty))
    return None if denom == 0 else (conc - disc) / denom


# ---------------------------------------------------------------- by hand


def test_mean_and_stderr_by_hand():
    # Task means: 10, 20, 60 (the second task's epochs 10 and 30 average to 20) -> mean 30.
    groups = [[10.0], [10.0, 30.0], [60.0]]
    assert stats.mean(groups) == pytest.approx(30.0)
    # sd of (10, 20, 60) with ddof=1: sqrt(((-20)^2 + (-10)^2 + 30^2) / 2) = sqrt(700); / sqrt(3).
    assert stats.stderr(groups) == pytest.approx(math.sqrt(700) / math.sqrt(3))
    assert stats.stderr([[5.0]]) is None and stats.mean([]) is None and stats.bootstrap_ci([]) is None


def test_bootstrap_interval_by_hand():
    # A constant is its own interval: the oracle's [100, 100].
    assert stats.bootstrap_ci([[100.0]] * 8) == (100.0, 100.0)
    assert stats.bootstrap_ci([[100.0, 100.0, 100.0]] * 3) == pytest.approx((100.0, 100.0), abs=1e-9)
    # Two tasks 0 and 100: resampled means are 0, 50, 100 with chance 1/4, 1/2, 1/4, so the 2.5 % and
    # 97.5 % points are 0 and 100.
    assert stats.bootstrap_ci([[0.0], [100.0]]) == (0.0, 100.0)
    # One task with epochs 0 and 100: the same distribution, drawn within the task.
    assert stats.bootstrap_ci([[0.0, 100.0]]) == (0.0, 100.0)
    # The resampled means average to the mean (a check of the bookkeeping, not of randomness).
    groups = [[1.0], [2.0, 4.0], [10.0, 20.0, 30.0]]
    assert stats.bootstrap_means(groups).mean() == pytest.approx(stats.mean(groups), rel=0.02)


def test_bootstrap_is_deterministic_and_seeded():
    groups = [[v] for v in (3.1, 1.41, 4.59, 1.26, 5.35, 8.97, 2.93, 6.2)]
    assert stats.bootstrap_ci(groups) == stats.bootstrap_ci(groups)
    assert stats.bootstrap_ci(groups, seed=1) != stats.bootstrap_ci(groups, seed=2)
    assert len(stats.bootstrap_means(groups)) == stats.N_RESAMPLES == 10_000


def test_paired_bootstrap_by_hand():
    # The same difference on every task and epoch: the interval is that difference, and no resample
    # has a difference <= 0, so p = 2 * (0 + 1) / (B + 1).
    a = [[3.0], [5.0, 5.0], [9.0]]
    b = [[1.0], [3.0, 3.0, 3.0], [7.0]]
    got = stats.paired_bootstrap(a, b)
    assert got.diff == pytest.approx(2.0) and got.ci == pytest.approx((2.0, 2.0)) and got.distinguishable
    assert got.p == pytest.approx(2 / (stats.N_RESAMPLES + 1))
    # Identical models: every resampled difference is 0 -> p = 1, not distinguishable.
    same = stats.paired_bootstrap(a, a)
    assert same.diff == 0.0 and same.ci == (0.0, 0.0) and same.p == 1.0 and not same.distinguishable
    # Sign flips with the order.
    assert stats.paired_bootstrap(b, a).ci == pytest.approx((-2.0, -2.0))
    assert stats.paired_bootstrap([], []) is None
    with pytest.raises(ValueError):
        stats.paired_bootstrap(a, b[:2])


def test_kappa_by_hand():
    # 10 items: both pass 4, both fail 3, a pass / b fail 2, a fail / b pass 1.
    a = ["pass"] * 4 + ["fail"] * 3 + ["pass"] * 2 + ["fail"]
    b = ["pass"] * 4 + ["fail"] * 3 + ["fail"] * 2 + ["pass"]
    # p_o = 7/10; a passes 6/10, b passes 5/10: p_e = .6*.5 + .4*.5 = .5; kappa = (.7-.5)/.5 = .4
    assert stats.cohen_kappa(a, b) == pytest.approx(0.4)
    assert stats.cohen_kappa(a, a) == pytest.approx(1.0)
    assert stats.cohen_kappa(["pass"] * 3, ["pass"] * 3) is None  # chance agreement is 1: undefined
    assert stats.cohen_kappa([], []) is None
    # Complete disagreement on a balanced pair: p_o = 0, p_e = .5 -> -1.
    assert stats.cohen_kappa(["pass", "fail"], ["fail", "pass"]) == pytest.approx(-1.0)


def test_correlations_by_hand():
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
    assert stats.pearson(x, y) == pytest.approx(1.0)
    assert stats.pearson(x, y[::-1]) == pytest.approx(-1.0)
    # x = 1,2,3 and y = 1,3,2: dx = -1,0,1; dy = -1,1,0 -> r = 1 / sqrt(2 * 2) = .5
    assert stats.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert stats.pearson([1, 1, 1], [1, 2, 3]) is None and stats.pearson([1], [2]) is None
    # Ties get the mean rank: 10, 20, 20, 30 -> 1, 2.5, 2.5, 4.
    assert stats.average_ranks([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert stats.spearman([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)  # monotone, not linear
    # Kendall: pairs of (1,2,3) vs (1,3,2): (1,2)+ (1,3)+ (2,3)- -> (2-1)/3.
    assert stats.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    # tau-b with a tie in x: x=(1,1,2), y=(1,2,3): pairs (1,2) tie in x, (1,3)+, (2,3)+ ->
    # 2 / sqrt((3-1) * 3)
    assert stats.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert stats.kendall_tau([1, 1], [1, 2]) is None


# ---------------------------------------------------------------- against the slow implementations


@pytest.mark.parametrize("groups", [
    [[12.0], [50.0], [0.0], [100.0], [37.5], [80.0]],
    [[12.0, 30.0, 18.0], [50.0], [0.0, 100.0], [100.0, 90.0, 95.0], [37.5, 40.0]],
    [[12.0, 30.0, 18.0], [50.0, 40.0, 45.0], [0.0, 100.0, 50.0]],  # every task every epoch: the fast path
])
@pytest.mark.parametrize("draws_per_block", [stats.DRAWS_PER_BLOCK, 10])
def test_bootstrap_matches_the_slow_loop_exactly(groups, draws_per_block, monkeypatch):
    # One block (a small bootstrap), or blocks of 1,000 resamples with the last one partial.
    monkeypatch.setattr(stats, "DRAWS_PER_BLOCK", draws_per_block)
    lo, hi = stats.bootstrap_ci(groups, n_resamples=3500, seed=7)
    slo, shi = slow_bootstrap_from_plan(groups, 3500, 7)
    assert (lo, hi) == pytest.approx((slo, shi), abs=1e-9)


def test_bootstrap_agrees_with_an_independent_implementation():
    rng = np.random.default_rng(3)
    groups = [list(rng.uniform(0, 100, size=rng.integers(1, 4))) for _ in range(12)]
    lo, hi = stats.bootstrap_ci(groups)
    ilo, ihi = independent_bootstrap(groups, 10_000, seed=11)
    width = hi - lo
    assert lo == pytest.approx(ilo, abs=0.06 * width) and hi == pytest.approx(ihi, abs=0.06 * width)
    # Epochs add within-task spread: the interval is wider than with the task means alone.
    means_only = [[sum(g) / len(g)] for g in groups]
    lo1, hi1 = stats.bootstrap_ci(means_only)
    assert hi - lo > hi1 - lo1


def test_columns_are_resampled_together():
    groups = [np.array([[10.0, 1.0], [30.0, 3.0]]), np.array([[50.0, 5.0]]), np.array([[0.0, 0.0]])]
    lo, hi = stats.bootstrap_ci(groups)
    for col in range(2):
        single = stats.bootstrap_ci([g[:, col] for g in groups])
        assert (lo[col], hi[col]) == pytest.approx(single)
    assert stats.mean(groups).tolist() == pytest.approx([(20 + 50 + 0) / 3, (2 + 5 + 0) / 3])


def test_paired_bootstrap_matches_the_slow_loop():
    a = [[60.0, 70.0], [20.0], [90.0, 95.0, 85.0], [40.0], [55.0]]
    b = [[50.0], [25.0, 15.0], [80.0], [45.0, 35.0], [30.0]]
    got = stats.paired_bootstrap(a, b, n_resamples=2500, seed=5)
    diffs = []
    for blk in stats.resample_plan(len(a), 3, 2500, 5, sides=2):
        for r in range(len(blk.tasks)):
            row = blk.tasks[r].tolist()
            diffs.append(slow_resample_mean(a, row, blk.epochs[0][r].tolist())
                         - slow_resample_mean(b, row, blk.epochs[1][r].tolist()))
    assert got.ci == pytest.approx((slow_quantile(diffs, 0.025), slow_quantile(diffs, 0.975)), abs=1e-9)
    below, above = sum(d <= 0 for d in diffs), sum(d >= 0 for d in diffs)
    assert got.p == pytest.approx(min(1.0, 2 * min(below + 1, above + 1) / (len(diffs) + 1)))
    assert got.diff == pytest.approx((65 + 20 + 90 + 40 + 55) / 5 - (50 + 20 + 80 + 40 + 30) / 5)


def test_paired_p_value_is_calibrated_on_pure_noise():
    """Two models with the same scores up to noise: p is spread out (not piled near 0)."""
    rng = np.random.default_rng(0)
    ps = []
    for _ in range(40):
        base = rng.uniform(0, 100, 30)
        a = [[v + rng.normal(0, 5)] for v in base]
        b = [[v + rng.normal(0, 5)] for v in base]
        ps.append(stats.paired_bootstrap(a, b, n_resamples=2000).p)
    assert sum(p < 0.05 for p in ps) <= 6  # ~2 expected
    assert np.median(ps) > 0.25


def test_agreement_statistics_match_the_slow_loops():
    rng = random.Random(4)
    for _ in range(30):
        n = rng.randrange(2, 25)
        a = [rng.choice(["pass", "fail", "undecided"]) for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice(["pass", "fail", "error"]) for x in a]
        want = slow_kappa(a, b)
        got = stats.cohen_kappa(a, b)
        assert (got is None) == (want is None) and (got is None or got == pytest.approx(want))
        x = [float(rng.randrange(0, 6)) for _ in range(n)]  # small range: many ties
        y = [v + rng.choice([-2.0, 0.0, 1.0, 3.0]) for v in x]
        for fast, slow in ((stats.pearson, slow_pearson),
                           (stats.spearman, lambda p, q: slow_pearson(slow_ranks(p), slow_ranks(q))),
                           (stats.kendall_tau, slow_kendall)):
            got, want = fast(x, y), slow(x, y)
            assert (got is None) == (want is None), (fast.__name__, x, y)
            assert got is None or got == pytest.approx(want), fast.__name__


def test_agreement_statistics_match_scipy_where_installed():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(9)
    x = rng.integers(0, 5, 40).astype(float)
    y = x + rng.integers(-2, 3, 40)
    assert stats.pearson(x, y) == pytest.approx(scipy_stats.pearsonr(x, y).statistic)
    assert stats.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert stats.kendall_tau(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        stats.bootstrap_ci([[]])
    with pytest.raises(ValueError):
        stats.bootstrap_ci([[float("nan")]])
    with pytest.raises(ValueError):
        stats.cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        stats.pearson([1, 2], [1, 2, 3])


def test_paired_columns_match_one_column_at_a_time():
    a = [np.array([[60.0, 1.0], [70.0, 0.0]]), np.array([[20.0, 0.0]]), np.array([[90.0, 1.0], [95.0, 1.0], [85.0, 0.0]])]
    b = [np.array([[50.0, 0.0]]), np.array([[25.0, 1.0], [15.0, 0.0]]), np.array([[80.0, 0.0]])]
    both = stats.paired_bootstrap_columns(a, b)
    for col in range(2):
        single = stats.paired_bootstrap([g[:, col] for g in a], [g[:, col] for g in b])
        assert both[col].ci == pytest.approx(single.ci) and both[col].p == single.p
        assert both[col].diff == pytest.approx(single.diff)
