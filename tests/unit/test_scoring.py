"""IFS prefix rule, the undecided/error policy, VFS from available parts, Final."""

from __future__ import annotations

import pytest

from iwrbench.records.evaluation import Scores, StepRecord, StepVisual, Verdict
from iwrbench.scoring.scores import (
    compute_scores,
    final,
    judge_error,
    success_steps,
    verdict_counts,
    vfs,
    vfs_basis,
)


def step(i, verdict="pass", executed=True, visual=None):
    return StepRecord(index=i, type="Click", description=f"a{i}", executed=executed,
                      assertion=Verdict(verdict=verdict, source="offline"), visual=visual)


def vis(low=None, high=None, ocr=None, image=None, high_source=None, detail=None):
    return StepVisual(low_level=low, high_level=high, ocr=ocr, image=image, high_level_source=high_source,
                      high_level_detail=detail)


def test_prefix_stops_at_first_non_pass_and_counts_only_executed():
    steps = [step(1), step(2), step(3, "fail"), step(4), step(5)]
    assert success_steps(steps) == 2
    assert success_steps([step(1), step(2, "undecided"), step(3)]) == 1  # undecided does not hold
    assert success_steps([step(1, executed=False), step(2)]) == 0  # a pass that was not executed is no pass
    assert success_steps([step(2), step(1, "fail")]) == 0  # order by index, not by list position
    scores, n = compute_scores(steps, vis(low=80.0), 5, has_page=True)
    assert n == 2 and scores.IFS == 40.0


def test_paper_formula_check():
    # design.md: GPT-5 low 68.29, high 60.21 -> VFS 64.25; IFS 24.39 -> Final 36.35
    assert vfs(68.29, 60.21) == pytest.approx(64.25)
    assert final(24.39, 64.25) == pytest.approx(36.35, abs=0.005)


def test_vfs_uses_available_parts_and_means_over_scored_steps():
    steps = [step(1, visual=vis(low=60.0, high=40.0, ocr=70.0, image=50.0)), step(2),
             step(3, visual=vis(low=80.0, high=60.0, ocr=90.0, image=70.0))]
    initial = vis(low=100.0, high=80.0, ocr=100.0, image=100.0)
    s, _ = compute_scores(steps, initial, 3, has_page=True)
    assert s.low_level == 80.0 and s.high_level == 60.0 and s.VFS == 70.0
    assert s.ocr == pytest.approx(86.67) and s.image == pytest.approx(73.33)
    assert s.final == pytest.approx(0.7 * 100 + 0.3 * 70)
    assert vfs_basis(s) == "0.5*low_level + 0.5*high_level"
    offline, _ = compute_scores([step(1, visual=vis(low=60.0))], vis(low=100.0), 1, has_page=True)
    assert offline.high_level is None and offline.VFS == 80.0  # VFS = low_level offline, never high=0
    assert vfs_basis(offline) == "low_level only (no high-level judge)"


def test_no_visual_scored_leaves_vfs_and_final_empty_not_zero():
    s, _ = compute_scores([step(1)], None, 1, has_page=True)
    assert s.IFS == 100.0 and s.VFS is None and s.final is None and s.low_level is None


def test_no_page_scores_zero_everywhere():
    s, n = compute_scores([], None, 4, has_page=False)
    assert n == 0 and s == Scores(IFS=0.0, VFS=0.0, low_level=0.0, final=0.0, ocr=0.0, image=0.0,
                                  VFS_all=0.0, final_all=0.0)
    assert compute_scores([], None, 4, has_page=False, high_level=True)[0].high_level == 0.0


def test_judge_error_in_prefix_is_infrastructure_but_after_a_failure_is_not():
    assert judge_error([step(1), step(2, "error"), step(3)]).startswith("the assertion judge failed on action 2")
    assert judge_error([step(1), step(2, "fail"), step(3, "error")]) is None
    assert judge_error([step(1), step(2)]) is None
    broken_rubric = vis(low=50.0, high=None, high_source="openai/judge", detail={"error": "no readable rubric"})
    assert "rubric judge failed on step 0" in judge_error([step(1)], broken_rubric)
    assert judge_error([step(1, visual=broken_rubric)]) is not None
    assert judge_error([step(1, visual=vis(low=50.0))]) is None  # offline: no rubric attempted


def test_verdict_counts():
    assert verdict_counts([step(1), step(2, "undecided"), step(3, "undecided")]) == {"pass": 1, "undecided": 2}


def test_vfs_all_counts_unreached_checkpoints_and_vfs_stays_as_published():
    # A static page: step 0 looks right (low 100), action 1 never performs, so actions 1-3 (flagged) have
    # no screenshot of their own; against the last captured state (step 0) they score 40, 30 and 20.
    stand_in = [vis(low=40.0), vis(low=30.0), vis(low=20.0)]
    steps = [StepRecord(index=i, type="Click", description=f"a{i}", executed=False,
                        assertion=Verdict(verdict="fail", source="replay"), visual_last_state=stand_in[i - 1])
             for i in (1, 2, 3)]
    s, _ = compute_scores(steps, vis(low=100.0), 3, has_page=True)
    assert s.VFS == 100.0 and s.final == 30.0  # unchanged: only step 0 was reached
    assert s.VFS_all == pytest.approx((100 + 40 + 30 + 20) / 4) and s.final_all == pytest.approx(0.3 * 47.5)
    # A step's own visual wins over a stand-in; with no stand-ins VFS_all == VFS.
    steps[0].visual, steps[0].executed = vis(low=90.0), True
    s, _ = compute_scores(steps, vis(low=100.0), 3, has_page=True)
    assert s.VFS == 95.0 and s.VFS_all == pytest.approx((100 + 90 + 30 + 20) / 4)
    plain, _ = compute_scores([step(1, visual=vis(low=60.0))], vis(low=100.0), 1, has_page=True)
    assert plain.VFS_all == plain.VFS == 80.0 and plain.final_all == plain.final
    # Both parts: low and high each averaged over every checkpoint, then 0.5/0.5.
    both = [StepRecord(index=1, type="Click", description="a1", assertion=Verdict(verdict="fail", source="replay"),
                       visual_last_state=vis(low=20.0, high=10.0, high_source="j"))]
    s, _ = compute_scores(both, vis(low=100.0, high=80.0, high_source="j"), 1, has_page=True)
    assert s.VFS == 90.0 and s.VFS_all == pytest.approx(0.5 * 60 + 0.5 * 45)
    # A rubric failure on a stand-in leaves VFS_all empty, and the published scores alone.
    both[0].visual_last_state = vis(low=20.0, high=None, high_source="j", detail={"error": "timeout"})
    s, _ = compute_scores(both, vis(low=100.0, high=80.0, high_source="j"), 1, has_page=True)
    assert s.VFS == 90.0 and s.VFS_all is None and s.final_all is None
    assert judge_error(both, vis(low=100.0, high=80.0, high_source="j")) is None
    # No page: zero everywhere, the new fields included.
    none, _ = compute_scores([], None, 1, has_page=False)
    assert none.VFS_all == 0.0 and none.final_all == 0.0
