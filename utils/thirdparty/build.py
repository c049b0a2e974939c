"""Build the third-party corpus into .cache/thirdparty/ (what `make thirdparty` runs).

    python -m utils.thirdparty.build [--cache .cache/thirdparty] [--task ID ...] [--force] [--relabel]
                                     [--no-labels]

Steps, each skipped when its output is there (resumable; --force redoes the tasks named):
  1. fetch     the pinned registry packages of sources.json (npm pack / apt-get download), sha256-checked
  2. sites     self-contained site folders (sites.py)
  3. tasks     each action script of tasks/ recorded with utils/make_task.py --whole-folder --real-site
               into data/thirdparty.jsonl + data/thirdparty/<id>/
  4. models    reconstructions of known quality into results/ (reconstruct.py): the page itself, another
               implementation or a restyled copy, broken copies; labels.json says what each should score
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from iwrbench.errors import UserError
from utils import make_task
from utils.thirdparty.fetch import fetch_all
from utils.thirdparty.sites import build_site

ROOT = Path(__file__).resolve().parents[2]

TASKS_DIR = Path(__file__).with_name("tasks")
DEFAULT_CACHE = ROOT / ".cache" / "thirdparty"
DATA_NAME = "thirdparty.jsonl"


def task_specs(only: list[str] | None = None) -> list[tuple[str, Path, dict]]:
    """(task id, action script, its metadata) for every script in tasks/, sorted by id."""
    out = []
    for path in sorted(TASKS_DIR.glob("*.json")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"invalid JSON: {exc}", file=str(path)) from None
        tid = str(meta.get("id") or "")
        if not tid or not meta.get("site"):
            raise UserError("an action script needs 'id' and 'site'", file=str(path))
        if only and tid not in only:
            continue
        out.append((tid, path, meta))
    if only:
        unknown = set(only) - {t for t, _, _ in out}
        if unknown:
            raise UserError(f"no action script for task(s) {', '.join(sorted(unknown))} in {TASKS_DIR}")
    return out


def data_file(cache: Path) -> Path:
    return cache / "data" / DATA_NAME


def recorded(cache: Path, tid: str) -> bool:
    folder = data_file(cache).with_suffix("") / tid
    if not (folder / "recording.json").is_file() or not data_file(cache).is_file():
        return False
    return any(json.loads(line).get("id") == tid for line in data_file(cache).read_text().splitlines()
               if line.strip())


def record_task(cache: Path, tid: str, spec: Path, meta: dict, sources: dict[str, Path]) -> None:
    site = build_site(meta["site"], sources, cache / "sites")
    t = time.monotonic()
    res = make_task.make_task(site, spec, data_file=data_file(cache), task_id=tid, whole_folder=True,
                              real_site=True)
    print(f"  recorded {tid}: {res.checkpoints} checkpoints, {len(res.assets)} assets, "
          f"{len(set(res.blocked))} blocked request(s), {time.monotonic() - t:.1f} s", flush=True)


def build(cache: Path, only: list[str] | None = None, *, force: bool = False, labels: bool = True,
          relabel: bool = False) -> None:
    cache = cache.resolve()
    t0 = time.monotonic()
    specs = task_specs(only)
    print(f"fetching sources into {cache}", flush=True)
    sources = fetch_all(cache)
    for tid, spec, meta in specs:
        if force or not recorded(cache, tid):
            record_task(cache, tid, spec, meta, sources)
    if labels:
        from utils.thirdparty.reconstruct import build_models

        build_models(cache, specs, sources, force=force or relabel)
    print(f"third-party corpus ready in {time.monotonic() - t0:.0f} s: {data_file(cache)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the third-party corpus (sources, tasks, reconstructions).")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache folder (default: %(default)s)")
    p.add_argument("--task", action="append", help="only this task id (repeatable)")
    p.add_argument("--force", action="store_true", help="record and reconstruct the tasks again")
    p.add_argument("--no-labels", action="store_true", help="stop after recording the tasks")
    p.add_argument("--write-docs", type=Path, metavar="MD",
                   help="only write the corpus tables (sources, sites, tasks) between the markers of MD")
    p.add_argument("--relabel", action="store_true", help="make the reconstructions and labels again, keep the tasks")
    args = p.parse_args(argv)
    if args.write_docs:
        from utils.thirdparty.doc_tables import write_corpus_tables

        write_corpus_tables(args.write_docs, task_specs(args.task))
        return 0
    build(args.cache, args.task, force=args.force, labels=not args.no_labels, relabel=args.relabel)
    return 0


if __name__ == "__main__":
    from iwrbench.cli import run_main

    run_main(main)
