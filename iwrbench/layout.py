"""The output layout of design.md, in one place: slugs and every path under --result.

A page folder is named by its *run slug*: the model's slug, then one `--<tag>` per setting that makes
its pages not comparable with the default run (the paper's protocol, native video input, a prompt file:
`openai__gpt-4o--paper`), then `@epoch-<e>` for epochs after the first. The default run's first epoch
is exactly the contract path `outputs/<task>/<model_slug>/`; results in folders with different run
slugs are never averaged together, because every report is per run slug.

An evaluation's *judge folder* (`eval/<judge folder>/`, `reports/<judge folder>/`) is `offline`, the
judge model's slug (it also picked the elements), or `<judge slug>+agent-<agent slug>` when another
model, or the offline locator, picked them (`evaluate.py --agent`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OFFLINE_JUDGE = "offline"

# The names of the files and folders under --result (design.md); no other module spells them.
PAGE_FILE = "index.html"
GENERATION_FILE = "generation.json"
ASSETS_FOLDER = "assets"
EVAL_FOLDER = "eval"  # <page folder>/eval/<judge folder>/
EVAL_FILE = "eval.json"
TRACE_FILE = "trace.json"
REPORTS_FOLDER = "reports"  # <result>/reports/<judge folder>/
MANIFESTS_FOLDER = "manifests"  # <reports folder>/manifests/<run slug>.json
MANIFEST_FILE = "manifest.json"  # a judge folder's manifest when the run named no model
VARIANT_SEP = "--"
EPOCH_SEP = "@epoch-"
_TAG = re.compile(r"^[a-z0-9][a-z0-9.]*(?:-[a-z0-9.]+)*$")


def model_slug(name: str) -> str:
    """`openai/gpt-4o` -> `openai__gpt-4o` (lower-cased, `/` -> `__`, nothing path-like left)."""
    slug = name.strip().lower().replace("/", "__")
    slug = re.sub(r"[^a-z0-9_.\-]", "-", slug)
    if slug in {"", ".", ".."}:
        raise ValueError(f"model name {name!r} gives no usable folder name")
    return slug


def judge_slug(judge: str | None) -> str:
    return OFFLINE_JUDGE if not judge else model_slug(judge)


PAPER_TAG, VIDEO_TAG, PROMPT_TAG = "paper", "video", "prompt-"
VIDEO_INPUTS = ("frames", "native")


AGENT_SEP = "+agent-"  # '+' never occurs in a slug, so a judge folder name splits back unambiguously


class _SameAsJudge:
    def __repr__(self) -> str:
        return "SAME_AS_JUDGE"


SAME_AS_JUDGE: Any = _SameAsJudge()  # the agent argument's default: the judge model also picks elements


def evaluator_slug(judge: str | None, agent: str | None | _SameAsJudge = SAME_AS_JUDGE) -> str:
    """The judge folder's name. `agent` is the model that picks elements (None: the offline locator).
    `offline` when both are offline, the judge's slug when the judge also picks elements (the contract
    names), else `<judge slug>+agent-<agent slug>`: results of different agents are never mixed either."""
    judge_part = judge_slug(judge)
    agent_part = judge_part if agent is SAME_AS_JUDGE else judge_slug(agent)  # type: ignore[arg-type]
    return judge_part if agent_part == judge_part else f"{judge_part}{AGENT_SEP}{agent_part}"


def parse_evaluator_slug(folder: str) -> tuple[str, str]:
    """A judge folder's name -> (judge slug, agent slug)."""
    judge_part, sep, agent_part = folder.partition(AGENT_SEP)
    return judge_part, (agent_part if sep else judge_part)


def normalize_evaluator_slug(name: str) -> str:
    """A judge folder's name from a judge name, a judge slug or a folder name (`judge+agent-agent`)."""
    judge_part, agent_part = parse_evaluator_slug(name)
    judge_s = judge_slug(None if judge_part == OFFLINE_JUDGE else judge_part)
    agent_s = judge_slug(None if agent_part == OFFLINE_JUDGE else agent_part)
    return judge_s if agent_s == judge_s else f"{judge_s}{AGENT_SEP}{agent_s}"


def variant_tags(*, protocol: str = "harness", video_input: str = "frames",
                 prompt_sha256: str | None = None) -> tuple[str, ...]:
    """The run-slug tags of a generation setting, in their fixed order (paper, video, prompt-<8 hex>).
    generate.py and evaluate.py both call this, so a page written with a setting is found with it."""
    if video_input not in VIDEO_INPUTS:
        raise ValueError(f"video input {video_input!r} is not one of {', '.join(VIDEO_INPUTS)}")
    tags: list[str] = []
    if protocol == "paper":
        tags.append(PAPER_TAG)
    if video_input == "native":
        tags.append(VIDEO_TAG)
    if prompt_sha256:
        tags.append(PROMPT_TAG + prompt_sha256[:8].lower())
    return tuple(tags)


def video_input_of(variant: Sequence[str]) -> str:
    """"native" for a run slug tagged `video`, else "frames" (what reports print)."""
    return "native" if VIDEO_TAG in variant else "frames"


@dataclass(frozen=True)
class RunSlug:
    """A page folder's name taken apart: the model's slug, the variant tags, the epoch (1-based)."""

    model: str
    variant: tuple[str, ...] = ()
    epoch: int = 1

    def __str__(self) -> str:
        return run_slug_text(self.model, self.variant, self.epoch)


def run_slug(model: str, variant: Sequence[str] = (), epoch: int = 1) -> str:
    """The page folder's name for `model` (a model name, not a slug) run with `variant` tags at `epoch`."""
    return run_slug_text(model_slug(model), variant, epoch)


def run_slug_text(slug: str, variant: Sequence[str] = (), epoch: int = 1) -> str:
    for tag in variant:
        if not _TAG.match(tag):
            raise ValueError(f"variant tag {tag!r} is not lower-case letters, digits, '.' and single '-'")
    if not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"epoch {epoch!r} is not a positive integer")
    text = slug + "".join(VARIANT_SEP + tag for tag in variant)
    return text if epoch == 1 else f"{text}{EPOCH_SEP}{epoch}"


def parse_run_slug(name: str) -> RunSlug:
    """`openai__gpt-4o--paper@epoch-2` -> RunSlug('openai__gpt-4o', ('paper',), 2)."""
    text, epoch = name, 1
    if EPOCH_SEP in text:
        text, _, number = text.rpartition(EPOCH_SEP)
        if not number.isdigit() or int(number) < 1:
            raise ValueError(f"{name!r}: epoch {number!r} is not a positive integer")
        epoch = int(number)
    model, *variant = text.split(VARIANT_SEP)
    if not model:
        raise ValueError(f"{name!r} names no model")
    return RunSlug(model, tuple(variant), epoch)


def page_dir(result: Path, task_id: str, model: str, variant: Sequence[str] = (), epoch: int = 1) -> Path:
    return Path(result) / str(task_id) / run_slug(model, variant, epoch)


def page_path(result: Path, task_id: str, model: str, variant: Sequence[str] = (), epoch: int = 1) -> Path:
    return page_dir(result, task_id, model, variant, epoch) / PAGE_FILE


def generation_path(result: Path, task_id: str, model: str, variant: Sequence[str] = (), epoch: int = 1) -> Path:
    return page_dir(result, task_id, model, variant, epoch) / GENERATION_FILE


def eval_dir(result: Path, task_id: str, model: str, judge: str | None, variant: Sequence[str] = (),
             epoch: int = 1, *, agent: str | None | _SameAsJudge = SAME_AS_JUDGE) -> Path:
    return page_dir(result, task_id, model, variant, epoch) / EVAL_FOLDER / evaluator_slug(judge, agent)


def eval_path(result: Path, task_id: str, model: str, judge: str | None, variant: Sequence[str] = (),
              epoch: int = 1, *, agent: str | None | _SameAsJudge = SAME_AS_JUDGE) -> Path:
    return eval_dir(result, task_id, model, judge, variant, epoch, agent=agent) / EVAL_FILE


def step_screenshot_name(k: int) -> str:
    return f"step_{k}.png"


def reports_dir(result: Path, judge: str | None, *, agent: str | None | _SameAsJudge = SAME_AS_JUDGE) -> Path:
    return Path(result) / REPORTS_FOLDER / evaluator_slug(judge, agent)


def epochs_found(result: Path, task_ids: Sequence[str], model: str, variant: Sequence[str] = ()) -> list[int]:
    """The epochs of `model` (with `variant`) that have a page folder for at least one of the tasks,
    sorted. Epoch 1 is the contract path; epoch e >= 2 is its sibling `<run slug>@epoch-<e>`."""
    base = run_slug(model, variant)
    found: set[int] = set()
    for tid in task_ids:
        folder = Path(result) / str(tid)
        if (folder / base).is_dir():
            found.add(1)
        for path in folder.glob(f"{base}{EPOCH_SEP}*") if folder.is_dir() else ():
            try:
                parsed = parse_run_slug(path.name)
            except ValueError:
                continue
            if path.is_dir() and str(RunSlug(parsed.model, parsed.variant)) == base:
                found.add(parsed.epoch)
    return sorted(found)
