"""Replay every ground-truth action on each generated page in Chromium, judge it, score it, report it.

    python evaluate.py --data data/sample.jsonl --result outputs --model openai/gpt-4o --workers 2 \\
                       [--judge openai/gpt-4o]
    python evaluate.py --report-only            # rebuild reports from existing eval.json files
    python evaluate.py --model openai/gpt-4o --rejudge [--judge NAME]   # judge stored replays again, no browser

Without --judge everything runs offline: a deterministic element locator, an offline assertion judge and
VFS from its low-level part only. Results of different judges are kept in different folders.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from iwrbench import cli, layout
from iwrbench.errors import UserError

log = logging.getLogger("iwrbench.evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_common_arguments(parser, default_workers=2)
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="model whose pages to evaluate, as given to generate.py (repeatable; also comma "
                             "lists). Required unless --report-only")
    parser.add_argument("--judge", metavar="NAME",
                        help="model that judges assertions and grades the rubric, and by default also picks "
                             "elements (e.g. openai/gpt-4o). Default: none, the offline judges")
    parser.add_argument("--agent", metavar="NAME",
                        help="model that picks the elements to act on, or 'offline' for the deterministic locator. "
                             "Default: the --judge model, else offline. When it differs from the judge, results go "
                             "to the judge folder <judge>+agent-<agent>")
    cli.add_video_input_argument(parser, evaluate=True)
    cli.add_protocol_arguments(parser, evaluate=True)
    parser.add_argument("--epochs", type=cli.positive_int, metavar="N",
                        help="evaluate epochs 1..N of each model's pages (generate.py --epochs); "
                             "default: every epoch found")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild reports from existing eval.json files; no browser, no model")
    parser.add_argument("--rejudge", action="store_true",
                        help="judge and score again from the stored replay traces (trace.json), no browser: "
                             "the replays of the --agent given (default: offline, as recorded), judged by "
                             "--judge (default: the offline judges) into that judge's folder; every selected "
                             "task is judged again")
    parser.add_argument("--image-metric", choices=("ssim", "dinov2", "dinov2-paper"), default="ssim",
                        help="image similarity: aligned SSIM + colour (default), DINOv2 on the whole page, or "
                             "dinov2-paper: the published dinov2-base with its default centre crop (both DINOv2 "
                             "metrics need torch, transformers and the weights in the local Hugging Face cache)")
    parser.add_argument("--no-visual", action="store_true",
                        help="skip visual scoring (VFS is then null); for timing the replay alone")
    parser.add_argument("--browsers", type=cli.positive_int, metavar="N",
                        help="Chromiums the workers share, each task in its own context (default: one per 4 "
                             "workers; never more than --workers)")
    parser.add_argument("--judge-concurrency", type=cli.positive_int, metavar="N",
                        help="model calls (agent and judge) in flight at most; a 429 pauses them all, honouring "
                             "Retry-After (default: 16; env IWRBENCH_JUDGE_CONCURRENCY)")
    parser.add_argument("--step-timeout", type=float, default=10.0, metavar="S",
                        help="timeout of one browser action (default: %(default)s)")
    parser.add_argument("--task-timeout", type=float, default=None, metavar="S",
                        help="hard cap on one task (default: 60 s + 20 s per action)")
    return parser


def judge_concurrency(args: argparse.Namespace) -> int | None:
    """--judge-concurrency, else IWRBENCH_JUDGE_CONCURRENCY, else None (the default)."""
    if args.judge_concurrency:
        return args.judge_concurrency
    env = os.environ.get("IWRBENCH_JUDGE_CONCURRENCY", "").strip()
    if not env:
        return None
    try:
        return cli.positive_int(env)
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"IWRBENCH_JUDGE_CONCURRENCY: {exc}") from None


def effective_limits(settings) -> dict[str, int | None]:
    """The browsers and model calls in flight a run uses, defaults resolved, for its manifest."""
    from iwrbench.models.gate import DEFAULT_LIMIT
    from iwrbench.sandbox.browser_share import default_browsers

    uses_model = bool(settings.judge or settings.agent_model)
    return {"browsers": min(settings.workers, settings.browsers or default_browsers(settings.workers)),
            "judge_concurrency": (settings.judge_concurrency or DEFAULT_LIMIT) if uses_model else None}


def model_names(values: list[str] | None) -> list[str]:
    names: list[str] = []
    for value in values or []:
        names += [v.strip() for v in value.split(",") if v.strip() and v.strip() not in names]
    return names


def epochs_to_evaluate(result: Path, task_ids: list[str], model: str, requested: int | None,
                       variant: tuple[str, ...] = ()) -> list[int]:
    """1..N with --epochs N, else 1 up to the highest epoch any selected task has a page folder for (an
    epoch a task lacks is then that task's missing page, scored 0 like any other)."""
    if requested:
        return list(range(1, requested + 1))
    found = layout.epochs_found(result, task_ids, model, variant)
    return list(range(1, max(found, default=1) + 1))


def report(result: Path, data: str, judges: list[str] | None, manifest: dict | None) -> list[Path]:
    """Rebuild reports over the whole data file, so tasks never evaluated show up as missing."""
    from iwrbench.data.tasks import load_tasks
    from iwrbench.report.build import build_reports

    tasks = load_tasks(data) if Path(data).is_file() else None
    return build_reports(result, tasks, judges, manifest=manifest)


def print_leaderboards(result: Path, judges: list[str]) -> None:
    from iwrbench.report.build import leaderboard_text

    for slug in judges:
        print(f"\nLeaderboard ({slug} judge) — {result / 'reports' / slug}")
        print(leaderboard_text(result, slug))


def main() -> int:
    args = build_parser().parse_args()
    cli.setup_logging(args)
    result = Path(args.result)
    if args.report_only and args.rejudge:
        raise UserError("--report-only and --rejudge exclude each other: --rejudge writes eval.json files, then "
                        "the reports")
    if args.report_only:
        reports_root = result / layout.REPORTS_FOLDER
        found = sorted({p.parent.name for p in result.glob(f"*/*/{layout.EVAL_FOLDER}/*/{layout.EVAL_FILE}")})  # epochs' too
        if not found:
            raise UserError(f"no eval.json files under {result}/<task>/<model>/eval/; run evaluate.py first")
        report(result, args.data, found, None)
        print_leaderboards(result, found)
        log.info("reports written under %s", reports_root)
        return cli.EXIT_OK

    models = model_names(args.model)
    if not models:
        raise UserError("--model is required (the model whose pages to evaluate), e.g. --model builtin/oracle")
    for name in models:
        layout.model_slug(name)  # validates the name early
    tasks = cli.selected_tasks(args)
    if not tasks:
        raise UserError("no task selected (check --task/--shard/--limit)")

    from iwrbench.evaluation.parts import check_judge_available
    from iwrbench.evaluation.progress import ProgressPrinter
    from iwrbench.evaluation.rejudge import run_rejudge
    from iwrbench.evaluation.run import EvalSettings, run_evaluation
    from iwrbench.generation.prompt_file import load_prompt_file
    from iwrbench.records.manifest import collect_manifest

    prompt = load_prompt_file(args.prompt_file) if args.prompt_file else None
    agent = args.agent.strip() if args.agent else (layout.OFFLINE_JUDGE if args.rejudge else None)
    settings = EvalSettings(judge=args.judge, agent=agent,
                            workers=cli.resolve_workers(args, 2), force=args.force or args.rejudge,
                            visual=not args.no_visual, image_metric=args.image_metric,
                            step_timeout=args.step_timeout, task_timeout=args.task_timeout,
                            variant=cli.run_variant(args, prompt), browsers=args.browsers,
                            judge_concurrency=judge_concurrency(args))
    check_judge_available(settings, agent=not args.rejudge)
    effective = effective_limits(settings)
    run = run_rejudge if args.rejudge else run_evaluation
    any_error = False
    for model in models:
        label = layout.run_slug(model, settings.variant) if settings.variant else model
        epochs = epochs_to_evaluate(result, [t.id for t in tasks], model, args.epochs, settings.variant)
        did_work = False
        for epoch in epochs:
            name = label if epoch == 1 else f"{label} epoch {epoch}"
            with ProgressPrinter(len(tasks), f"evaluate {name}", quiet=args.quiet) as progress:
                summary = asyncio.run(run(tasks, result, model, settings, progress=progress.update, epoch=epoch))
            errors = [o for o in summary.outcomes if o.status == "error"]
            any_error |= bool(errors)
            print(f"{name}: {summary.count('scored')} scored, {summary.count('skipped')} already done, "
                  f"{len(errors)} errors in {summary.seconds:.1f}s", file=sys.stderr)
            for o in errors:
                print(f"  task {o.task_id}: {o.message}", file=sys.stderr)
            for line in (summary.model_calls, summary.ocr):
                if line:
                    print(f"  {line}", file=sys.stderr)
            did_work |= summary.count("skipped") < len(summary.outcomes)
        # A run that evaluated nothing keeps the manifest of the run that produced the scores: its
        # settings (and created_at) are the ones behind the numbers, and the reports stay byte-identical.
        report(result, args.data, [settings.folder], collect_manifest({
            "model": model, "judge": args.judge, "agent": settings.agent_model or "offline",
            "judge_folder": settings.folder, "protocol": args.protocol,
            "prompt_file": prompt.record if prompt else None, "data": args.data, "image_metric": args.image_metric,
            "video_input": args.video_input, "variant": list(settings.variant),
            "visual": not args.no_visual, "workers": settings.workers, "browsers": effective["browsers"],
            "judge_concurrency": effective["judge_concurrency"], "step_timeout": args.step_timeout,
            "task_timeout": args.task_timeout, "tasks_selected": len(tasks), "epochs": len(epochs),
            **({"rejudge": True} if args.rejudge else {})},
            # a rejudge starts no browser: its manifest names none rather than asking Chromium its version
            **({"chromium_version": "none: judged again from stored traces (--rejudge)"} if args.rejudge else {}))
            if did_work else None)
    slug = settings.folder
    if not args.quiet:
        print_leaderboards(result, [slug])
    return cli.EXIT_TASK_FAILED if any_error else cli.EXIT_OK


def run() -> None:
    """The `iwrbench-evaluate` console script and `python evaluate.py`: errors as one line, exit codes."""
    cli.run_main(main)


if __name__ == "__main__":
    run()
