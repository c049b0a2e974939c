"""A model report as text: the csv (one row per task) and the markdown summary.

Every piece of task or judge text is untrusted: markdown cells are escaped, csv cells that a
spreadsheet would run as a formula get a leading quote.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from iwrbench.report import stats
from iwrbench.report.model_stats import CATEGORIES, PARTS

CSV_COLUMNS = ("task_id", "status", "counted", "error_kind", "IFS", "VFS", "final", "VFS_all", "final_all",
               "low_level", "high_level", "ocr", "image", "epochs", "success_steps", "total_steps", "undecided",
               "domain", "sub_domain", "visual_complexity", "interaction_complexity", "source_website", "error")

PART_LABELS = {"IFS": "IFS", "VFS": "VFS", "low_level": "low-level", "high_level": "high-level",
               "final": "Final", "ocr": "OCR", "image": "image", "VFS_all": "VFS_all", "final_all": "Final_all"}

INTERVAL_NOTE = (f"95% CI: percentile bootstrap over tasks, each task's epochs resampled within it, "
                 f"{stats.N_RESAMPLES:,} resamples, seed {stats.SEED} (deterministic). Std. error: sd of the task "
                 "means / sqrt(tasks).")
ALL_NOTE = ("VFS_all counts every flagged checkpoint: one the replay never reached is compared with the "
            "page's last captured state, so a page that stops early is scored on what it really shows at "
            "each checkpoint. VFS (the published metric) counts only the checkpoints reached. "
            "Final_all = 0.7 × IFS + 0.3 × VFS_all. Null in evaluations made before these fields existed.")


def fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_ci(ci: list[float] | tuple[float, float] | None, digits: int = 2) -> str:
    return "—" if not ci or ci[0] is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _csv_cell(value: Any) -> Any:
    """Numbers as they are; text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_csv(report: dict[str, Any]) -> str:
    """One row per task (no mean row, so the file loads as a plain table; means are in json/md). A task
    with several epochs shows the mean over its counted epochs (`epochs` says how many)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["tasks"]:
        writer.writerow([_csv_cell(row.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()


_MD_SPECIAL = re.compile(r"([\\|<>`\[\]*])")


def md_text(value: Any, limit: int = 300) -> str:
    """Untrusted text made safe for one markdown table cell: one line, markup characters escaped."""
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _judges_lines(judges: dict[str, dict[str, int]]) -> list[str]:
    if not judges:
        return ["- (the eval.json files name no judges)"]
    return [f"- {md_text(part)}: " + ", ".join(f"{md_text(j)} ({n} tasks)" for j, n in js.items())
            for part, js in judges.items()]


def manifest_lines(manifest: dict[str, Any]) -> list[str]:
    git = manifest.get("git") or {}
    chromium = manifest.get("chromium") or {}
    pkgs = manifest.get("packages") or {}
    lines = [
        f"- harness version: {md_text(manifest.get('harness_version'))}",
        f"- git revision: {md_text(git.get('commit') or 'not a git checkout')}"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        f"- python: {md_text(manifest.get('python'))}",
        f"- Chromium: {md_text(chromium.get('version') or 'unknown')}",
        f"- judge: {md_text(manifest.get('judge') or 'offline')}",
        "- packages: " + ", ".join(f"{md_text(k)} {md_text(v or 'not installed')}" for k, v in pkgs.items()),
    ]
    if manifest.get("source"):
        lines.append(f"- source: {md_text(manifest['source'])}")
    if manifest.get("created_at"):
        lines.append(f"- created at: {md_text(manifest['created_at'])}")
    settings = json.dumps(manifest.get("settings") or {}, indent=2, ensure_ascii=False, sort_keys=True)
    lines += ["- settings:", "", *("        " + ln for ln in settings.splitlines())]
    return lines


def _status_line(report: dict[str, Any]) -> str:
    c = report["counts"]
    status = [f"{c['tasks']} tasks selected", f"{c['scored']} in the mean"]
    if c.get("epochs", 1) > 1:
        status.append(f"{c['epochs']} epochs per task ({c['evaluations']} evaluations counted)")
    if c["no_page"]:
        status.append(f"{c['no_page']} of them with no generated page (scored 0)")
    status.append(f"{c['errors']} errors (not in the mean)")
    status.append(f"{c['missing']} missing (no eval.json)")
    if c.get("missing_epochs"):
        status.append(f"{c['missing_epochs']} epochs of evaluated tasks missing")
    return "**" + "; ".join(status) + ".**" + ("" if report["complete"] else " The result is incomplete.")


def _category_lines(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for cat in CATEGORIES:
        out += [f"## By {cat.replace('_', ' ')}", ""]
        rows = [[md_text(value), str(g["n"]), str(g["tasks"]), fmt(g["IFS"]), fmt(g["VFS"]), fmt(g["final"]),
                 fmt_ci((g.get("ci95") or {}).get("final")), fmt(g.get("final_all"))]
                for value, g in report["by_category"][cat].items()]
        out += md_table([cat.replace("_", " "), "n", "tasks", "IFS", "VFS", "Final", "Final 95% CI", "Final_all"],
                        rows) + [""]
    return out


def _task_lines(report: dict[str, Any]) -> list[str]:
    rows = []
    with_epochs = report["counts"].get("epochs", 1) > 1
    for t in report["tasks"]:
        if t["status"] == "missing":
            note = "missing: no eval.json"
        elif t["status"] == "error":
            note = f"error ({t['error_kind']}): {t['error']}"
        elif t["error_kind"] == "no_page":
            note = "no page: scored 0"
        else:
            note = t["error"] or ""
        steps = "" if t["total_steps"] is None else f"{t['success_steps']}/{t['total_steps']}"
        row = [md_text(t["task_id"]), t["status"], fmt(t["IFS"]), fmt(t["VFS"]), fmt(t["low_level"]),
               fmt(t["high_level"]), fmt(t["final"]), fmt(t.get("VFS_all")), fmt(t.get("final_all"))]
        row += ([str(t.get("epochs") or 0)] if with_epochs else []) + [steps, str(t["undecided"]),
                                                                       md_text(note, 160)]
        rows.append(row)
    header = ["task", "status", "IFS", "VFS", "low", "high", "Final", "VFS_all", "Final_all"]
    header += (["epochs"] if with_epochs else []) + ["steps ok", "undecided", "note"]
    note = (["Scores of a task with several epochs are the means over its counted epochs; steps ok and "
             "undecided are those of its first epoch.", ""] if with_epochs else [])
    return ["## Tasks", "", *note, *md_table(header, rows), ""]


def _run_lines(report: dict[str, Any]) -> list[str]:
    """Which pages (protocol, prompt file, import) and which models replayed and judged them."""
    gen = report.get("generation") or {}
    protocols = ", ".join(f"{md_text(p)} ({n} tasks)" for p, n in (gen.get("protocols") or {}).items()) or "—"
    lines = [f"- pages: run `{md_text(report.get('run_slug') or report['model_slug'])}`, protocol {protocols}"]
    for pf in gen.get("prompt_files") or []:
        lines.append(f"- prompt file: {md_text(pf.get('name'))} (sha256 {md_text(pf.get('sha256'))}, "
                     f"{pf.get('tasks')} tasks)")
    judge = report.get("assertion_judge") or report["judge"]
    lines.append(f"- agent (picks elements): {md_text(report.get('agent') or judge)}; "
                 f"judge (assertions, rubric): {md_text(judge)}")
    return [*lines, ""]


def render_md(report: dict[str, Any]) -> str:
    c = report["counts"]
    mean, n = report["mean"], report["mean_n"]
    ci, se = report.get("ci95") or {}, report.get("stderr") or {}
    variant = report.get("variant") or []
    title = report["model"] + (f" [{', '.join(variant)}]" if variant else "")
    out = [f"# IWR-Bench report: {md_text(title)}", "",
           f"Video input: {md_text(report.get('video_input') or 'frames')} (results made with other inputs are "
           "reported under their own run slug, never in this mean).", "",
           f"Judge folder `{report['judge']}`: every score below comes from evaluations stored under this "
           "judge only; results of other judges are reported in their own folders and never mixed in.", "",
           _status_line(report), "", *_run_lines(report), "## Mean", ""]
    out += md_table(["", *(PART_LABELS[p] for p in PARTS)],
                    [["mean", *(fmt(mean.get(p)) for p in PARTS)],
                     ["95% CI", *(fmt_ci(ci.get(p)) for p in PARTS)],
                     ["std. error", *(fmt(se.get(p)) for p in PARTS)],
                     ["tasks scored (n)", *(str(n.get(p, 0)) for p in PARTS)]])
    v = c["verdicts"]
    out += ["", "Final = 0.7 × IFS + 0.3 × VFS; a part no task scored is shown as —.", "",
            INTERVAL_NOTE, "", ALL_NOTE, "",
            "## Which judge produced which score", "", *_judges_lines(report["judges"]), "",
            f"Assertion verdicts over the tasks in the mean: {v['pass']} pass, {v['fail']} fail, "
            f"**{v['undecided']} undecided**, {v['error']} error."
            + (f" {c['execution_only']} of the passes are steps the data gives no logical assertion for: "
               f"judged on execution alone." if c.get("execution_only") else ""), ""]
    out += _category_lines(report)
    out += _task_lines(report)
    if report["errors"]:
        out += ["## Errors (not in the mean)", ""]
        out += [f"- task {md_text(e['task_id'])}" + (f" epoch {e['epoch']}" if e.get("epoch", 1) > 1 else "")
                + f" ({md_text(e['error_kind'])}): {md_text(e['error'], 500)}" for e in report["errors"]] + [""]
    if report["missing"]:
        out += ["## Missing (selected, no eval.json)", "", ", ".join(md_text(t) for t in report["missing"]), ""]
    if report.get("missing_epochs"):
        out += ["## Missing epochs (tasks evaluated in other epochs)", "",
                ", ".join(f"{md_text(m['task_id'])} epoch {m['epoch']}" for m in report["missing_epochs"]), ""]
    out += ["## Notes", "", *(f"- {md_text(x, 1000)}" for x in report["notes"]), ""]
    out += ["## Manifest", "", *manifest_lines(report["manifest"]), ""]
    ev = report["evaluations"]
    versions = ", ".join(f"{md_text(v)} ({n} tasks)" for v, n in ev["harness_versions"].items()) or "none"
    out += [f"Evaluations used: harness versions {versions}, finished "
            f"{md_text(ev['first_finished_at'] or '?')} … {md_text(ev['last_finished_at'] or '?')}.", ""]
    return "\n".join(out)
