"""The terminal leaderboard of one judge folder (evaluate.py prints it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iwrbench.fsutil import read_json
from iwrbench.layout import REPORTS_FOLDER, normalize_evaluator_slug
from iwrbench.records.report import REPORT_MARK, read_report
from iwrbench.report.text import INTERVAL_NOTE, fmt, fmt_ci, md_table, md_text

COMPARISONS_FILE = "comparisons.json"

__all__ = ["COMPARISONS_FILE", "REPORT_MARK", "built_reports", "leaderboard_md", "leaderboard_text", "model_label"]


def _summaries_from_reports(folder: Path) -> list[dict[str, Any]]:
    """The model reports in a judge folder (read through their model: report_schema.ModelReport)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        report = read_report(path)
        if report is not None and report.report == REPORT_MARK:
            out.append(report.model_dump(mode="json"))
    return out


def _ranked(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(r: dict[str, Any]) -> tuple[int, float, str]:
        final = r["mean"]["final"]
        return (1, 0.0, model_label(r)) if final is None else (0, -final, model_label(r))
    return sorted(reports, key=key)


def model_label(report: dict[str, Any]) -> str:
    """The model's name, with its variant tags when it has any (`openai/gpt-4o [video]`)."""
    variant = report.get("variant") or []
    return str(report["model"]) + (f" [{', '.join(variant)}]" if variant else "")


def board_rows(reports: list[dict[str, Any]], compared: dict[str, Any] | None) -> tuple[tuple[str, ...], list]:
    """(header, rows) of the leaderboard: ranked by Final, `#` the rank range of the comparisons."""
    labels = {r["slug"]: r["label"] for r in (compared or {}).get("ranks", [])}
    epochs = any(r["counts"].get("epochs", 1) > 1 for r in reports)
    header = ("#", "model", "tasks", *(("epochs",) if epochs else ()), "IFS", "VFS", "Final", "Final 95% CI",
              "Final_all", "no page", "errors", "missing", "undecided")
    rows = []
    for i, r in enumerate(_ranked(reports), start=1):
        c, mean = r["counts"], r["mean"]
        rows.append((labels.get(r.get("model_slug"), str(i)), model_label(r), f"{c['scored']}/{c['tasks']}",
                     *((str(c.get("epochs", 1)),) if epochs else ()), fmt(mean["IFS"]), fmt(mean["VFS"]),
                     fmt(mean["final"]), fmt_ci((r.get("ci95") or {}).get("final")), fmt(mean.get("final_all")),
                     str(c["no_page"]), str(c["errors"]), str(c["missing"]), str(c["undecided"])))
    return header, rows


FOOT = ("Ranked by Final (the published metric). # is the rank range the paired bootstrap allows "
        "(comparisons.json): a model ranks below the models whose Final beats it with a 95% interval of the "
        "difference that excludes 0, and above those it beats that way. Final_all counts every flagged "
        "checkpoint (unreached ones against the last captured state).")


def leaderboard_md(reports: list[dict[str, Any]], compared: dict[str, Any] | None, judge: str) -> str:
    """leaderboard.md of one judge folder: the table, then the pairs that cannot be told apart on Final."""
    header, rows = board_rows(reports, compared)
    out = [f"# IWR-Bench leaderboard, judge `{judge}`", "",
           *md_table(list(header), [[md_text(c) if i == 1 else c for i, c in enumerate(row)] for row in rows]), "", FOOT, "", INTERVAL_NOTE, ""]
    ties = [p for p in (compared or {}).get("pairs", []) if p.get("final") and not p["final"]["distinguishable"]]
    if ties:
        out += ["## Pairs that cannot be told apart on Final", ""]
        out += md_table(["model a", "model b", "tasks", "Final a - b", "95% CI", "p"],
                        [[md_text(p["a"]), md_text(p["b"]), str(p["final"]["tasks"]), fmt(p["final"]["diff"]),
                          fmt_ci(p["final"]["ci95"]), f"{p['final']['p']:.4f}"] for p in ties]) + [""]
    return "\n".join(out)


def built_reports(result: Path, judge_slug: str) -> list[dict[str, Any]]:
    """The model reports already built in a judge folder."""
    return _summaries_from_reports(Path(result) / REPORTS_FOLDER / normalize_evaluator_slug(judge_slug))


def leaderboard_text(result: Path, judge_slug: str, reports: list[dict[str, Any]]) -> str:
    """Plain-text leaderboard of one judge folder for the terminal, from its model reports
    (report.leaderboard_text finds them). Ranked by the published Final; `#` is the rank range the paired
    comparisons allow (comparisons.json), Final_all sits beside Final."""
    result = Path(result)
    judge_slug = normalize_evaluator_slug(judge_slug)
    folder = result / REPORTS_FOLDER / judge_slug
    if not reports:
        return f"judge {judge_slug}: no evaluations under {result}"
    compared = read_json(folder / COMPARISONS_FILE)
    header, rows = board_rows(reports, compared if isinstance(compared, dict) else None)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in
                         enumerate(zip(row, widths, strict=True))).rstrip()

    title = f"IWR-Bench leaderboard, judge: {judge_slug} (tasks = in the mean / selected)"
    return "\n".join([title, line(header), line(tuple("-" * w for w in widths)), *map(line, rows), FOOT])
