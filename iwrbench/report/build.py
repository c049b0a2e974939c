"""Reports built from eval.json files: per model json/csv/md, an index.html, a leaderboard.md and .png and
comparisons.json per judge, and judge-agreement reports between judge folders.

Layout (design.md): outputs/reports/<judge_slug>/<run_slug>.{json,csv,md}, index.html, leaderboard.{md,png},
comparisons.json; outputs/reports/agreement/<judge_a>__vs__<judge_b>.{json,md}. Each judge folder is built
only from eval.json files stored under that judge's slug, so scores of different judges are never mixed in
one mean. A model report is per run slug (layout.py): the epochs of one run (`<run_slug>@epoch-<e>`
folders) are one report; different variant tags are different reports, never averaged together.

Counting rules, in one place (scoring.classify, scoring.counted_scores), per evaluation (one task, one epoch):
- a task whose page was never generated (`error_kind` "no_page") scores 0 and is counted;
- an evaluation that broke (`status` "error" or `error_kind` "infrastructure"/"data", or an eval.json
  that cannot be read or belongs elsewhere) is not counted and is listed under `errors`;
- a selected task without any eval.json is listed under `missing`, never silently skipped; a task that
  lacks some of the run's epochs has them listed under `missing_epochs`.
A task's score is the mean over its counted epochs; the model's mean is the mean over tasks
(model_stats.py, with the 95% bootstrap interval and the standard error); `mean_n` says how many tasks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Task
from iwrbench.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temp,
)
from iwrbench.layout import (
    MANIFEST_FILE,
    MANIFESTS_FOLDER,
    OFFLINE_JUDGE,
    REPORTS_FOLDER,
    normalize_evaluator_slug,
    parse_evaluator_slug,
    run_slug,
    video_input_of,
)
from iwrbench.layout import judge_slug as slug_of_judge
from iwrbench.records.base import parse_record, read_record
from iwrbench.records.evaluation import EvalRecord
from iwrbench.records.manifest import Manifest, collect_manifest
from iwrbench.records.report import read_report, report_json
from iwrbench.report import board as report_board
from iwrbench.report.board import COMPARISONS_FILE, REPORT_MARK, leaderboard_md
from iwrbench.report.model_stats import CATEGORIES, PARTS, UNSPECIFIED, by_category, summarize
from iwrbench.report.rows import (
    VERDICTS,
    CheckpointMode,
    ModelResult,
    TaskRow,
    collect_judge,
    discover,
    load_record,
)
from iwrbench.report.text import md_text, render_csv, render_md

__all__ = ["CATEGORIES", "PARTS", "UNSPECIFIED", "ModelResult", "TaskRow", "build_reports", "discover",
           "leaderboard_text", "load_record", "md_text"]

STALE_TEMP_SECONDS = 600.0  # reports of one judge may be rebuilt by two runs at once


# ---------------------------------------------------------------- aggregation


def judges_summary(rows: list[TaskRow]) -> dict[str, dict[str, int]]:
    """{score part: {judge (or "not scored"): tasks}} over the rows that have a record."""
    out: dict[str, Counter] = {}
    for r in rows:
        for part, judge in r.judges.items():
            out.setdefault(part, Counter())[judge or "not scored"] += 1
    return {part: dict(sorted(c.items())) for part, c in sorted(out.items())}


def _evaluation_rows(m: ModelResult) -> list[TaskRow]:
    return [r for tid in (row.task_id for row in m.rows) for r in m.epoch_rows.get(tid, {}).values()]


def generation_summary(records: dict[Any, EvalRecord]) -> dict[str, Any]:
    """What made the pages, over the evaluations: protocols, prompt files, imports."""
    protocols: Counter = Counter()
    prompts: dict[str, dict[str, Any]] = {}
    imported = 0
    for rec in records.values():
        gen = rec.generation
        if gen.imported_from:
            imported += 1
            protocols["imported"] += 1
        else:
            protocols[str(gen.protocol or "not recorded")] += 1
        pf = gen.prompt_file
        if pf is not None and pf.sha256:
            entry = prompts.setdefault(pf.sha256, {"name": pf.name, "sha256": pf.sha256, "tasks": 0})
            entry["tasks"] += 1
    return {"protocols": dict(sorted(protocols.items())), "prompt_files": list(prompts.values()),
            "imported": imported}


def model_report(m: ModelResult, judge: str, manifest: dict[str, Any], tasks_known: bool) -> dict[str, Any]:
    rows = m.rows
    evaluations = _evaluation_rows(m) or rows
    summary = summarize(rows)
    verdicts = Counter()
    for r in rows:
        if r.counted:
            verdicts.update(r.verdicts)
    missing_epochs = [{"task_id": r.task_id, "epoch": e} for r in rows if r.status != "missing"
                      for e in m.epochs if e not in m.epoch_rows.get(r.task_id, {}) or
                      m.epoch_rows[r.task_id][e].status == "missing"]
    counts = {
        "tasks": len(rows),
        "scored": sum(r.counted for r in rows),
        "no_page": sum(r.counted and r.error_kind == "no_page" for r in evaluations),
        "errors": sum(r.status == "error" for r in evaluations),
        "missing": sum(r.status == "missing" for r in rows),
        "undecided": int(verdicts.get("undecided", 0)),
        "verdicts": {v: int(verdicts.get(v, 0)) for v in VERDICTS},
        "execution_only": sum(r.execution_only for r in rows if r.counted),
        "outside_selection": m.outside_selection,
        "epochs": max(m.epochs),
        "evaluations": sum(r.counted for r in evaluations),
        "missing_epochs": len(missing_epochs),
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
    if max(m.epochs) > 1:
        notes.append(f"{max(m.epochs)} epochs (independent generations) per task: a task's score is the mean "
                     "over its counted epochs, and the interval resamples epochs within their task.")
    if m.outside_selection:
        notes.append(f"{m.outside_selection} eval.json file(s) of tasks outside the selected task list were "
                     "not used.")
    versions = Counter(r.harness_version or "unknown" for r in evaluations if r.status != "missing")
    finished = sorted(r.finished_at for r in evaluations if r.finished_at)
    return report_json({
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
        "complete": counts["errors"] == 0 and counts["missing"] == 0 and not missing_epochs,
        "mean": summary["mean"],
        "mean_n": summary["mean_n"],
        "ci95": summary["ci95"],
        "stderr": summary["stderr"],
        "counts": counts,
        "judges": judges_summary(rows),
        "by_category": by_category(rows),
        "errors": [{"task_id": r.task_id, "epoch": r.epoch, "error_kind": r.error_kind, "error": r.error,
                    "eval_json": r.eval_json} for r in evaluations if r.status == "error"],
        "missing": [r.task_id for r in rows if r.status == "missing"],
        "missing_epochs": missing_epochs,
        "manifest": manifest,
        "evaluations": {"harness_versions": dict(sorted(versions.items())),
                        "first_finished_at": finished[0] if finished else None,
                        "last_finished_at": finished[-1] if finished else None},
        "notes": notes,
        "tasks": [r.model_dump(mode="json") for r in rows],
    })


def leaderboard_text(result: Path, judge_slug: str) -> str:
    """Plain-text leaderboard of one judge folder for the terminal: from its built reports, or, when none
    are built yet, straight from the eval.json files."""
    reports = report_board.built_reports(result, judge_slug)
    if not reports:
        slug = normalize_evaluator_slug(judge_slug)
        models = discover(Path(result)).get(slug, {})
        reports = [model_report(m, slug, {}, False) for m in collect_judge(Path(result), slug, models, None)]
    return report_board.leaderboard_text(result, judge_slug, reports)


# ---------------------------------------------------------------- manifests


def store_manifest(result: Path, manifest: dict[str, Any]) -> Path:
    """File the manifest of an evaluation run under its judge (and model) so --report-only reuses it."""
    m = parse_record(Manifest, manifest)
    folder_name = m.settings.judge_folder or slug_of_judge(m.judge_slug or m.judge)
    folder = Path(result) / REPORTS_FOLDER / normalize_evaluator_slug(folder_name)
    model = m.model or m.settings.model
    variant = tuple(m.settings.variant or ())
    path = folder / MANIFESTS_FOLDER / f"{run_slug(model, variant)}.json" if model else folder / MANIFEST_FILE
    atomic_write_json(path, m.model_dump(mode="json"))
    return path


def manifest_for(folder: Path, slug: str, judge: str) -> dict[str, Any]:
    """The model's last run manifest, else the judge folder's, else one collected now (and kept)."""
    for path in (folder / MANIFESTS_FOLDER / f"{slug}.json", folder / MANIFEST_FILE):
        found = read_record(Manifest, path)
        if found is not None:
            return found.model_dump(mode="json")
    judge_s, agent_s = parse_evaluator_slug(judge)
    data = collect_manifest({"judge": None if judge_s == OFFLINE_JUDGE else judge_s, "agent": agent_s})
    data["source"] = "collected at report time: the evaluation run left no manifest"
    atomic_write_json(folder / "manifest.json", data)
    return data


# ---------------------------------------------------------------- entry points


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Drop model reports this module wrote earlier for models that have no eval.json any more."""
    for path in folder.glob("*.json"):
        if path.stem in keep or path.name in (COMPARISONS_FILE, MANIFEST_FILE):
            continue
        report = read_report(path)
        if report is not None and report.report == REPORT_MARK:
            for suffix in (".json", ".csv", ".md"):
                path.with_suffix(suffix).unlink(missing_ok=True)


def build_judge(result: Path, judge: str, results: list[ModelResult], tasks: list[Task] | None,
                checkpoints: CheckpointMode = "auto", other_judges: list[str] | None = None,
                agreements: list[dict[str, Any]] | None = None) -> list[Path]:
    from iwrbench.report.compare import comparisons
    from iwrbench.report.html import render_index
    from iwrbench.report.plot import draw_leaderboard

    folder = result / REPORTS_FOLDER / judge
    folder.mkdir(parents=True, exist_ok=True)
    for sub in (folder, folder / MANIFESTS_FOLDER):  # litter of a killed run; spare a concurrent writer's files
        remove_stale_temp(sub, older_than=STALE_TEMP_SECONDS)
    written: list[Path] = []
    for m in results:
        m.report = model_report(m, judge, manifest_for(folder, m.slug, judge), tasks is not None)
        written.append(atomic_write_json(folder / f"{m.slug}.json", m.report, only_if_changed=True))
        written.append(atomic_write_text(folder / f"{m.slug}.csv", render_csv(m.report), only_if_changed=True))
        written.append(atomic_write_text(folder / f"{m.slug}.md", render_md(m.report), only_if_changed=True))
    _remove_stale(folder, {m.slug for m in results})
    ranked = rank(results)
    compared = comparisons(ranked, judge)
    written.append(atomic_write_json(folder / COMPARISONS_FILE, compared, only_if_changed=True))
    written.append(atomic_write_text(folder / "leaderboard.md", leaderboard_md([m.report for m in ranked], compared,
                                                                               judge), only_if_changed=True))
    shown = ("final", "final_all", "IFS", "VFS")
    bars = [(m.label, *(m.report["mean"][p] for p in shown)) for m in ranked]
    intervals = [tuple(m.report["ci95"][p] for p in shown) for m in ranked]
    written.append(atomic_write_bytes(folder / "leaderboard.png",
                                      draw_leaderboard(bars, title=f"judge: {judge}", intervals=intervals),
                                      only_if_changed=True))
    by_id = {t.id: t for t in tasks} if tasks is not None else {}
    html = render_index(folder, result, judge, ranked, by_id, checkpoints=checkpoints, other_judges=other_judges,
                        comparisons=compared, agreements=agreements or [])
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
    """Rebuild the reports of every judge folder found under --result (or only the named judges, and the
    already built judge folders that share an agreement report with them), and the agreement reports
    between each of them and any other judge folder that scored the same run.

    `tasks` is the task list the reports are over: pass the whole data file (load_tasks) so that tasks
    never evaluated show up as missing; None uses the tasks that have an eval.json for some model.
    `manifest` (from collect_manifest, at the end of an evaluation run) is kept in
    reports/<judge>/manifests/ and carried by that model's reports from then on, --report-only included.
    `checkpoints`: how index.html shows ground-truth images, see iwrbench.report_html.
    Returns the report files (json/csv/md per model, comparisons.json, leaderboard.md/png, index.html per
    judge), each written or, when its content is unchanged, left as it was.
    """
    from iwrbench.report.agreement import AGREEMENT_DIR, build_agreements

    result = Path(result)
    if manifest is not None:
        store_manifest(result, manifest)
    found = discover(result)
    judges = sorted(found) if judge_slugs is None else list(dict.fromkeys(map(normalize_evaluator_slug, judge_slugs)))
    reports = result / REPORTS_FOLDER
    built = {p.name for p in reports.iterdir() if p.name != AGREEMENT_DIR and (p / "index.html").is_file()} \
        if reports.is_dir() else set()
    every_judge = sorted(built | set(found) | set(judges))
    collected = {j: collect_judge(result, j, found.get(j, {}), tasks) for j in judges}
    for other in found:  # judge folders that scored a run of a judge being built: for the agreement
        if other not in collected and any(set(found[other]) & set(found.get(j, {})) for j in judges):
            collected[other] = collect_judge(result, other, found[other], tasks)
    agreements = build_agreements(result, collected, judges)
    # A judge folder already built that shares an agreement report with one built here gets its index.html
    # (and, left as they were when unchanged, its reports) rebuilt too, so its agreement section is never
    # stale; a folder never built is left to its own run.
    partners = sorted(j for j in {j for a in agreements for j in a["judges"]} - set(judges) if j in built)
    written: list[Path] = []
    for judge in judges + partners:
        written += build_judge(result, judge, collected[judge], tasks, checkpoints, every_judge,
                               [a for a in agreements if judge in a["judges"]])
    return written

