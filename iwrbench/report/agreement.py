"""Agreement between two judges that scored the same model's pages (two judge folders):
outputs/reports/agreement/<judge_a>__vs__<judge_b>.{json,md} and a section of each judge's index.html.

- steps: per-step verdict agreement and Cohen's kappa over the steps both replays executed and both
  judges gave a verdict on (a step not reached, or passed on execution alone, is no judge's verdict).
  The judges' replays can differ (a model judge also picks the elements), so a step may be executed
  under one judge and not under the other: such steps are not compared, and the count says how many were;
- IFS: Pearson's r and Spearman's rho of the per-task IFS over the evaluations (task, epoch) both
  judges have in their mean;
- ranking: Kendall's tau-b of the models' mean Final (and IFS) over those same evaluations.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from iwrbench import layout
from iwrbench.fsutil import atomic_write_json, atomic_write_text, read_json
from iwrbench.judges.base import EXECUTION_SOURCE
from iwrbench.records.evaluation import StepRecord
from iwrbench.report import stats
from iwrbench.report.text import fmt, md_table, md_text

if TYPE_CHECKING:
    from iwrbench.report.rows import ModelResult, TaskRow

AGREEMENT_MARK = "iwrbench-judge-agreement"
AGREEMENT_FORMAT = 1
AGREEMENT_DIR = "agreement"
PAIR_SEP = "__vs__"
NOT_A_VERDICT = frozenset({"replay", EXECUTION_SOURCE})
VERDICTS = ("pass", "fail", "undecided", "error")


def pair_name(a: str, b: str) -> str:
    return f"{a}{PAIR_SEP}{b}"


def judged(step: StepRecord) -> bool:
    return step.executed and step.assertion.source not in NOT_A_VERDICT


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _common_rows(ma: ModelResult, mb: ModelResult) -> list[tuple[str, int, TaskRow, TaskRow]]:
    """(task, epoch, row under a, row under b) for the evaluations both judges have in their mean."""
    out = []
    for tid, per_a in ma.epoch_rows.items():
        per_b = mb.epoch_rows.get(tid, {})
        for e, ra in sorted(per_a.items()):
            rb = per_b.get(e)
            if rb is not None and ra.counted and rb.counted:
                out.append((tid, e, ra, rb))
    return out


def _step_labels(ma: ModelResult, mb: ModelResult, common) -> tuple[list[str], list[str], int]:
    """Verdict pairs of the steps both judged, and how many steps of common evaluations were not comparable."""
    la: list[str] = []
    lb: list[str] = []
    skipped = 0
    for tid, e, _ra, _rb in common:
        rec_a, rec_b = ma.records.get((tid, e)), mb.records.get((tid, e))
        if rec_a is None or rec_b is None:
            continue
        steps_b = {s.index: s for s in rec_b.steps}
        for s in rec_a.steps:
            t = steps_b.get(s.index)
            if t is not None and judged(s) and judged(t):
                la.append(s.assertion.verdict)
                lb.append(t.assertion.verdict)
            elif t is not None and (judged(s) or judged(t)):
                skipped += 1
    return la, lb, skipped


def _steps_summary(la: list[str], lb: list[str], skipped: int) -> dict[str, Any]:
    agree = sum(x == y for x, y in zip(la, lb, strict=True))
    confusion = Counter(zip(la, lb, strict=True))
    return {"compared": len(la), "agree": agree, "agreement": _r(100.0 * agree / len(la)) if la else None,
            "kappa": _r(stats.cohen_kappa(la, lb)), "judged_by_one_only": skipped,
            "confusion": {va: {vb: confusion.get((va, vb), 0) for vb in VERDICTS} for va in VERDICTS}}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def agreement(judge_a: str, results_a: list[ModelResult], judge_b: str,
              results_b: list[ModelResult]) -> dict[str, Any] | None:
    """The agreement report of two judge folders, or None when they share no evaluated run."""
    by_slug = {m.slug: m for m in results_b}
    models: dict[str, Any] = {}
    all_la: list[str] = []
    all_lb: list[str] = []
    all_skipped = 0
    ifs_a: list[float] = []
    ifs_b: list[float] = []
    for ma in results_a:
        mb = by_slug.get(ma.slug)
        if mb is None:
            continue
        common = _common_rows(ma, mb)
        if not common:
            continue
        la, lb, skipped = _step_labels(ma, mb, common)
        all_la += la
        all_lb += lb
        all_skipped += skipped
        pairs = [(ra.IFS, rb.IFS) for _t, _e, ra, rb in common if ra.IFS is not None and rb.IFS is not None]
        xa, xb = [p[0] for p in pairs], [p[1] for p in pairs]
        ifs_a += xa
        ifs_b += xb
        finals = [(ra.final, rb.final) for _t, _e, ra, rb in common if ra.final is not None and rb.final is not None]
        models[ma.slug] = {
            "model": ma.label, "evaluations": len(common), "steps": _steps_summary(la, lb, skipped),
            "ifs_pearson": _r(stats.pearson(xa, xb)), "ifs_spearman": _r(stats.spearman(xa, xb)),
            "mean_IFS": [_r(_mean(xa)), _r(_mean(xb))],
            "mean_final": [_r(_mean([f[0] for f in finals])), _r(_mean([f[1] for f in finals]))]}
    if not models:
        return None
    by_final = [m for m in models.values() if None not in m["mean_final"]]
    by_ifs = [m for m in models.values() if None not in m["mean_IFS"]]
    return {
        "report": AGREEMENT_MARK, "format": AGREEMENT_FORMAT, "judges": [judge_a, judge_b],
        "models": models,
        "steps": _steps_summary(all_la, all_lb, all_skipped),
        "ifs": {"evaluations": len(ifs_a), "pearson": _r(stats.pearson(ifs_a, ifs_b)),
                "spearman": _r(stats.spearman(ifs_a, ifs_b))},
        "ranking": {"models": len(by_final),
                    "kendall_tau_final": _r(stats.kendall_tau([m["mean_final"][0] for m in by_final],
                                                              [m["mean_final"][1] for m in by_final])),
                    "models_ifs": len(by_ifs),
                    "kendall_tau_ifs": _r(stats.kendall_tau([m["mean_IFS"][0] for m in by_ifs],
                                                            [m["mean_IFS"][1] for m in by_ifs]))},
        "notes": [
            "Steps compared: executed in both replays and given a verdict by both judges; a step not "
            "reached, or passed on execution alone (no logical assertion), is no judge's verdict.",
            "Each judge's replay may pick different elements, so a step can be executed under one judge "
            "only: those are counted as judged_by_one_only, not compared.",
            "IFS correlation and the ranking use the evaluations (task, epoch) both judges have in their "
            "mean; a statistic with too few points or a constant series is null.",
        ],
    }


def render_md(rep: dict[str, Any]) -> str:
    a, b = rep["judges"]
    s = rep["steps"]
    out = [f"# Judge agreement: `{md_text(a)}` vs `{md_text(b)}`", "",
           f"- steps compared: {s['compared']} (agreement {fmt(s['agreement'])} %, Cohen's kappa {fmt(s['kappa'], 3)}; "
           f"{s['judged_by_one_only']} judged under one judge only)",
           f"- per-task IFS over {rep['ifs']['evaluations']} evaluations: Pearson r {fmt(rep['ifs']['pearson'], 3)}, "
           f"Spearman rho {fmt(rep['ifs']['spearman'], 3)}",
           f"- model ranking ({rep['ranking']['models']} models): Kendall tau-b on Final "
           f"{fmt(rep['ranking']['kendall_tau_final'], 3)}, on IFS {fmt(rep['ranking']['kendall_tau_ifs'], 3)}", "",
           "## Per model", ""]
    rows = [[md_text(m["model"]), str(m["evaluations"]), str(m["steps"]["compared"]), fmt(m["steps"]["agreement"]),
             fmt(m["steps"]["kappa"], 3), fmt(m["ifs_pearson"], 3), fmt(m["ifs_spearman"], 3),
             f"{fmt(m['mean_final'][0])} / {fmt(m['mean_final'][1])}"] for m in rep["models"].values()]
    out += md_table(["model", "evaluations", "steps", "agreement %", "kappa", "IFS r", "IFS rho",
                     f"Final ({md_text(a)} / {md_text(b)})"], rows) + [""]
    out += ["## Verdicts (rows: " + md_text(a) + ", columns: " + md_text(b) + ")", ""]
    out += md_table(["", *VERDICTS], [[v, *(str(s["confusion"][v][w]) for w in VERDICTS)] for v in VERDICTS])
    out += ["", "## Notes", "", *(f"- {md_text(n, 1000)}" for n in rep["notes"]), ""]
    return "\n".join(out)


def build_agreements(result: Path, collected: dict[str, list[ModelResult]], judges: list[str]) -> list[dict]:
    """Write the agreement report of every pair of judge folders in `collected` that involves one of
    `judges` and shares an evaluated run; drop such reports that no longer have a pair. Returns them."""
    folder = Path(result) / layout.REPORTS_FOLDER / AGREEMENT_DIR
    names = sorted(collected)
    reports: list[dict] = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if a not in judges and b not in judges:
                continue
            rep = agreement(a, collected[a], b, collected[b])
            if rep is None:
                continue
            rep["files"] = {"json": f"{pair_name(a, b)}.json", "md": f"{pair_name(a, b)}.md"}
            atomic_write_json(folder / rep["files"]["json"], rep, only_if_changed=True)
            atomic_write_text(folder / rep["files"]["md"], render_md(rep), only_if_changed=True)
            reports.append(rep)
    keep = {r["files"]["json"] for r in reports}
    for path in folder.glob("*.json") if folder.is_dir() else ():
        data = read_json(path)
        if (isinstance(data, dict) and data.get("report") == AGREEMENT_MARK and path.name not in keep
                and set(data.get("judges") or []) & set(judges)):
            path.unlink(missing_ok=True)
            path.with_suffix(".md").unlink(missing_ok=True)
    return reports


def html_section(judge: str, reports: list[dict]) -> str:
    """The index.html section of one judge folder: its agreement with every other judge folder."""
    e = html.escape
    rows = []
    for rep in reports:
        if judge not in rep["judges"]:
            continue
        other = rep["judges"][1] if rep["judges"][0] == judge else rep["judges"][0]
        s = rep["steps"]
        link = "../" + AGREEMENT_DIR + "/" + quote(rep["files"]["md"])
        rows.append(f"<tr><td class=\"l\">{e(other)}</td><td>{len(rep['models'])}</td><td>{s['compared']}</td>"
                    f"<td>{fmt(s['agreement'])}</td><td>{fmt(s['kappa'], 3)}</td>"
                    f"<td>{fmt(rep['ifs']['pearson'], 3)}</td><td>{fmt(rep['ifs']['spearman'], 3)}</td>"
                    f"<td>{fmt(rep['ranking']['kendall_tau_final'], 3)}</td>"
                    f"<td>{fmt(rep['ranking'].get('kendall_tau_ifs'), 3)}</td>"
                    f"<td class=\"l\"><a href=\"{e(link)}\">md</a> <a href=\"{e(link[:-3])}.json\">json</a></td></tr>")
    if not rows:
        return ""
    head = ("<tr><th class=\"l\">other judge</th><th>models</th><th>steps compared</th><th>verdict agreement %</th>"
            "<th>Cohen's kappa</th><th>IFS Pearson r</th><th>IFS Spearman rho</th><th>Kendall tau (Final)</th><th>Kendall tau (IFS)</th>"
            "<th class=\"l\">files</th></tr>")
    return ("<h2>Agreement with other judges</h2><p class=\"small\">Where another judge folder scored the same "
            "pages: verdicts on the steps both judged, per-task IFS correlation, and the agreement of the model "
            "rankings. Scores of different judges are still never mixed in one mean.</p>"
            f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")
