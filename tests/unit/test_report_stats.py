"""Reports with numbers a paper can print: epochs grouped into one run, 95% intervals and standard errors,
VFS_all / final_all, paired comparisons and rank ranges, judge agreement, and old outputs that predate
all of it. Built from eval.json trees written as the evaluator writes them (tests/fixtures_report.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from iwrbench.report import stats
from iwrbench.report.build import build_reports, leaderboard_text
from tests.fixtures_report import build_world, write_eval

M, M_SLUG = "openai/m", "openai__m"
N, N_SLUG = "openai/n", "openai__n"
JUDGE = "openai/judge"


def scores(final: float, ifs: float | None = None, vfs_all: float | None = None) -> dict:
    ifs = final if ifs is None else ifs
    vfs = (final - 0.7 * ifs) / 0.3
    out = {"IFS": ifs, "VFS": vfs, "low_level": vfs, "final": final, "ocr": vfs, "image": vfs}
    if vfs_all is not None:
        out.update(VFS_all=vfs_all, final_all=0.7 * ifs + 0.3 * vfs_all)
    return out


def report(result: Path, slug: str, judge: str = "offline") -> dict:
    return json.loads((result / "reports" / judge / f"{slug}.json").read_text())


@pytest.fixture
def epochs_world(tmp_path: Path):
    w = build_world(tmp_path)
    out = tmp_path / "epochs"
    t = w.task
    for e, final in ((1, 60.0), (2, 30.0), (3, 90.0)):
        write_eval(out, t("1"), M, None, verdicts=["pass", "fail"], scores=scores(final, vfs_all=final / 2), epoch=e)
    write_eval(out, t("2"), M, None, verdicts=["pass", "fail"], scores=scores(10.0, vfs_all=5.0), epoch=1)
    write_eval(out, t("2"), M, None, status="error", error_kind="infrastructure", error="browser died", epoch=2)
    write_eval(out, t("2"), M, None, verdicts=["pass", "fail"], scores=scores(20.0, vfs_all=10.0), epoch=3)
    write_eval(out, t("3"), M, None, verdicts=["pass", "fail"], scores=scores(40.0, vfs_all=20.0), epoch=1)
    write_eval(out, t("5"), M, None, verdicts=["pass", "fail"], scores=scores(50.0, vfs_all=25.0), epoch=1)
    write_eval(out, t("5"), M, None, page=False, error="no generated page", error_kind="no_page",
               scores={"IFS": 0.0, "VFS": 0.0, "final": 0.0, "VFS_all": 0.0, "final_all": 0.0}, epoch=2)
    write_eval(out, t("5"), M, None, verdicts=["pass", "fail"], scores=scores(70.0, vfs_all=35.0), epoch=3)
    # The same model run with the paper's protocol: a run of its own, never averaged in.
    write_eval(out, t("1"), M, None, verdicts=["pass", "pass"], scores=scores(99.0), variant=("paper",))
    build_reports(out, w.tasks)
    return w, out


def test_epochs_of_a_run_are_one_report_and_variants_stay_apart(epochs_world):
    _w, out = epochs_world
    folder = out / "reports" / "offline"
    assert sorted(p.stem for p in folder.glob("*.csv")) == [M_SLUG, f"{M_SLUG}--paper"]  # no "@epoch-2" model
    rep = report(out, M_SLUG)
    rows = {r["task_id"]: r for r in rep["tasks"]}
    assert rep["counts"]["epochs"] == 3 and rep["counts"]["evaluations"] == 9
    assert rows["1"]["final"] == 60.0 and rows["1"]["epochs"] == 3
    assert [e["final"] for e in rows["1"]["per_epoch"]] == [60.0, 30.0, 90.0]
    assert rows["2"]["final"] == 15.0 and rows["2"]["epochs"] == 2  # the broken epoch is not a 0
    assert rows["3"]["final"] == 40.0 and rows["3"]["epochs"] == 1
    assert rows["5"]["final"] == pytest.approx(40.0) and rows["5"]["error_kind"] is None  # a no-page epoch is 0
    assert rows["4"]["status"] == "missing"
    assert {k: rep["errors"][0][k] for k in ("task_id", "epoch")} == {"task_id": "2", "epoch": 2}
    assert rep["counts"]["errors"] == 1 and rep["counts"]["no_page"] == 1
    assert rep["missing"] == ["4"] and rep["complete"] is False
    assert rep["missing_epochs"] == [{"task_id": "3", "epoch": 2}, {"task_id": "3", "epoch": 3}]
    # The mean is over tasks of the epoch means, the interval resamples epochs within their task.
    groups = [[60.0, 30.0, 90.0], [10.0, 20.0], [40.0], [50.0, 0.0, 70.0]]
    assert rep["mean"]["final"] == pytest.approx(stats.mean(groups))
    lo, hi = stats.bootstrap_ci(groups)
    assert rep["ci95"]["final"] == [round(lo, 4), round(hi, 4)]
    assert rep["stderr"]["final"] == round(stats.stderr(groups), 4)
    assert rep["ci95"]["final"][0] < rep["mean"]["final"] < rep["ci95"]["final"][1]
    all_groups = [[30.0, 15.0, 45.0], [5.0, 10.0], [20.0], [25.0, 0.0, 35.0]]
    assert rep["mean"]["VFS_all"] == pytest.approx(stats.mean(all_groups))
    # Per category too: Shopping holds tasks 1 and 2.
    shop = rep["by_category"]["domain"]["Shopping"]
    assert shop["final"] == pytest.approx(37.5) and shop["ci95"]["final"] == [
        round(x, 4) for x in stats.bootstrap_ci([[60.0, 30.0, 90.0], [10.0, 20.0]])]
    assert shop["stderr"]["final"] == round(stats.stderr([[60.0, 30.0, 90.0], [10.0, 20.0]]), 4)
    paper = report(out, f"{M_SLUG}--paper")
    assert paper["mean"]["final"] == 99.0 and paper["counts"]["epochs"] == 1
    assert (paper["model"], paper["variant"]) == ("openai/m", ["paper"])
    text = leaderboard_text(out, "offline")
    assert "@epoch" not in text and "openai/m [paper]" in text and " epochs " in text.splitlines()[1] + " "
    table = list(csv.DictReader(io.StringIO((out / "reports" / "offline" / f"{M_SLUG}.csv").read_text())))
    assert [r["epochs"] for r in table] == ["3", "2", "1", "0", "3"]  # a no-page epoch counts (as 0)
    md = (out / "reports" / "offline" / f"{M_SLUG}.md").read_text()
    assert "95% CI" in md and "std. error" in md and "Missing epochs" in md and "task 2 epoch 2" in md
    html = (out / "reports" / "offline" / "index.html").read_text()
    assert "openai/m [paper]" in html and 'id="run-1--openai__m--epoch-3"' in html and "Final_all" in html and html.count("<svg") == 3


def test_reports_are_deterministic(epochs_world):
    _w, out = epochs_world
    folder = out / "reports" / "offline"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    build_reports(out, _w.tasks)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_old_outputs_without_new_fields_still_report(report_world):
    """eval.json files written before VFS_all, final_all, visual_last_state and epochs existed."""
    for path in report_world.result.glob("*/*/eval/*/eval.json"):
        data = json.loads(path.read_text())
        for key in ("VFS_all", "final_all"):
            data["scores"].pop(key, None)
        for step in data["steps"]:
            step.pop("visual_last_state", None)
        path.write_text(json.dumps(data))
    build_reports(report_world.result, report_world.tasks)
    rep = report(report_world.result, "openai__gpt-4o")
    assert rep["mean"]["VFS_all"] is None and rep["ci95"]["VFS_all"] is None and rep["mean_n"]["VFS_all"] == 0
    assert rep["mean"]["final_all"] is None and rep["stderr"]["final_all"] is None
    assert rep["ci95"]["final"] is not None and rep["counts"]["epochs"] == 1
    rows = {r["task_id"]: r for r in rep["tasks"]}
    assert rows["2"]["error_kind"] == "no_page" and rows["2"]["VFS_all"] is None  # never a made-up 0
    assert "Final_all" in leaderboard_text(report_world.result, "offline")


def test_oracle_interval_is_a_point():
    assert stats.bootstrap_ci([[100.0]] * 8) == (100.0, 100.0)


@pytest.fixture
def three_models(tmp_path: Path):
    w = build_world(tmp_path)
    out = tmp_path / "three"
    finals = {"openai/x": [90.0, 90.0, 90.0, 90.0, 90.0], "openai/y": [50.0, 60.0, 40.0, 55.0, 45.0],
              "openai/z": [52.0, 58.0, 41.0, 54.0, 46.0]}
    for model, values in finals.items():
        for tid, final in zip(("1", "2", "3", "4", "5"), values, strict=True):
            steps = ["pass"] * len(w.task(tid).actions)
            write_eval(out, w.task(tid), model, None, verdicts=steps, scores=scores(final))
    build_reports(out, w.tasks)
    return out


def test_paired_comparisons_and_rank_ranges(three_models):
    out = three_models
    comp = json.loads((out / "reports" / "offline" / "comparisons.json").read_text())
    assert comp["method"]["resamples"] == 10_000 and len(comp["pairs"]) == 3
    assert [(r["model"], r["label"]) for r in comp["ranks"]] == [("openai/x", "1"), ("openai/z", "2-3"),
                                                                 ("openai/y", "2-3")]
    pair = {(p["a"], p["b"]): p for p in comp["pairs"]}
    xy = pair[("openai/x", "openai/y")]
    assert xy["final"]["tasks"] == 5 and xy["final"]["diff"] == 40.0 and xy["final"]["distinguishable"]
    assert xy["final"]["p"] == pytest.approx(2 / 10_001, abs=1e-6) and xy["IFS"]["diff"] == 40.0
    zy = pair[("openai/z", "openai/y")]
    want = stats.paired_bootstrap([[52.0], [58.0], [41.0], [54.0], [46.0]], [[50.0], [60.0], [40.0], [55.0], [45.0]])
    assert zy["final"]["diff"] == pytest.approx(0.2) and not zy["final"]["distinguishable"]
    assert zy["final"]["ci95"] == [round(want.ci[0], 4), round(want.ci[1], 4)] and zy["final"]["p"] > 0.5
    lines = leaderboard_text(out, "offline").splitlines()
    assert [ln.split()[0] for ln in lines[3:6]] == ["1", "2-3", "2-3"]
    md = (out / "reports" / "offline" / "leaderboard.md").read_text()
    board = md.split("\n\n")[1].splitlines()  # the table: header, rule, one row per model
    assert [ln.split("|")[1].strip() for ln in board[2:]] == ["1", "2-3", "2-3"]
    assert "## Pairs that cannot be told apart on Final" in md and "| openai/z | openai/y | 5 | 0.20 |" in md
    html = (out / "reports" / "offline" / "index.html").read_text()
    assert '<td class="l">2-3</td>' in html and "cannot be told apart on Final (1)" in html


def test_judge_agreement_by_hand(tmp_path: Path):
    w = build_world(tmp_path)
    out = tmp_path / "agree"
    t = w.task
    # Model M: offline verdicts vs the model judge's, task by task; model N scores lower under both.
    plan = {"1": (["pass", "fail"], ["pass", "pass"], 50.0, 100.0), "2": (["pass", "pass"], ["pass", "pass"], 100.0, 100.0),
            "3": (["fail", "fail"], ["fail", "pass"], 0.0, 0.0)}
    for tid, (off, llm, ifs_off, ifs_llm) in plan.items():
        write_eval(out, t(tid), M, None, verdicts=off, scores=scores(ifs_off))
        write_eval(out, t(tid), M, JUDGE, verdicts=llm, scores=scores(ifs_llm))
        write_eval(out, t(tid), N, None, verdicts=["fail", "fail"], scores=scores(ifs_off / 4))
        write_eval(out, t(tid), N, JUDGE, verdicts=["fail", "fail"], scores=scores(ifs_llm / 4))
    build_reports(out, w.tasks)
    folder = out / "reports" / "agreement"
    assert sorted(p.name for p in folder.iterdir()) == ["offline__vs__openai__judge.json",
                                                        "offline__vs__openai__judge.md"]
    rep = json.loads((folder / "offline__vs__openai__judge.json").read_text())
    m = rep["models"][M_SLUG]
    # 6 steps: (p,p) (f,p) (p,p) (p,p) (f,f) (f,p): 4 agree; offline passes 3/6, the judge 5/6:
    # p_e = .5*5/6 + .5*1/6 = .5, kappa = (4/6 - .5) / .5 = 1/3.
    assert m["steps"]["compared"] == 6 and m["steps"]["agree"] == 4 and m["steps"]["kappa"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["steps"]["confusion"]["fail"]["pass"] == 2
    # IFS (50, 100, 0) vs (100, 100, 0): r = 5000 / sqrt(5000 * 6666.7) = .866; ranks (2,3,1) vs (2.5,2.5,1): .866
    assert m["ifs_pearson"] == pytest.approx(0.866, abs=1e-3) and m["ifs_spearman"] == pytest.approx(0.866, abs=1e-3)
    assert rep["ranking"]["models"] == 2 and rep["ranking"]["kendall_tau_final"] == 1.0
    assert rep["steps"]["compared"] == 12  # model N's steps too (all fail under both)
    assert rep["ifs"]["evaluations"] == 6
    md = (folder / "offline__vs__openai__judge.md").read_text()
    assert "Cohen's kappa" in md and "Kendall tau-b" in md
    for judge in ("offline", "openai__judge"):
        html = (out / "reports" / judge / "index.html").read_text()
        assert "Agreement with other judges" in html and "../agreement/offline__vs__openai__judge.md" in html
    # The model judge's results gone: the agreement report goes too.
    for path in out.glob(f"*/*/eval/{'openai__judge'}"):
        for f in path.iterdir():
            f.unlink()
        path.rmdir()
    build_reports(out, w.tasks)
    assert not list(folder.iterdir())
