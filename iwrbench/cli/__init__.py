"""Command-line plumbing shared by generate.py and evaluate.py: common flags, logging, error exit.

Settings come from flags, then the environment, then `.env` (loaded without overriding the
environment). Keys are never flags.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iwrbench.data.tasks import Task, load_tasks, parse_shard, select_tasks
from iwrbench.errors import UserError
from iwrbench.redaction import install_log_redaction, register_environment

EXIT_OK, EXIT_TASK_FAILED, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

log = logging.getLogger("iwrbench")


def load_dotenv_file(path: str | os.PathLike = ".env") -> None:
    """Load `.env` into the environment without overriding what is already set."""
    if Path(path).is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _whole_number(value: str, least: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least {least}")
    return n


def positive_int(value: str) -> int:
    return _whole_number(value, 1)


def non_negative_int(value: str) -> int:
    return _whole_number(value, 0)


def add_common_arguments(parser: argparse.ArgumentParser, *, default_workers: int) -> None:
    parser.add_argument("--data", default="data/sample.jsonl",
                        help="task file in the IWR-Bench jsonl format; task folders in <dir>/<stem>/<id>/ "
                             "(default: %(default)s)")
    parser.add_argument("--result", default="outputs", help="output root (default: %(default)s)")
    parser.add_argument("--task", action="append", metavar="ID",
                        help="only these task ids; repeatable, also comma lists: --task 1,5,9")
    parser.add_argument("--limit", type=non_negative_int, metavar="N", help="at most N tasks (after --task/--shard)")
    parser.add_argument("--shard", metavar="K/N",
                        help="only the K-th of N stable, disjoint shards of the tasks (by id hash)")
    parser.add_argument("--force", action="store_true", help="redo tasks that are already done")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help=f"tasks run concurrently (default: {default_workers}; env IWRBENCH_WORKERS)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings, errors and the summary")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")


def add_video_input_argument(parser: argparse.ArgumentParser, *, evaluate: bool = False) -> None:
    """--video-input, shared: a page generated with a setting is evaluated with the same setting."""
    what = ("the setting the pages were generated with: native pages live under <model_slug>--video"
            if evaluate else "what the model gets of the recording: frames (still images at --fps, the "
            "published protocol) or native (the video itself, for models that take video; pages go to "
            "<model_slug>--video)")
    parser.add_argument("--video-input", choices=("frames", "native"), default="frames",
                        help=f"{what} (default: %(default)s)")


def add_protocol_arguments(parser: Any, *, evaluate: bool = False) -> None:
    """--protocol and --prompt-file, shared: pages generated with them are evaluated with them."""
    if evaluate:
        protocol_help = "evaluate the pages generate.py made with this --protocol (paper: <model_slug>--paper)"
        prompt_help = ("evaluate the pages generate.py made with this --prompt-file (their folder "
                       "<model_slug>--prompt-<first 8 hex of its sha256>)")
    else:
        protocol_help = ("harness (default): this harness's request. paper: the published code's request: its "
                         "per-model token and image limits, 1 fps frames at recorded size, contact sheets first, "
                         "no captions, temperature 0 (docs/protocol.md); fixes the request settings")
        prompt_help = ("your own instructions instead of the built-in ones, a template with the fields {width} "
                       "{height} {resolution} {fps} {frames} {sheets} {assets_base} ({{ and }} for braces)")
    parser.add_argument("--protocol", choices=("harness", "paper"), default="harness", help=protocol_help)
    parser.add_argument("--prompt-file", metavar="FILE", help=prompt_help)


def run_variant(args: argparse.Namespace, prompt: Any = None) -> tuple[str, ...]:
    """The run-slug tags of the settings on this command line (iwrbench.layout.variant_tags); `prompt`
    is the loaded --prompt-file (iwrbench.prompt_file.PromptFile), if any."""
    from iwrbench.layout import variant_tags

    return variant_tags(protocol=getattr(args, "protocol", "harness"),
                        video_input=getattr(args, "video_input", "frames"),
                        prompt_sha256=prompt.sha256 if prompt is not None else None)


def resolve_workers(args: argparse.Namespace, default: int) -> int:
    if args.workers:
        return args.workers
    env = os.environ.get("IWRBENCH_WORKERS")
    if env:
        try:
            return positive_int(env)
        except argparse.ArgumentTypeError as exc:
            raise UserError(f"IWRBENCH_WORKERS: {exc}") from None
    return default


def setup_logging(args: argparse.Namespace) -> None:
    register_environment()  # keys, tokens and secrets never reach a log line
    install_log_redaction()
    level = logging.WARNING if args.quiet else (logging.DEBUG if args.verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(message)s"))
    root = logging.getLogger("iwrbench")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # Third-party libraries are noisy at INFO; keep them at WARNING unless -vv. browser-use (and its CDP
    # client) attaches to every page of the shared browser, other tasks' too, and warns when one of them
    # closes while it attaches ("Failed to enable monitoring ... Client is stopping"): its failures that
    # matter reach the harness as errors, which it records, so its warnings wait for -v.
    libraries = logging.DEBUG if args.verbose > 1 else logging.WARNING
    for name in ("httpx", "openai", "anthropic", "google_genai", "bubus", "RapidOCR"):
        logging.getLogger(name).setLevel(libraries)
    for name in ("browser_use", "cdp_use"):
        logging.getLogger(name).setLevel(libraries if args.verbose else logging.ERROR)


def selected_tasks(args: argparse.Namespace) -> list[Task]:
    tasks = load_tasks(args.data)
    return select_tasks(tasks, ids=args.task, limit=args.limit, shard=parse_shard(args.shard))


def run_main(main: Callable[[], int | None]) -> None:
    """Run a command: UserError -> one line on stderr and exit 2; Ctrl-C -> exit 130; never a traceback
    for a user error."""
    load_dotenv_file()
    try:
        code = main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted: finished tasks are kept; rerun the same command to resume", file=sys.stderr)
        code = EXIT_INTERRUPTED
    sys.exit(code or 0)
