"""Generate one page per task with a model: outputs/<task>/<model_slug>/index.html + generation.json.

    python generate.py --data data/sample.jsonl --result outputs --model openai/gpt-4o --workers 8

Exit status: 0 when every task is done or was already done, 1 when any task failed (each failed
task's generation.json says why), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from iwrbench import cli, layout
from iwrbench.cli import (
    add_common_arguments,
    add_video_input_argument,
    positive_int,
    resolve_workers,
    run_main,
    run_variant,
    selected_tasks,
    setup_logging,
)
from iwrbench.errors import UserError
from iwrbench.generation.prompt_file import load_prompt_file
from iwrbench.generation.protocol import paper_config
from iwrbench.generation.run import format_summary, run_generation
from iwrbench.generation.settings import GenerationSettings
from iwrbench.media.video_clip import VideoSettings
from iwrbench.models.registry import NAME_HELP, get_model, parse_model_name
from iwrbench.models.settings import resolve_settings

DEFAULT_WORKERS = 8


def positive_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return x


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, default_workers=DEFAULT_WORKERS)
    parser.add_argument("--model", help=f"the model that writes the pages (required): {NAME_HELP}")
    parser.add_argument("--epochs", type=positive_int, default=1, metavar="N",
                        help="independent generations per task (default 1); epoch 1 at the usual path, "
                             "epoch e >= 2 in <task>/<model>@epoch-<e>/, each with its own cache key")
    g = parser.add_argument_group("model settings (flags override IWRBENCH_* environment variables)")
    g.add_argument("--max-tokens", type=positive_int, metavar="N", help="reply budget in tokens (IWRBENCH_MAX_TOKENS; 16384)")
    g.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (IWRBENCH_TEMPERATURE; 0)")
    g.add_argument("--timeout", type=positive_float, metavar="SECONDS", help="seconds per request (IWRBENCH_TIMEOUT; 600)")
    g.add_argument("--max-attempts", type=positive_int, metavar="N", help="attempts per request (IWRBENCH_MAX_ATTEMPTS; 4)")
    g.add_argument("--max-images", type=positive_int, metavar="N",
                   help="images per request in all, frames + contact sheets (IWRBENCH_MAX_IMAGES; 70)")
    g.add_argument("--image-side", type=positive_int, metavar="PIXELS", help="longest image side in pixels (IWRBENCH_IMAGE_SIDE; 1280)")
    g.add_argument("--fps", type=positive_float, metavar="FPS", help="frames sampled per second of video (1)")
    g.add_argument("--max-frames", type=positive_int, metavar="N",
                   help="at most this many frames, evenly spread over longer videos (64)")
    v = parser.add_argument_group("native video (--video-input native): the recording is sent as it is when it "
                                  "fits these limits, else re-encoded (VP8 WebM) to fit")
    add_video_input_argument(v)
    v.add_argument("--video-fps", type=positive_float, metavar="FPS", default=2.0,
                   help="at most this many frames per second (2; Gemini samples at this rate, vLLM at its own)")
    v.add_argument("--video-max-side", type=positive_int, metavar="PIXELS", default=1280,
                   help="longest side of the video in pixels (1280)")
    v.add_argument("--video-max-mb", type=positive_float, metavar="MB", default=20.0,
                   help="largest video in MB (20); a longer recording gets fewer frames per second, then "
                        "fewer pixels; Gemini takes a request over 20 MB through its Files API")
    p = parser.add_argument_group("protocol and instructions (each non-default choice writes its pages to a "
                                  "folder of its own, <model_slug>--paper, <model_slug>--prompt-<sha8>)")
    cli.add_protocol_arguments(p)
    g.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the response cache (IWRBENCH_CACHE_DIR, default .cache/responses); "
                        "--force skips reading it but stores the new replies")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args)
    if not args.model:
        raise UserError(f"--model is required: {NAME_HELP} (e.g. --model openai/gpt-4o or --model builtin/oracle)")
    spec = parse_model_name(args.model)
    if args.video_max_side < 64:
        raise UserError(f"--video-max-side {args.video_max_side} is too small (at least 64 pixels)")
    if args.video_input == "native" and spec.provider == "builtin":
        raise UserError(f"--video-input native: {args.model} builds pages from the task, it is shown no video; "
                        "use --video-input frames")
    prompt = load_prompt_file(args.prompt_file) if args.prompt_file else None
    request_flags = {"max_tokens": args.max_tokens, "temperature": args.temperature, "timeout": args.timeout,
                     "max_images": args.max_images, "image_side": args.image_side}
    if args.protocol == "paper":
        if args.video_input == "native":
            raise UserError("--protocol paper sends frames, as the published code does; drop --video-input native")
        given = [f"--{k.replace('_', '-')}" for k, v in {**request_flags, "fps": args.fps,
                                                          "max_frames": args.max_frames}.items() if v is not None]
        if given:
            raise UserError(f"--protocol paper fixes the request settings; drop {', '.join(given)} "
                            "(or use --protocol harness)")
    flags = {**request_flags, "max_attempts": args.max_attempts,
             "refresh": True if args.force else None, "cache": False if args.no_cache else None}
    model_settings = resolve_settings(spec.provider, flags)
    model = get_model(args.model, model_settings)  # a missing API key stops here, before any work
    tasks = selected_tasks(args)
    workers = resolve_workers(args, DEFAULT_WORKERS)
    variant = run_variant(args, prompt)
    settings = GenerationSettings(model=model_settings, fps=args.fps or 1.0, max_frames=args.max_frames or 64,
                                  force=args.force, video_input=args.video_input, variant=variant,
                                  video=VideoSettings(fps=args.video_fps, max_side=args.video_max_side,
                                                      max_mb=args.video_max_mb),
                                  protocol=args.protocol, prompt_file=prompt,
                                  paper=paper_config(spec.model_id) if args.protocol == "paper" else None)
    summary = asyncio.run(_run(tasks, model, settings, Path(args.result), workers, quiet=args.quiet,
                               epochs=args.epochs))
    print(format_summary(summary))
    if variant:
        print(f"  pages in {args.result}/<task>/{layout.run_slug(args.model, variant)}/ "
              "(evaluate them with the same --protocol / --prompt-file / --video-input)")
    return summary.exit_code


async def _run(tasks, model, settings, result, workers, *, quiet, epochs=1):  # noqa: ANN001 (thin wrapper)
    """run_generation with a progress bar; log lines are routed around the bar."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[logging.getLogger("iwrbench")]), \
            tqdm(total=len(tasks) * epochs, desc="generate", unit="task", disable=quiet or None, file=sys.stderr) as bar:
        return await run_generation(tasks, model, settings, result, workers=workers,
                                    on_done=lambda _outcome: bar.update(1), epochs=epochs)



def run() -> None:
    """The `iwrbench-generate` console script and `python generate.py`: errors as one line, exit codes."""
    run_main(main)


if __name__ == "__main__":
    run()
