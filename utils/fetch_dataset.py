"""Download the published IWR-Bench dataset and lay it out as this harness reads it.

    python utils/fetch_dataset.py [--repo IWR-Bench/IWR-Bench] [--name iwrbench] [--revision main]

Result: data/<name>.jsonl plus data/<name>/<id>/ (video, assets, stitched_assets, checkpoints), ready
for `generate.py --data data/<name>.jsonl`. The default repo id is the one the paper's README links
to (https://huggingface.co/datasets/IWR-Bench/IWR-Bench); check it before relying on it, and pass
--repo if the dataset has moved. Files are downloaded once into data/.download/<name>/ and the task
folders are hard-linked from there (copied where links are impossible), so a re-run is cheap.

The published layout is found, not assumed: the jsonl is `data.jsonl` (or the only *.jsonl), and each
task's folder is the directory named after its id under the jsonl's stem, `data/`, `tasks/` or the
root; zip/tar archives are unpacked first when no task folder is found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from iwrbench.data.tasks import SAFE_ID, VIDEO_NAMES, load_tasks
from iwrbench.errors import UserError
from iwrbench.fsutil import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_REPO = "IWR-Bench/IWR-Bench"  # from the paper's README badge; verify on the Hub
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
TASK_MARKERS = (*VIDEO_NAMES, "checkpoints", "assets", "stitched_assets")


@dataclass
class ConvertResult:
    jsonl: Path
    tasks: int
    linked: int
    missing: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- download


def download(repo: str, target: Path, *, revision: str | None = None) -> Path:
    """snapshot_download into `target`; any failure to reach the Hub is one UserError line."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise UserError("huggingface_hub is not installed: pip install huggingface_hub") from None
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        path = snapshot_download(repo, repo_type="dataset", revision=revision, local_dir=str(target))
    except GatedRepoError:
        raise UserError(f"dataset {repo} is gated: accept its terms on huggingface.co and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise UserError(f"dataset {repo} not found on the Hub (check --repo; private repos need HF_TOKEN)") from None
    except RevisionNotFoundError:
        raise UserError(f"revision {revision!r} not found in dataset {repo}") from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        raise UserError(f"cannot reach the Hugging Face Hub to download {repo} (offline?); "
                        f"copy the dataset by hand into {target} and re-run with --no-download") from None
    except OSError as exc:  # connection refused / DNS failure / timeouts surface as OSError subclasses
        raise UserError(f"cannot download {repo}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # httpx errors are not OSErrors; keep the message to one line
        if type(exc).__module__.startswith(("httpx", "huggingface_hub", "requests", "urllib3")):
            raise UserError(f"cannot download {repo}: {type(exc).__name__}: "
                            f"{(str(exc).splitlines() or [''])[0][:200]}") from None
        raise
    return Path(path)


# ---------------------------------------------------------------- layout conversion


def find_jsonl(snapshot: Path) -> Path:
    """`data.jsonl` anywhere shallow, else the only *.jsonl file (at most two levels down)."""
    candidates = sorted(p for pattern in ("*.jsonl", "*/*.jsonl", "*/*/*.jsonl") for p in snapshot.glob(pattern)
                        if not any(part.startswith(".") for part in p.relative_to(snapshot).parts))
    named = [p for p in candidates if p.name == "data.jsonl"]
    if named:
        return min(named, key=lambda p: len(p.parts))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError("no .jsonl task file in the downloaded dataset", file=str(snapshot))
    raise UserError(f"several .jsonl files and none named data.jsonl: {', '.join(p.name for p in candidates[:5])}",
                    file=str(snapshot))


def read_ids(jsonl: Path) -> list[str]:
    ids: list[str] = []
    for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"invalid JSON: {exc.msg}", file=str(jsonl), line=n) from None
        if not isinstance(obj, dict) or "id" not in obj:
            raise UserError("record without an id", file=str(jsonl), line=n, field="id")
        task_id = str(obj["id"]).strip()
        if not SAFE_ID.match(task_id) or ".." in task_id:
            raise UserError(f"id {obj['id']!r} is not a plain name", file=str(jsonl), line=n, field="id")
        ids.append(task_id)
    return ids


def _looks_like_task(folder: Path) -> bool:
    return folder.is_dir() and any((folder / m).exists() for m in TASK_MARKERS)


def find_task_dirs(snapshot: Path, jsonl: Path, ids: list[str]) -> dict[str, Path]:
    """Map each id to its folder: the first candidate root holding `<root>/<id>/` with task files."""
    roots = [jsonl.parent / jsonl.stem, jsonl.parent / "data", jsonl.parent / "tasks", jsonl.parent,
             snapshot / "data", snapshot / "tasks", snapshot]
    found: dict[str, Path] = {}
    for task_id in ids:
        for root in roots:
            if _looks_like_task(root / task_id):
                found[task_id] = root / task_id
                break
    if len(found) < len(ids):  # last resort: any folder named by an id, anywhere below the snapshot
        wanted = set(ids) - set(found)
        for folder in sorted(snapshot.rglob("*")):
            if folder.name in wanted and _looks_like_task(folder) and not folder.name.startswith("."):
                found[folder.name] = folder
                wanted.discard(folder.name)
    return found


def _safe_members(names: list[str], dest: Path) -> None:
    root = dest.resolve()
    for name in names:
        target = (dest / name).resolve()
        if target != root and root not in target.parents:
            raise UserError(f"archive member {name!r} would be written outside {dest}")


def unpack_archives(snapshot: Path) -> int:
    """Unpack zip/tar archives of the snapshot next to themselves (once). Returns how many."""
    count = 0
    for archive in sorted(snapshot.rglob("*")):
        if not archive.is_file() or not archive.name.lower().endswith(ARCHIVE_SUFFIXES):
            continue
        done = archive.with_name(f".{archive.name}.unpacked")
        if done.exists():
            continue
        dest = archive.parent
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                _safe_members(zf.namelist(), dest)
                zf.extractall(dest)
        else:
            with tarfile.open(archive) as tf:
                _safe_members(tf.getnames(), dest)
                tf.extractall(dest, filter="data")
        done.write_text("unpacked\n")
        count += 1
    return count


def _link_tree(src: Path, dst: Path) -> None:
    def link_or_copy(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link_or_copy, symlinks=False)


def convert_snapshot(snapshot: Path, data_dir: Path, name: str) -> ConvertResult:
    """Write data_dir/<name>.jsonl and data_dir/<name>/<id>/ from a downloaded snapshot folder."""
    snapshot, data_dir = Path(snapshot), Path(data_dir)
    if not snapshot.is_dir():
        raise UserError("downloaded dataset folder not found", file=str(snapshot))
    if not SAFE_ID.match(name):
        raise UserError(f"--name {name!r} is not a plain name")
    jsonl = find_jsonl(snapshot)
    ids = read_ids(jsonl)
    if not ids:
        raise UserError("holds no tasks", file=str(jsonl))
    dirs = find_task_dirs(snapshot, jsonl, ids)
    if len(dirs) < len(ids) and unpack_archives(snapshot):
        dirs = find_task_dirs(snapshot, jsonl, ids)
    out_root = data_dir / name
    out_root.mkdir(parents=True, exist_ok=True)
    linked = 0
    for task_id, src in dirs.items():
        dst = out_root / task_id
        if dst.resolve() == src.resolve():
            continue
        if dst.exists():
            shutil.rmtree(dst)
        _link_tree(src, dst)
        linked += 1
    out_jsonl = data_dir / f"{name}.jsonl"
    atomic_write_text(out_jsonl, jsonl.read_text(encoding="utf-8").rstrip("\n") + "\n")
    missing = [i for i in ids if i not in dirs]
    return ConvertResult(jsonl=out_jsonl, tasks=len(ids), linked=linked, missing=missing)


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Download the published IWR-Bench dataset into data/<name>.")
    p.add_argument("--repo", default=DEFAULT_REPO,
                   help="Hugging Face dataset repo id (default: %(default)s; verify it on the Hub)")
    p.add_argument("--revision", help="branch, tag or commit (default: the repo's main)")
    p.add_argument("--name", default="iwrbench", help="output name: data/<name>.jsonl + data/<name>/")
    p.add_argument("--data-dir", type=Path, default=ROOT / "data", help="where to write (default: %(default)s)")
    p.add_argument("--no-download", action="store_true",
                   help="only convert what is already in <data-dir>/.download/<name>/")
    args = p.parse_args(argv)
    target = args.data_dir / ".download" / args.name
    snapshot = target if args.no_download else download(args.repo, target, revision=args.revision)
    result = convert_snapshot(snapshot, args.data_dir, args.name)
    tasks = load_tasks(result.jsonl)
    bad = [t for t in tasks if t.data_errors]
    print(f"{result.tasks} tasks -> {result.jsonl} and {args.data_dir / args.name}/ "
          f"({sum(t.checkpoint_numbering == 'dense-flagged' for t in tasks)} with dense checkpoint numbering)")
    if result.missing:
        print(f"warning: no task folder found for {len(result.missing)} id(s): {', '.join(result.missing[:10])}",
              file=sys.stderr)
    for t in bad[:10]:
        print(f"warning: {t.data_errors[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from iwrbench.cli import run_main

    run_main(main)
