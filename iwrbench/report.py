"""Reports built from eval.json files: per model json/csv/md, an index.html and a leaderboard.png per judge.

Layout (design.md): outputs/reports/<judge_slug>/<model_slug>.{json,csv,md}, index.html, leaderboard.png.
Each judge folder is built only from eval.json files stored under that judge's slug, so scores of
different judges (or of the offline judges) are never mixed in one mean.

Counting rules, in one place (`classify`):
- a task whose page was never generated (`error_kind` "no_page") scores 0 and is counted;
- a task whose evaluation broke (`status` "error" or `error_kind` "infrastructure"/"data", or an
  eval.json that cannot be read or belongs elsewhere) is not counted and is listed under `errors`;
- a selected task without an eval.json is listed under `missing`, never silently skipped.
Means are taken per part over the counted tasks that scored that part; `mean_n` says how many.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from iwrbench.dataset import Task
from iwrbench.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_json,
    remove_stale_temp,
)
from iwrbench.judges.base import EXECUTION_SOURCE
from iwrbench.layout import (
    AGENT_SEP,
    OFFLINE_JUDGE,
    model_slug,
    normalize_evaluator_slug,
    parse_evaluator_slug,
    parse_run_slug,
    run_slug,
    video_input_of,
)
from iwrbench.layout import judge_slug as slug_of_judge
from iwrbench.manifest import collect_manifest
from iwrbench.records import EvalRecord

log = logging.getLogger("iwrbench.report")

REPORT_MARK = "iwrbench-model-report"
REPORT_FORMAT = 1
PARTS = ("IFS", "VFS", "low_level", "high_level", "final", "ocr", "image")
CATEGORIES = ("domain", "visual_complexity", "interaction_complexity")
VERDICTS = ("pass", "fail", "undecided", "error")
UNSPECIFIED = "(unspecified)"
CheckpointMode = Literal["auto", "link", "copy"]
STALE_TEMP_SECONDS = 600.0  # reports of one judge may be rebuilt by two runs at once


@dataclass
class TaskRow:
    """One task of one model under one judge: what the json `tasks` list and the csv hold."""

    task_id: str
    status: Literal["scored", "error", "missing"]
    counted: bool  # in the mean: scored tasks and tasks with no page (scored 0)
    IFS: float | None = None
    VFS: float | None = None
    final: float | None = None
    low_level: float | None = None
    high_level: float | None = None
    ocr: float | None = None
    image: float | None = None
    error: str | None = None
    error_kind: str | None = None
    success_steps: int | None = None
    total_steps: int | None = None
    undecided: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    execution_only: int = 0  # steps passed on execution alone: the data gives them no assertion
    domain: str = ""
    sub_domain: str = ""
    visual_complexity: str = ""
    interaction_complexity: str = ""
    source_website: str = ""
    judges: dict[str, str | None] = field(default_factory=dict)
    seconds: float | None = None
    harness_version: str | None = None
    finished_at: str | None = None
    eval_json: str | None = None  # relative to --result
    page: str | None = None  # the generated page, relative to --result, when it exists


@dataclass
class ModelResult:
    """Everything known about one model under one judge; the html report reads the records too."""

    slug: str  # the run slug: the model's slug and its variant tags (layout.run_slug)
    name: str
    rows: list[TaskRow]
    records: dict[str, EvalRecord]
    eval_dirs: dict[str, Path]
    outside_selection: int = 0
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> tuple[str, ...]:
        try:
            return parse_run_slug(self.slug).variant
        except ValueError:
            return ()

    @property
    def label(self) -> str:
        """The model's name, and its variant tags when it has any: `google/gemini-2.5-pro [video]`."""
        return f"{self.name} [{', '.join(self.variant)}]" if self.variant else self.name


# ---------------------------------------------------------------- discovery


def discover(result: Path) -> dict[str, dict[str, dict[str, Path]]]:
    """{judge_slug: {model_slug: {task_id: eval.json}}} for every eval.json under --result."""
    found: dict[str, dict[str, dict[str, Path]]] = {}
    if not result.is_dir():
        return found
    for task_dir in sorted(result.iterdir()):
        if not task_dir.is_dir() or task_dir.name == "reports" or task_dir.name.startswith("."):
            continue
        for model_dir in sorted(task_dir.iterdir()):
            eval_root = model_dir / "eval"
            if not eval_root.is_dir():
                continue
            for judge_dir in sorted(eval_root.iterdir()):
                path = judge_dir / "eval.json"
                if path.is_file():
                    found.setdefault(judge_dir.name, {}).setdefault(model_dir.name, {})[task_dir.name] = path
    return found


def task_sort_key(task_id: str) -> tuple[int, int, str]:
    return (0, int(task_id), "") if task_id.isdigit() else (1, 0, task_id)


# ---------------------------------------------------------------- one task


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def load_record(path: Path, *, task_id: str, model_folder: str, judge_folder: str) -> tuple[EvalRecord | None, str]:
    """The eval.json as a record, or None and the reason it cannot be used in this report."""
    data = read_json(path)
    if not isinstance(data, dict):
        return None, "eval.json is unreadable or not a JSON object"
    try:
        rec = EvalRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
        return None, f"eval.json does not match the schema: {where}: {first.get('msg', '')}"
    judge_s = slug_of_judge(rec.judge)
    folder_of_record = evaluator_slug_of(judge_s, rec.agent)
    if folder_of_record != judge_folder:
        who = f"judge {rec.judge!r}" + (f" and agent {rec.agent!r}" if folder_of_record != judge_s else "")
        return None, f"eval.json says {who} but is stored under {judge_folder!r}: not mixed in"
    if str(rec.task_id) != task_id:
        return None, f"eval.json says task {rec.task_id!r} but is stored under task {task_id!r}"
    try:  # the folder is the run slug: the model's slug, then the variant tags the record names
        folder = parse_run_slug(model_folder)
        same = (folder.model, folder.variant) == (model_slug(rec.model), tuple(getattr(rec, "variant", None) or ()))
    except (ValueError, TypeError):
        same = False
    if not same:
        return None, f"eval.json says model {rec.model!r} but is stored under {model_folder!r}"
    return rec, ""


def evaluator_slug_of(judge_s: str, agent_s: str | None) -> str:
    """The judge folder an eval.json belongs in, from its judge and agent slugs (agent None: the judge)."""
    if agent_s is None or agent_s == judge_s:
        return judge_s
    return f"{judge_s}{AGENT_SEP}{agent_s}"


def classify(rec: EvalRecord) -> tuple[Literal["scored", "error"], bool]:
    """(status, counted): a missing page is the model's failure (0, counted); a broken run is not."""
    if rec.error_kind == "no_page":
        return "scored", True
    if rec.status == "error" or rec.error_kind in ("infrastructure", "data"):
        return "error", False
    return "scored", True


def verdict_counts(rec: EvalRecord) -> dict[str, int]:
    if rec.steps:
        counts = Counter(s.assertion.verdict for s in rec.steps)
    else:
        counts = Counter({k: int(v) for k, v in rec.verdict_counts.items() if isinstance(v, int | float)})
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def _classification(task: Task | None, rec: EvalRecord | None) -> dict[str, str]:
    if task is not None:
        c = task.classification
        return {"domain": c.domain, "sub_domain": c.sub_domain, "visual_complexity": c.visual_complexity,
                "interaction_complexity": c.interaction_complexity}
    got = rec.classification if rec is not None else {}
    return {k: str(got.get(k) or "") for k in ("domain", "sub_domain", "visual_complexity",
                                                  "interaction_complexity")}


def make_row(result: Path, task_id: str, model_folder: str, judge_folder: str, path: Path | None,
             task: Task | None) -> tuple[TaskRow, EvalRecord | None]:
    """The report row of one task (and its record when usable)."""
    page = result / task_id / model_folder / "index.html"
    page_rel = page.relative_to(result).as_posix() if page.is_file() else None
    website = task.source_website if task is not None else ""
    if path is None:
        row = TaskRow(task_id=task_id, status="missing", counted=False, page=page_rel,
                      source_website=website, error="no eval.json", **_classification(task, None))
        return row, None
    rec, problem = load_record(path, task_id=task_id, model_folder=model_folder, judge_folder=judge_folder)
    eval_rel = path.relative_to(result).as_posix()
    if rec is None:
        log.warning("report: %s: %s", path, problem)
        row = TaskRow(task_id=task_id, status="error", counted=False, error=problem, error_kind="infrastructure",
                      eval_json=eval_rel, page=page_rel, source_website=website, **_classification(task, None))
        return row, None
    status, counted = classify(rec)
    scores = {p: _round(getattr(rec.scores, p)) for p in PARTS}
    if rec.error_kind == "no_page":
        # No page scores 0 on every part its judges produce (high-level only where a rubric judge ran).
        high_judged = bool(rec.judges.get("visual_high"))
        for p in PARTS:
            if scores[p] is None and (p != "high_level" or high_judged):
                scores[p] = 0.0
    verdicts = verdict_counts(rec)
    row = TaskRow(task_id=task_id, status=status, counted=counted, **scores, error=rec.error,
                  error_kind=rec.error_kind, success_steps=rec.success_steps, total_steps=rec.total_steps,
                  undecided=verdicts["undecided"], verdicts=verdicts, judges=dict(rec.judges),
                  execution_only=sum(s.assertion.source == EXECUTION_SOURCE for s in rec.steps),
                  seconds=rec.seconds, harness_version=rec.harness_version or None,
                  finished_at=rec.finished_at or None, eval_json=eval_rel, page=page_rel,
                  source_website=website or str(getattr(rec, "source_website", "") or ""),
                  **_classification(task, rec))
    return row, rec


# ---------------------------------------------------------------- aggregation


def mean_parts(rows: list[TaskRow]) -> tuple[dict[str, float | None], dict[str, int]]:
    """Mean of each part over counted rows that scored it; a part nobody scored stays None."""
    means: dict[str, float | None] = {}
    ns: dict[str, int] = {}
    for p in PARTS:
        values = [getattr(r, p) for r in rows if r.counted and getattr(r, p) is not None]
        ns[p] = len(values)
        means[p] = _round(sum(values) / len(values)) if values else None
    return means, ns


def by_category(rows: list[TaskRow]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cat in CATEGORIES:
        groups: dict[str, list[TaskRow]] = {}
        for r in rows:
            groups.setdefault(getattr(r, cat) or UNSPECIFIED, []).append(r)
        out[cat] = {}
        for value in sorted(groups):
            means, _ = mean_parts(groups[value])
            members = groups[value]
            out[cat][value] = {**means, "n": sum(r.counted for r in members), "tasks": len(members)}
    return out


def judges_summary(rows: list[TaskRow]) -> dict[str, dict[str, int]]:
    """{score part: {judge (or "not scored"): tasks}} over the rows that have a record."""
    out: dict[str, Counter] = {}
    for r in rows:
        for part, judge in r.judges.items():
            out.setdefault(part, Counter())[judge or "not scored"] += 1
    return {part: dict(sorted(c.items())) for part, c in sorted(out.items())}


def generation_summary(records: dict[str, EvalRecord]) -> dict[str, Any]:
    """What made the pages, over the tasks evaluated: protocols, prompt files, imports."""
    protocols: Counter = Counter()
    prompts: dict[str, dict[str, Any]] = {}
    imported = 0
    for rec in records.values():
        gen = rec.generation or {}
        if gen.get("imported_from"):
            imported += 1
            protocols["imported"] += 1
        else:
            protocols[str(gen.get("protocol") or "not recorded")] += 1
        pf = gen.get("prompt_file")
        if isinstance(pf, dict) and pf.get("sha256"):
            entry = prompts.setdefault(str(pf["sha256"]), {"name": pf.get("name"), "sha256": pf["sha256"], "tasks": 0})
            entry["tasks"] += 1
    return {"protocols": dict(sorted(protocols.items())), "prompt_files": list(prompts.values()),
            "imported": imported}


def model_report(m: ModelResult, judge: str, manifest: dict[str, Any], tasks_known: bool) -> dict[str, Any]:
    rows = m.rows
    means, ns = mean_parts(rows)
    verdicts = Counter()
    for r in rows:
        if r.counted:
            verdicts.update(r.verdicts)
    counts = {
        "tasks": len(rows),
        "scored": sum(r.counted for r in rows),
        "no_page": sum(r.counted and r.error_kind == "no_page" for r in rows),
        "errors": sum(r.status == "error" for r in rows),
        "missing": sum(r.status == "missing" for r in rows),
        "undecided": int(verdicts.get("undecided", 0)),
        "verdicts": {v: int(verdicts.get(v, 0)) for v in VERDICTS},
        "execution_only": sum(r.execution_only for r in rows if r.counted),
        "outside_selection": m.outside_selection,
    }
    notes = ["A task with no generated page scores 0 and is counted in the mean.",
             "Tasks whose evaluation broke (errors) are not in the mean; they are listed under errors.",
             f"Only evaluations by judge '{judge}' are used; other judges' results are never mixed in."]
    if m.variant:
        notes.append(f"Pages of run '{m.slug}' only ({', '.join(m.variant)}): results of other protocols, "
                     "prompt files, video inputs or epochs are reported under their own run, never mixed in.")
    if tasks_known:
        notes.append("Selected tasks without an eval.json are listed under missing.")
    else:
        notes.append("No task list was given: the tasks are those evaluated for any model under this judge, "
                     "so a task no model was evaluated on cannot be listed as missing.")
    if m.outside_selection:
        notes.append(f"{m.outside_selection} eval.json file(s) of tasks outside the selected task list were "
                     "not used.")
    versions = Counter(r.harness_version or "unknown" for r in rows if r.status != "missing")
    finished = sorted(r.finished_at for r in rows if r.finished_at)
    return {
        "report": REPORT_MARK,
        "format": REPORT_FORMAT,
        "model": m.name,
        "model_slug": m.slug,
        "variant": list(m.variant),
        "video_input": video_input_of(m.variant),  # frames and native video are never in one mean
        "run_slug": m.slug,
        "label": m.label,
        "judge": judge,
        "assertion_judge": parse_evaluator_slug(judge)[0],
        "agent": parse_evaluator_slug(judge)[1],
        "generation": generation_summary(m.records),
        "complete": counts["errors"] == 0 and counts["missing"] == 0,
        "mean": {p: means[p] for p in PARTS},
        "mean_n": ns,
        "counts": counts,
        "judges": judges_summary(rows),
        "by_category": by_category(rows),
        "errors": [{"task_id": r.task_id, "error_kind": r.error_kind, "error": r.error, "eval_json": r.eval_json}
                   for r in rows if r.status == "error"],
        "missing": [r.task_id for r in rows if r.status == "missing"],
        "manifest": manifest,
        "evaluations": {"harness_versions": dict(sorted(versions.items())),
                        "first_finished_at": finished[0] if finished else None,
                        "last_finished_at": finished[-1] if finished else None},
        "notes": notes,
        "tasks": [asdict(r) for r in rows],
    }


def collect_judge(result: Path, judge: str, models: dict[str, dict[str, Path]],
                  tasks: list[Task] | None) -> list[ModelResult]:
    """Rows for every model under one judge, over the task list (or the union of evaluated tasks)."""
    by_id = {t.id: t for t in tasks} if tasks is not None else {}
    if tasks is not None:
        order = [t.id for t in tasks]
    else:
        order = sorted({tid for paths in models.values() for tid in paths}, key=task_sort_key)
    out: list[ModelResult] = []
    for slug in sorted(models):
        paths = models[slug]
        rows: list[TaskRow] = []
        records: dict[str, EvalRecord] = {}
        for tid in order:
            row, rec = make_row(result, tid, slug, judge, paths.get(tid), by_id.get(tid))
            rows.append(row)
            if rec is not None:
                records[tid] = rec
        names = Counter(rec.model for rec in records.values())
        name = names.most_common(1)[0][0] if names else slug
        outside = sum(1 for tid in paths if tid not in set(order))
        out.append(ModelResult(slug=slug, name=name, rows=rows, records=records,
                               eval_dirs={tid: p.parent for tid, p in paths.items()}, outside_selection=outside))
    return out


# ---------------------------------------------------------------- writers


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


CSV_COLUMNS = ("task_id", "status", "counted", "error_kind", "IFS", "VFS", "final", "low_level", "high_level",
               "ocr", "image", "success_steps", "total_steps", "undecided", "domain", "sub_domain",
               "visual_complexity", "interaction_complexity", "source_website", "error")


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
    """One row per task (no mean row, so the file loads as a plain table; means are in json/md)."""
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


PART_LABELS = {"IFS": "IFS", "VFS": "VFS", "low_level": "low-level", "high_level": "high-level",
               "final": "Final", "ocr": "OCR", "image": "image"}


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
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
    variant = report.get("variant") or []
    title = report["model"] + (f" [{', '.join(variant)}]" if variant else "")
    out = [f"# IWR-Bench report: {md_text(title)}", "",
           f"Video input: {md_text(report.get('video_input') or 'frames')} (results made with other inputs are "
           "reported under their own run slug, never in this mean).", "",
           f"Judge folder `{report['judge']}`: every score below comes from evaluations stored under this "
           "judge only; results of other judges are reported in their own folders and never mixed in.", ""]
    status = [f"{c['tasks']} tasks selected", f"{c['scored']} in the mean"]
    if c["no_page"]:
        status.append(f"{c['no_page']} of them with no generated page (scored 0)")
    status.append(f"{c['errors']} errors (not in the mean)")
    status.append(f"{c['missing']} missing (no eval.json)")
    out += ["**" + "; ".join(status) + ".**" + ("" if report["complete"] else " The result is incomplete."), ""]
    out += _run_lines(report)
    out += ["## Mean", ""]
    out += _md_table(["", *(PART_LABELS[p] for p in PARTS)],
                     [["mean", *(_fmt(mean[p]) for p in PARTS)], ["tasks scored (n)", *(str(n[p]) for p in PARTS)]])
    v = c["verdicts"]
    out += ["", "Final = 0.7 × IFS + 0.3 × VFS; a part no task scored is shown as —.", "",
            "## Which judge produced which score", "", *_judges_lines(report["judges"]), "",
            f"Assertion verdicts over the tasks in the mean: {v['pass']} pass, {v['fail']} fail, "
            f"**{v['undecided']} undecided**, {v['error']} error."
            + (f" {c['execution_only']} of the passes are steps the data gives no logical assertion for: "
               f"judged on execution alone." if c.get("execution_only") else ""), ""]
    for cat in CATEGORIES:
        out += [f"## By {cat.replace('_', ' ')}", ""]
        rows = [[md_text(value), str(g["n"]), str(g["tasks"]), _fmt(g["IFS"]), _fmt(g["VFS"]), _fmt(g["final"])]
                for value, g in report["by_category"][cat].items()]
        out += _md_table([cat.replace("_", " "), "n", "tasks", "IFS", "VFS", "Final"], rows) + [""]
    out += ["## Tasks", ""]
    rows = []
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
        rows.append([md_text(t["task_id"]), t["status"], _fmt(t["IFS"]), _fmt(t["VFS"]), _fmt(t["low_level"]),
                     _fmt(t["high_level"]), _fmt(t["final"]), steps, str(t["undecided"]), md_text(note, 160)])
    out += _md_table(["task", "status", "IFS", "VFS", "low", "high", "Final", "steps ok", "undecided", "note"],
                     rows) + [""]
    if report["errors"]:
        out += ["## Errors (not in the mean)", ""]
        out += [f"- task {md_text(e['task_id'])} ({md_text(e['error_kind'])}): {md_text(e['error'], 500)}"
                for e in report["errors"]] + [""]
    if report["missing"]:
        out += ["## Missing (selected, no eval.json)", "", ", ".join(md_text(t) for t in report["missing"]), ""]
    out += ["## Notes", "", *(f"- {md_text(x, 1000)}" for x in report["notes"]), ""]
    out += ["## Manifest", "", *manifest_lines(report["manifest"]), ""]
    ev = report["evaluations"]
    versions = ", ".join(f"{md_text(v)} ({n} tasks)" for v, n in ev["harness_versions"].items()) or "none"
    out += [f"Evaluations used: harness versions {versions}, finished "
            f"{md_text(ev['first_finished_at'] or '?')} … {md_text(ev['last_finished_at'] or '?')}.", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- manifests


def _manifest_model(manifest: dict[str, Any]) -> str | None:
    model = manifest.get("model") or (manifest.get("settings") or {}).get("model")
    return str(model) if model else None


def store_manifest(result: Path, manifest: dict[str, Any]) -> Path:
    """File the manifest of an evaluation run under its judge (and model) so --report-only reuses it."""
    settings = manifest.get("settings") or {}
    folder_name = settings.get("judge_folder") or slug_of_judge(manifest.get("judge_slug") or manifest.get("judge"))
    folder = Path(result) / "reports" / normalize_evaluator_slug(folder_name)
    model = _manifest_model(manifest)
    variant = tuple((manifest.get("settings") or {}).get("variant") or ())
    path = folder / "manifests" / f"{run_slug(model, variant)}.json" if model else folder / "manifest.json"
    atomic_write_json(path, manifest)
    return path


def manifest_for(folder: Path, slug: str, judge: str) -> dict[str, Any]:
    """The model's last run manifest, else the judge folder's, else one collected now (and kept)."""
    for path in (folder / "manifests" / f"{slug}.json", folder / "manifest.json"):
        data = read_json(path)
        if isinstance(data, dict):
            return data
    judge_s, agent_s = parse_evaluator_slug(judge)
    data = collect_manifest({"judge": None if judge_s == OFFLINE_JUDGE else judge_s, "agent": agent_s})
    data["source"] = "collected at report time: the evaluation run left no manifest"
    atomic_write_json(folder / "manifest.json", data)
    return data


# ---------------------------------------------------------------- entry points


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Drop model reports this module wrote earlier for models that have no eval.json any more."""
    for path in folder.glob("*.json"):
        data = read_json(path)
        if isinstance(data, dict) and data.get("report") == REPORT_MARK and path.stem not in keep:
            for suffix in (".json", ".csv", ".md"):
                path.with_suffix(suffix).unlink(missing_ok=True)


def build_judge(result: Path, judge: str, models: dict[str, dict[str, Path]], tasks: list[Task] | None,
                checkpoints: CheckpointMode = "auto", other_judges: list[str] | None = None) -> list[Path]:
    from iwrbench.report_html import render_index
    from iwrbench.report_plot import draw_leaderboard

    folder = result / "reports" / judge
    folder.mkdir(parents=True, exist_ok=True)
    for sub in (folder, folder / "manifests"):  # litter of a killed run; spare a concurrent writer's files
        remove_stale_temp(sub, older_than=STALE_TEMP_SECONDS)
    results = collect_judge(result, judge, models, tasks)
    written: list[Path] = []
    for m in results:
        m.report = model_report(m, judge, manifest_for(folder, m.slug, judge), tasks is not None)
        written.append(atomic_write_json(folder / f"{m.slug}.json", m.report, only_if_changed=True))
        written.append(atomic_write_text(folder / f"{m.slug}.csv", render_csv(m.report), only_if_changed=True))
        written.append(atomic_write_text(folder / f"{m.slug}.md", render_md(m.report), only_if_changed=True))
    _remove_stale(folder, {m.slug for m in results})
    ranked = rank(results)
    bars = [(m.label, m.report["mean"]["final"], m.report["mean"]["IFS"], m.report["mean"]["VFS"]) for m in ranked]
    written.append(atomic_write_bytes(folder / "leaderboard.png", draw_leaderboard(bars, title=f"judge: {judge}"),
                                      only_if_changed=True))
    by_id = {t.id: t for t in tasks} if tasks is not None else {}
    html = render_index(folder, result, judge, ranked, by_id, checkpoints=checkpoints, other_judges=other_judges)
    written.append(atomic_write_text(folder / "index.html", html, only_if_changed=True))
    return written


def rank(results: list[ModelResult]) -> list[ModelResult]:
    """Best Final first; models without a Final last, then by name."""
    def key(m: ModelResult) -> tuple[int, float, str]:
        final = m.report["mean"]["final"]
        return (1, 0.0, m.name) if final is None else (0, -final, m.name)
    return sorted(results, key=key)


def build_reports(result: Path, tasks: list[Task] | None, judge_slugs: list[str] | None = None,
                  manifest: dict[str, Any] | None = None, *,
                  checkpoints: CheckpointMode = "auto") -> list[Path]:
    """Rebuild the reports of every judge folder found under --result (or only the named judges).

    `tasks` is the task list the reports are over: pass the whole data file (load_tasks) so that tasks
    never evaluated show up as missing; None uses the tasks that have an eval.json for some model.
    `manifest` (from collect_manifest, at the end of an evaluation run) is kept in
    reports/<judge>/manifests/ and carried by that model's reports from then on, --report-only included.
    `checkpoints`: how index.html shows ground-truth images, see iwrbench.report_html.
    Returns the report files (json/csv/md per model, leaderboard.png, index.html per judge), each written
    or, when its content is unchanged, left as it was.
    """
    result = Path(result)
    if manifest is not None:
        store_manifest(result, manifest)
    found = discover(result)
    judges = sorted(found) if judge_slugs is None else list(dict.fromkeys(map(normalize_evaluator_slug, judge_slugs)))
    reports = result / "reports"
    built = {p.name for p in reports.iterdir() if (p / "index.html").is_file()} if reports.is_dir() else set()
    every_judge = sorted(built | set(found) | set(judges))
    written: list[Path] = []
    for judge in judges:
        written += build_judge(result, judge, found.get(judge, {}), tasks, checkpoints, every_judge)
    return written


def _summaries_from_reports(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.json")):
        data = read_json(path)
        if isinstance(data, dict) and data.get("report") == REPORT_MARK:
            out.append(data)
    return out


def leaderboard_text(result: Path, judge_slug: str) -> str:
    """Plain-text leaderboard of one judge folder for the terminal (from its built reports; when none
    are built yet, straight from the eval.json files)."""
    result = Path(result)
    judge_slug = normalize_evaluator_slug(judge_slug)
    folder = result / "reports" / judge_slug
    reports = _summaries_from_reports(folder)
    if not reports:
        models = discover(result).get(judge_slug, {})
        reports = [model_report(m, judge_slug, {}, False)
                   for m in collect_judge(result, judge_slug, models, None)]
    if not reports:
        return f"judge {judge_slug}: no evaluations under {result}"

    def key(r: dict[str, Any]) -> tuple[int, float, str]:
        final = r["mean"]["final"]
        return (1, 0.0, r["model"]) if final is None else (0, -final, r["model"])

    header = ("#", "model", "tasks", "IFS", "VFS", "Final", "no page", "errors", "missing", "undecided")
    lines = []
    for i, r in enumerate(sorted(reports, key=key), start=1):
        c, mean = r["counts"], r["mean"]
        lines.append((str(i), str(r.get("label") or r["model"]), f"{c['scored']}/{c['tasks']}", _fmt(mean["IFS"]), _fmt(mean["VFS"]),
                      _fmt(mean["final"]), str(c["no_page"]), str(c["errors"]), str(c["missing"]),
                      str(c["undecided"])))
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in
                         enumerate(zip(row, widths, strict=True))).rstrip()

    title = f"IWR-Bench leaderboard, judge: {judge_slug} (tasks = in the mean / selected)"
    return "\n".join([title, fmt(header), fmt(tuple("-" * w for w in widths)), *map(fmt, lines)])
