"""The terminal leaderboard of one judge folder (evaluate.py prints it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iwrbench.fsutil import read_json
from iwrbench.layout import judge_slug as slug_of_judge
from iwrbench.report_text import fmt, fmt_ci

REPORT_MARK = "iwrbench-model-report"
COMPARISONS_FILE = "comparisons.json"


def _summaries_from_reports(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.json")):
        data = read_json(path)
        if isinstance(data, dict) and data.get("report") == REPORT_MARK:
            out.append(data)
    return out


def leaderboard_text(result: Path, judge_slug: str) -> str:
    """Plain-text leaderboard of one judge folder for the terminal (from its built reports; when none
    are built yet, straight from the eval.json files). Ranked by the published Final; `#` is the rank
    range the paired comparisons allow (comparisons.json), Final_all sits beside Final."""
    result = Path(result)
    judge_slug = slug_of_judge(judge_slug)
    folder = result / "reports" / judge_slug
    reports = _summaries_from_reports(folder)
    if not reports:
        from iwrbench.report import model_report
        from iwrbench.report_rows import collect_judge, discover

        models = discover(result).get(judge_slug, {})
        reports = [model_report(m, judge_slug, {}, False)
                   for m in collect_judge(result, judge_slug, models, None)]
    if not reports:
        return f"judge {judge_slug}: no evaluations under {result}"
    compared = read_json(folder / COMPARISONS_FILE)
    labels = {r["slug"]: r["label"] for r in (compared or {}).get("ranks", [])} if isinstance(compared, dict) \
        else {}

    def key(r: dict[str, Any]) -> tuple[int, float, str]:
        final = r["mean"]["final"]
        return (1, 0.0, r["model"]) if final is None else (0, -final, r["model"])

    epochs = any(r["counts"].get("epochs", 1) > 1 for r in reports)
    header = ("#", "model", "tasks", *(("epochs",) if epochs else ()), "IFS", "VFS", "Final", "Final 95% CI",
              "Final_all", "no page", "errors", "missing", "undecided")
    lines = []
    for i, r in enumerate(sorted(reports, key=key), start=1):
        c, mean = r["counts"], r["mean"]
        lines.append((labels.get(r.get("model_slug"), str(i)), str(r["model"]), f"{c['scored']}/{c['tasks']}",
                      *((str(c.get("epochs", 1)),) if epochs else ()), fmt(mean["IFS"]), fmt(mean["VFS"]),
                      fmt(mean["final"]), fmt_ci((r.get("ci95") or {}).get("final")), fmt(mean.get("final_all")),
                      str(c["no_page"]), str(c["errors"]), str(c["missing"]), str(c["undecided"])))
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in
                         enumerate(zip(row, widths, strict=True))).rstrip()

    title = f"IWR-Bench leaderboard, judge: {judge_slug} (tasks = in the mean / selected)"
    foot = ("Ranked by Final (the published metric). # is the rank range the paired bootstrap allows "
            "(comparisons.json); Final_all counts every flagged checkpoint (unreached ones against the last "
            "captured state).")
    return "\n".join([title, line(header), line(tuple("-" * w for w in widths)), *map(line, lines), foot])
