#!/usr/bin/env python3
"""Judge agreement: does the harness score reconstructions of known quality as their labels say?

Runs evaluate.py (the real entry point, as a subprocess) over the labelled reconstructions of the
third-party corpus (`make thirdparty`), with the offline judge by default or `--judge provider/model`, and
prints: per-step agreement with the labels (pass/fail confusion matrix), mean IFS per kind of
reconstruction and per task, the first-failing-step accuracy on broken copies, the IFS error per task,
and where each disagreement came from (locator, action, settle, judge) with the step's reason.

    python bench/judge_agreement.py                         # offline judge, one run
    python bench/judge_agreement.py --runs 2                # twice, separate result folders: same verdicts?
    python bench/judge_agreement.py --judge openai/gpt-4o --task jqueryui-tabs
    python bench/judge_agreement.py --report-only --write-docs docs/validity.md

Each run evaluates a fresh copy of the reconstructions in <cache>/agreement/run-<r>/ (hard links), so
runs never share state; --report-only reads the last runs' eval.json files instead, and --resume keeps
them and evaluates only what they lack (tasks added since, pages whose evaluation failed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import agreement_stats as st  # noqa: E402
from iwrbench.errors import UserError  # noqa: E402
from iwrbench.fsutil import atomic_write_json, atomic_write_text  # noqa: E402
from iwrbench.layout import eval_path, judge_slug, page_dir  # noqa: E402

DEFAULT_CACHE = ROOT / ".cache" / "thirdparty"
DOC_BEGIN, DOC_END = "<!-- agreement:begin -->", "<!-- agreement:end -->"
EVAL_TIMEOUT_S = 3600


def _settle_cap() -> float:
    try:
        from iwrbench.replay.capture import SETTLE_CAP
        return float(SETTLE_CAP)
    except (ImportError, AttributeError, TypeError, ValueError):
        return st.DEFAULT_SETTLE_CAP


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"invalid JSON: {exc}", file=str(path)) from None


def select_tasks(labels: dict[str, Any], only: list[str] | None) -> dict[str, Any]:
    if not only:
        return labels
    wanted = {t for item in only for t in item.split(",") if t}
    unknown = wanted - set(labels["tasks"])
    if unknown:
        raise UserError(f"no labels for task(s) {', '.join(sorted(unknown))}")
    return {**labels, "tasks": {k: v for k, v in labels["tasks"].items() if k in wanted}}


def prepare_run(source: Path, run_dir: Path, labels: dict[str, Any], *, resume: bool = False) -> None:
    """A fresh copy of the labelled reconstructions (hard links where possible; no eval/ results). With
    `resume`, what an earlier run copied and evaluated stays (evaluate.py skips finished pages)."""
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)
    for tid, task in labels["tasks"].items():
        for model in task["models"]:
            src = page_dir(source, tid, model)
            if not src.is_dir() or (resume and page_dir(run_dir, tid, model).is_dir()):
                continue  # missing: counted as "no eval.json" in the tables
            shutil.copytree(src, page_dir(run_dir, tid, model), ignore=shutil.ignore_patterns("eval"),
                            copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def run_evaluate(data: Path, run_dir: Path, labels: dict[str, Any], judge: str | None, workers: int,
                 log: Path) -> None:
    """evaluate.py once per model, over the tasks that have that model."""
    per_model: dict[str, list[str]] = {}
    for tid, task in labels["tasks"].items():
        for model in task["models"]:
            per_model.setdefault(model, []).append(tid)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:  # this run's evaluations only
        for model, tasks in sorted(per_model.items()):
            cmd = [sys.executable, str(ROOT / "evaluate.py"), "--data", str(data), "--result", str(run_dir),
                   "--model", model, "--task", ",".join(tasks), "--workers", str(workers), "-q"]
            if judge:
                cmd += ["--judge", judge]
            t = time.monotonic()
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=EVAL_TIMEOUT_S, cwd=ROOT)
            print(f"  {model}: {len(tasks)} task(s), exit {proc.returncode}, {time.monotonic() - t:.0f} s",
                  flush=True)
            if proc.returncode not in (0, 1):
                raise UserError(f"evaluate.py exited {proc.returncode} for {model} (see {log})")


def read_evals(run_dir: Path, labels: dict[str, Any], judge: str | None) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for tid, task in labels["tasks"].items():
        for model in task["models"]:
            path = eval_path(run_dir, tid, model, judge)
            try:
                out[(tid, model)] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                out[(tid, model)] = None
    return out


def read_targets(data: Path, labels: dict[str, Any]) -> dict[str, list[dict[str, Any] | None]]:
    """The element each action was recorded on (the task folder's recording.json)."""
    out: dict[str, list[dict[str, Any] | None]] = {}
    for tid in labels["tasks"]:
        rec = data.with_suffix("") / tid / "recording.json"
        try:
            out[tid] = [a.get("target") for a in json.loads(rec.read_text(encoding="utf-8"))["actions"]]
        except (OSError, json.JSONDecodeError, KeyError):
            out[tid] = []
    return out


# ---------------------------------------------------------------- tables


def _f(v: float | None, nd: int = 1) -> str:
    return "–" if v is None else f"{v:.{nd}f}"


def read_splits(labels: dict[str, Any]) -> dict[str, str]:
    """Each task's split ("tuning" or "held-out") from its action script in utils/thirdparty/tasks/."""
    from utils.thirdparty.build import task_specs

    return {tid: str(meta.get("split") or "tuning") for tid, _, meta in task_specs() if tid in labels["tasks"]}


def render(t: st.Tally, labels: dict[str, Any], judge: str | None, repeat: tuple[int, int] | None,
           runs: int, split_of: dict[str, str] | None = None) -> str:
    lines: list[str] = []
    c = st.confusion(t.steps)
    agree = st.agreement(t.steps)
    ok, nb = st.first_fail_accuracy(t)
    lines += [f"Judge: {judge_slug(judge)}; {len(labels['tasks'])} tasks, {len(t.models)} reconstructions, "
              f"{len(t.steps)} labelled steps (run 1 of {runs}).", "",
              "**Per-step agreement with the labels**", "",
              "| label \\ verdict | pass | fail |", "| --- | ---: | ---: |",
              f"| pass | {c['pass->pass']} | {c['pass->fail']} |",
              f"| fail | {c['fail->pass']} | {c['fail->fail']} |", "",
              f"Agreement: **{_f(agree)} %** of steps. First failing step right on broken copies: "
              f"**{ok}/{nb}**" + (f" ({100 * ok / nb:.0f} %)." if nb else "."), ""]
    if repeat:
        same, total = repeat
        lines += [f"Two runs gave the same verdict on **{same}/{total}** steps "
                  f"({100 * same / total:.1f} %)." if total else "Two runs: nothing to compare.", ""]
    splits = st.by_split(t, split_of or {})
    if len(splits) > 1 or "held-out" in splits:
        lines += ["**Per split** (held-out: tasks written and frozen before any measurement on them)", "",
                  "| split | tasks | steps | step agreement | first failing step right | mean IFS of correct pages |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, row in splits.items():
            ff = row["first_fail"]
            lines.append(f"| {name} | {row['tasks']} | {row['steps']} | {_f(row['agreement'])} % | "
                         f"{ff['right']}/{ff['of']} | {_f(row['correct_pages_IFS'])} |")
        lines.append("")
    lines += ["**Mean IFS per kind of reconstruction**", "",
              "| kind | n | mean IFS | expected | below 80 | step agreement |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for kind, row in st.by_kind(t).items():
        lines.append(f"| {kind} | {row['n']} | {_f(row['IFS'])} | {_f(row['expected_IFS'])} | {row['below_80']} | "
                     f"{_f(row['agreement'])} % |")
    models = sorted({m.model for m in t.models}, key=lambda m: (not m.endswith("self"), not m.endswith("other"), m))
    short = [m.split("/", 1)[-1] for m in models]
    lines += ["", "**IFS per task** (observed / expected; MAE = mean absolute IFS error)", "",
              "| task | " + " | ".join(short) + " | MAE |", "| --- |" + " ---: |" * (len(models) + 1)]
    for tid, row in sorted(st.ifs_error_by_task(t).items()):
        cells = []
        for m in models:
            v = row["models"].get(m)
            cells.append("" if v is None else f"{_f(v['IFS'], 0)} / {_f(v['expected'], 0)}")
        lines.append(f"| {tid} | " + " | ".join(cells) + f" | {_f(row['mae'])} |")
    causes = st.causes(t)
    lines += ["", "**Where the disagreements come from**", "",
              "| cause | steps |", "| --- | ---: |"] + [f"| {k} | {v} |" for k, v in causes.items()]
    if not causes:
        lines.append("| (none) | 0 |")
    lines += ["", "**Every disagreement** (label -> verdict, cause, the step's reason)", ""]
    for s in t.steps:
        if not s.agrees:
            reason = re.sub(r"\s+", " ", s.reason).replace("|", "/")[:220]
            lines.append(f"- {s.task} · {s.model.split('/', 1)[-1]} · step {s.index}: {s.expected} -> "
                         f"{s.observed} · **{s.cause}** · {reason}")
    unvalidated = [(tid, m, lab["validation"]) for tid, task in sorted(labels["tasks"].items())
                   for m, lab in sorted(task["models"].items())
                   if lab.get("validation") and lab["validation"].get("status") != "validated"]
    if unvalidated:
        lines += ["", "**Labels the build could not validate by recording**", ""]
        lines += [f"- {tid} · {m.split('/', 1)[-1]}: {v['status']}: {v['detail']}" for tid, m, v in unvalidated]
    return "\n".join(lines) + "\n"


def summary_json(t: st.Tally, repeat: tuple[int, int] | None, split_of: dict[str, str] | None = None) -> dict[str, Any]:
    ok, nb = st.first_fail_accuracy(t)
    return {"schema_version": 1, "by_split": st.by_split(t, split_of or {}), "confusion": st.confusion(t.steps), "agreement": st.agreement(t.steps),
            "first_fail": {"right": ok, "of": nb}, "by_kind": st.by_kind(t), "ifs_by_task": st.ifs_error_by_task(t),
            "causes": st.causes(t), "repeat_same": None if repeat is None else {"same": repeat[0], "of": repeat[1]},
            "disagreements": [s.__dict__ for s in t.steps if not s.agrees]}


def write_docs(path: Path, text: str) -> None:
    """Replace what sits between the agreement markers (they must be there)."""
    try:
        doc = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    if DOC_BEGIN not in doc or DOC_END not in doc:
        raise UserError(f"no {DOC_BEGIN} ... {DOC_END} markers", file=str(path))
    head, rest = doc.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    atomic_write_text(path, f"{head}{DOC_BEGIN}\n{text}{DOC_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the corpus built by `make thirdparty`")
    p.add_argument("--data", type=Path, help="data file (default: <cache>/data/thirdparty.jsonl)")
    p.add_argument("--labels", type=Path, help="labels file (default: <cache>/labels.json)")
    p.add_argument("--reconstructions", type=Path, help="result folder of the reconstructions (<cache>/results)")
    p.add_argument("--out", type=Path, help="where the runs go (default: <cache>/agreement)")
    p.add_argument("--judge", help="judge model passed to evaluate.py (default: offline)")
    p.add_argument("--runs", type=int, default=1, help="evaluate this many times, separately (2: same verdicts?)")
    p.add_argument("--task", action="append", help="only these tasks (repeatable; also a,b)")
    p.add_argument("--workers", type=int, default=1, help="evaluate.py --workers (default: %(default)s)")
    p.add_argument("--report-only", action="store_true", help="read the last runs' results; evaluate nothing")
    p.add_argument("--resume", action="store_true",
                   help="keep the last runs' results and evaluate only what they lack (new tasks, errors)")
    p.add_argument("--write-docs", type=Path, metavar="MD", help="write the tables between the markers of MD")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    cache = args.cache.resolve()
    data = (args.data or cache / "data" / "thirdparty.jsonl").resolve()
    labels = select_tasks(load_json(args.labels or cache / "labels.json"), args.task)
    source = (args.reconstructions or cache / "results").resolve()
    out = (args.out or cache / "agreement").resolve()
    if args.runs < 1:
        raise UserError("--runs must be at least 1")
    evals = []
    for r in range(1, args.runs + 1):
        run_dir = out / f"run-{r}"
        if not args.report_only:
            print(f"run {r}: evaluating into {run_dir}", flush=True)
            prepare_run(source, run_dir, labels, resume=args.resume)
            run_evaluate(data, run_dir, labels, args.judge, args.workers, out / f"run-{r}.log")
        evals.append(read_evals(run_dir, labels, args.judge))
    t = st.tally(labels, evals[0], read_targets(data, labels), _settle_cap())
    repeat = st.same_verdict_share(evals[0], evals[1]) if len(evals) > 1 else None
    split_of = read_splits(labels)
    text = render(t, labels, args.judge, repeat, args.runs, split_of)
    print(text)
    summary = summary_json(t, repeat, split_of)
    atomic_write_json(args.json or out / f"summary-{judge_slug(args.judge)}.json", summary)
    if args.write_docs:
        write_docs(args.write_docs, text)
    return 0


if __name__ == "__main__":
    from iwrbench.cli import run_main

    run_main(main)
