"""Author an IWR-Bench task from a local site folder and an action script.

    python -m utils.make_task SITE_DIR ACTIONS_JSON --data data/sample.jsonl --id 3 [--domain ...]
                              [--whole-folder] [--real-site]

SITE_DIR holds index.html and the files it uses. ACTIONS_JSON is either a list of actions or an object
{"actions": [...], "id": ..., "source_website": ..., "classification": {...}}; each action has type
(Click|Type|Press|Scroll|DoubleClick|Hover|Select|Drag), description, parameters {text, key, direction,
scroll_page, option (Select), target (Drag, in words)}, logical_assertion, visual_evaluation_flag, and,
used only while recording, a CSS `selector`, a `target_selector` (Drag) and a `frame` (CSS selector of
the same-origin iframe the element sits in).

The tool replays the actions in Chromium (page served over loopback HTTP, every other request blocked),
and writes a task folder in the published format: assets/NNN.png, labelled contact sheets, per-action
checkpoints step_0..step_n, video.mp4 with a visible pointer, reference/ and the jsonl record (without
selectors), replaced by id.

Two kinds of site. By default a single page (index.html with inline CSS/JS and images): reference/index.html
has its image references rewritten to assets/NNN.png. With --whole-folder (a multi-file site: scripts,
stylesheets, fonts, other pages) reference/ is the whole folder as it is, and assets/ holds the images the
page requested while recording (first MAX_SITE_ASSETS). Recording is deterministic by default (Math.random
seeded, animations off, clock fixed: byte-identical checkpoints, right for the project's own samples);
--real-site records a third-party page as it behaves (no seed, its animations and timers, the real clock;
each state captured once the screenshots stop changing, capped) and writes reference/../recording.json
with what each action did (target element, URL before/after, settle time).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from iwrbench.data.tasks import ACTION_TYPES, IMAGE_SUFFIXES, SAFE_ID, load_tasks
from iwrbench.errors import InfrastructureError, UserError
from iwrbench.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text
from iwrbench.media.contact_sheet import make_contact_sheets
from iwrbench.media.videowriter import write_video
from utils.task_recorder import (  # noqa: F401 - re-exported for callers of make_task
    DEFAULT_SEED,
    FIXED_TIME,
    Recording,
    RecordMode,
    record,
    serve_folder,
)

ROOT = Path(__file__).resolve().parent.parent

CONVERT_TO_PNG = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
SPEC_NAMES = {"task.json", "actions.json"}
MAX_SITE_ASSETS = 60            # multi-file sites: images the page requested, copied to assets/ (first ones)
MAX_ASSET_BYTES = 4_000_000     # ... each at most this big (a page's huge background stays in reference/)
NEEDS_SELECTOR = ("Click", "Type", "DoubleClick", "Hover", "Select", "Drag")
RECORDED_PARAMETERS = {"Type": ("text",), "Press": ("key",), "Scroll": ("direction", "scroll_page"),
                       "Select": ("option",), "Drag": ("target",)}


# ---------------------------------------------------------------- the action script


@dataclass(frozen=True)
class ActionSpec:
    """One authored action. `selector`, `target_selector` and `frame` drive the recording only and never
    reach the record."""

    type: str
    description: str
    logical_assertion: str
    visual_evaluation_flag: bool
    parameters: dict[str, Any]
    selector: str | None
    frame: str | None = None
    target_selector: str | None = None

    def record(self) -> dict[str, Any]:
        """The published form: no selectors, only the parameters this action type uses."""
        params: dict[str, Any] = {"description": self.description}
        for key in RECORDED_PARAMETERS.get(self.type, ()):
            params[key] = self.parameters[key]
        return {"type": self.type, "parameters": params, "logical_assertion": self.logical_assertion,
                "visual_evaluation_flag": self.visual_evaluation_flag}


@dataclass
class TaskSpec:
    actions: list[ActionSpec]
    meta: dict[str, Any] = field(default_factory=dict)


def _spec_error(path: Path, field_name: str, message: str) -> UserError:
    return UserError(message, file=str(path), field=field_name)


def _optional_selector(obj: dict[str, Any], key: str, path: Path, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _spec_error(path, f"{where}.{key}", "expected a non-empty CSS selector")
    return value.strip() if value else None


def _words(params: dict[str, Any], key: str, path: Path, where: str, what: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _spec_error(path, f"{where}.parameters.{key}", what)
    return value.strip()


def parse_action_spec(i: int, obj: Any, path: Path) -> ActionSpec:
    where = f"actions[{i}]"
    if not isinstance(obj, dict):
        raise _spec_error(path, where, f"expected an object, got {type(obj).__name__}")
    kind = obj.get("type")
    canon = {t.lower(): t for t in ACTION_TYPES}.get(str(kind).strip().lower()) if isinstance(kind, str) else None
    if canon is None:
        raise _spec_error(path, f"{where}.type", f"{kind!r} is not one of {', '.join(ACTION_TYPES)}")
    params = obj.get("parameters") or {}
    if not isinstance(params, dict):
        raise _spec_error(path, f"{where}.parameters", "expected an object")
    description = obj.get("description", params.get("description"))
    if not isinstance(description, str) or not description.strip():
        raise _spec_error(path, f"{where}.description", "missing or empty")
    assertion = obj.get("logical_assertion")
    if not isinstance(assertion, str) or not assertion.strip():
        raise _spec_error(path, f"{where}.logical_assertion", "missing or empty")
    flag = obj.get("visual_evaluation_flag", True)
    if not isinstance(flag, bool):
        raise _spec_error(path, f"{where}.visual_evaluation_flag", f"expected true/false, got {flag!r}")
    selector = _optional_selector(obj, "selector", path, where)
    frame = _optional_selector(obj, "frame", path, where)
    target_selector = _optional_selector(obj, "target_selector", path, where)
    if canon in NEEDS_SELECTOR and not selector:
        raise _spec_error(path, f"{where}.selector", f"a {canon} action needs a CSS selector to record it")
    clean: dict[str, Any] = {}
    if canon == "Type":
        if not isinstance(params.get("text"), str):
            raise _spec_error(path, f"{where}.parameters.text", "a Type action needs the text to type")
        clean["text"] = params["text"]
    elif canon == "Press":
        clean["key"] = _words(params, "key", path, where, "a Press action needs a key, e.g. 'Enter'")
    elif canon == "Select":
        clean["option"] = _words(params, "option", path, where, "a Select action needs the option to pick")
    elif canon == "Drag":
        clean["target"] = _words(params, "target", path, where, "a Drag action needs its target in words")
        if not target_selector:
            raise _spec_error(path, f"{where}.target_selector", "a Drag action needs a CSS selector of where "
                              "it drops, to record it")
    elif canon == "Scroll":
        direction = str(params.get("direction", "down")).lower()
        if direction not in {"up", "down", "left", "right"}:
            raise _spec_error(path, f"{where}.parameters.direction", f"{direction!r} is not up/down/left/right")
        amount = params.get("scroll_page", 1.0)
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 < amount <= 20:
            raise _spec_error(path, f"{where}.parameters.scroll_page", f"{amount!r} is not a number in (0, 20]")
        clean.update(direction=direction, scroll_page=amount)
    return ActionSpec(type=canon, description=description.strip(), logical_assertion=assertion.strip(),
                      visual_evaluation_flag=flag, parameters=clean, selector=selector, frame=frame,
                      target_selector=target_selector)


def load_spec(path: Path) -> TaskSpec:
    """Read ACTIONS_JSON: a list of actions, or an object with `actions` plus task metadata."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("action script not found", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"invalid JSON: {exc}", file=str(path)) from None
    meta: dict[str, Any] = {}
    if isinstance(obj, dict):
        meta = {k: v for k, v in obj.items() if k != "actions"}
        obj = obj.get("actions")
    if not isinstance(obj, list) or not obj:
        raise _spec_error(path, "actions", "expected a non-empty list of actions")
    return TaskSpec(actions=[parse_action_spec(i, a, path) for i, a in enumerate(obj)], meta=meta)


# ---------------------------------------------------------------- assets


@dataclass(frozen=True)
class Asset:
    source: Path       # file in the site folder
    rel: str           # its path relative to the site folder, as the page references it
    name: str          # anonymised name in the task: 001.png ...


def _reference_pattern(paths: list[str]) -> re.Pattern[str]:
    """Match any of the relative paths as a whole URL inside HTML/CSS/JS (optionally `./`-prefixed)."""
    alts = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    return re.compile(r"(?<=[\"'(\s,=])(?:\./)?(" + alts + r")(?=[\"')\s,?#])")


def _site_files(site_dir: Path, skip: set[Path]) -> dict[str, Path]:
    """Every file of the site (relative posix path -> file), plus its URL-quoted spelling."""
    out: dict[str, Path] = {}
    for p in sorted(site_dir.rglob("*")):
        rel_parts = p.relative_to(site_dir).parts
        if not p.is_file() or p.resolve() in skip or any(part.startswith(".") for part in rel_parts):
            continue
        rel = "/".join(rel_parts)
        if rel == "index.html" or (len(rel_parts) == 1 and rel in SPEC_NAMES):
            continue
        out[rel] = p
        quoted = quote(rel)
        if quoted != rel:
            out[quoted] = p
    return out


def collect_assets(site_dir: Path, html: str, *, skip: set[Path] | None = None) -> list[Asset]:
    """Image files the page references, in order of first reference, with anonymised names.

    A referenced local file that is not an image (a .css or .js file) is an error: a task folder ships
    only image assets, so the page must inline its CSS and JS.
    """
    files = _site_files(site_dir, skip or set())
    if not files:
        return []
    first: dict[Path, int] = {}
    rel_of: dict[Path, str] = {}
    for m in _reference_pattern(list(files)).finditer(html):
        p = files[m.group(1)]
        if p not in first:
            first[p], rel_of[p] = m.start(1), m.group(1)
    ordered = sorted(first, key=first.__getitem__)
    bad = [rel_of[p] for p in ordered if p.suffix.lower() not in IMAGE_SUFFIXES]
    if bad:
        raise UserError(f"index.html references non-image file(s) {', '.join(bad)}: inline CSS/JS into "
                        f"index.html (a task ships only image assets)", file=str(site_dir))
    assets = []
    for n, p in enumerate(ordered, start=1):
        suffix = ".png" if p.suffix.lower() in CONVERT_TO_PNG else p.suffix.lower()
        assets.append(Asset(source=p, rel=rel_of[p], name=f"{n:03d}{suffix}"))
    return assets


def rewrite_references(html: str, assets: list[Asset], site_dir: Path) -> str:
    """Point every reference to an asset at `assets/NNN.ext` (all spellings of its path)."""
    if not assets:
        return html
    by_source = {a.source: a.name for a in assets}
    spellings = {rel: by_source[p] for rel, p in _site_files(site_dir, set()).items() if p in by_source}
    pattern = _reference_pattern(list(spellings))
    return pattern.sub(lambda m: f"assets/{spellings[m.group(1)]}", html)


def asset_bytes(asset: Asset) -> bytes:
    """PNG files are copied as they are; other raster formats are converted to PNG; the rest copied."""
    data = asset.source.read_bytes()
    if asset.source.suffix.lower() == ".png" or not asset.name.endswith(".png"):
        return data
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            buf = io.BytesIO()
            img.convert("RGBA" if "A" in img.getbands() else "RGB").save(buf, format="PNG")
    except OSError as exc:
        raise UserError(f"cannot read image: {exc}", file=str(asset.source)) from None
    return buf.getvalue()


def copy_site(site_dir: Path, dest: Path, *, skip: set[Path]) -> None:
    """Copy a multi-file site as it is into `dest`, symlinks replaced by the files they point at (the
    harness serves nothing outside a page's folder); dotfiles and the action script left out."""
    for p in sorted(site_dir.rglob("*")):
        rel = p.relative_to(site_dir)
        if any(part.startswith(".") for part in rel.parts) or p.resolve() in skip:
            continue
        if len(rel.parts) == 1 and rel.name in SPEC_NAMES:
            continue
        if p.is_dir():
            (dest / rel).mkdir(parents=True, exist_ok=True)
        elif p.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest / rel)
        # a dangling symlink is left out: the page gets a 404 for it, as it would on the real site


def requested_assets(root: Path, requested: list[str]) -> list[Asset]:
    """Images a multi-file page requested while recording, in request order, anonymised (capped)."""
    out: list[Asset] = []
    for path in requested:
        p = root.joinpath(*[q for q in path.split("/") if q not in ("", ".", "..")])
        if p.suffix.lower() not in IMAGE_SUFFIXES or p.suffix.lower() == ".ico" or not p.is_file():
            continue
        if p.stat().st_size > MAX_ASSET_BYTES:
            continue
        suffix = ".png" if p.suffix.lower() in CONVERT_TO_PNG else p.suffix.lower()
        out.append(Asset(source=p, rel=path.lstrip("/"), name=f"{len(out) + 1:03d}{suffix}"))
        if len(out) >= MAX_SITE_ASSETS:
            break
    return out


# ---------------------------------------------------------------- writing the task


@dataclass
class MakeTaskResult:
    task_id: str
    folder: Path
    data_file: Path
    assets: list[str]
    sheets: list[tuple[Path, list[str]]]
    checkpoints: int
    video_frames: int
    blocked: list[str]
    page_errors: list[str]


def parse_resolution(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{3,4})\s*[xX]\s*(\d{3,4})\s*", str(value))
    if not m:
        raise UserError(f"--resolution {value!r} is not WxH, e.g. 1280x720")
    return int(m.group(1)), int(m.group(2))


def build_record(task_id: str, meta: dict[str, Any], actions: list[ActionSpec], resolution: str) -> dict[str, Any]:
    cls = meta.get("classification") or {}
    rid: int | str = int(task_id) if task_id.isdigit() else task_id
    return {
        "id": rid,
        "source_website": meta.get("source_website") or "",
        "classification": {k: str(cls.get(k) or "") for k in
                           ("domain", "sub_domain", "visual_complexity", "interaction_complexity")},
        "recording_details": {"resolution": resolution,
                              "environment": meta.get("environment") or
                              "Chromium (Playwright), headless, recorded by utils/make_task.py"},
        "action_sequence": [a.record() for a in actions],
    }


def upsert_record(data_file: Path, record: dict[str, Any]) -> None:
    """Replace the line whose id equals the record's id, or append; the file is rewritten atomically."""
    lines: list[str] = []
    replaced = False
    if data_file.is_file():
        for n, line in enumerate(data_file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"invalid JSON: {exc.msg}", file=str(data_file), line=n) from None
            if isinstance(obj, dict) and str(obj.get("id")) == str(record["id"]):
                if not replaced:
                    lines.append(json.dumps(record, ensure_ascii=False))
                    replaced = True
                continue
            lines.append(line)
    if not replaced:
        lines.append(json.dumps(record, ensure_ascii=False))
    atomic_write_text(data_file, "\n".join(lines) + "\n")


def _swap_in(staged: Path, target: Path) -> None:
    """Replace `target` by the fully written `staged` folder (old one removed only after the rename)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _task_id(spec: TaskSpec, merged: dict[str, Any], task_id: str | None, spec_path: Path) -> str:
    tid = str(task_id if task_id is not None else merged.get("id", "")).strip()
    if not tid:
        raise UserError("no task id: pass --id or put \"id\" in the action script", file=str(spec_path))
    if not SAFE_ID.match(tid) or ".." in tid:
        raise UserError(f"task id {tid!r} is not a plain name (letters, digits, _ . -)")
    return tid


def _check_requests(rec: Recording, index: Path, spec: TaskSpec, *, real: bool, allow_external: bool) -> None:
    """A page of the project's own must be complete and self-contained; a real site is recorded with the
    404s and blocked requests it has (they are listed in recording.json)."""
    if rec.missing and not real:
        hint = "; sample sites draw their images in utils/build_samples.py" if spec.meta.get("images") else ""
        raise UserError(f"the page requested file(s) it does not have: {', '.join(sorted(set(rec.missing)))}"
                        f"{hint}", file=str(index))
    if rec.blocked and not (allow_external or real):
        hosts = sorted({urlsplit(u).netloc or u[:40] for u in rec.blocked})
        raise UserError(f"the page requested other origins ({', '.join(hosts)}); tasks must be "
                        f"self-contained (or pass --allow-external)", file=str(index))


def make_task(site_dir: str | Path, spec_path: str | Path, *, data_file: str | Path, task_id: str | None = None,
              meta: dict[str, Any] | None = None, resolution: str = "1280x720", seed: int = DEFAULT_SEED,
              fps: float = 3.0, allow_external: bool = False, whole_folder: bool = False,
              real_site: bool = False) -> MakeTaskResult:
    """Build one task folder and its jsonl record. `meta` overrides metadata from the spec file."""
    site_dir, spec_path, data_file = Path(site_dir), Path(spec_path), Path(data_file)
    index = site_dir / "index.html"
    if not index.is_file():
        raise UserError("no index.html in the site folder", file=str(site_dir))
    spec = load_spec(spec_path)
    merged = {**spec.meta, **{k: v for k, v in (meta or {}).items() if v not in (None, "")}}
    if meta and meta.get("classification"):
        merged["classification"] = {**(spec.meta.get("classification") or {}),
                                    **{k: v for k, v in meta["classification"].items() if v}}
    tid = _task_id(spec, merged, task_id, spec_path)
    size = parse_resolution(resolution)
    res_text = f"{size[0]}x{size[1]}"
    mode = RecordMode(real=real_site, seed=seed)
    if real_site and not merged.get("environment"):
        merged["environment"] = ("Chromium (Playwright), headless, recorded by utils/make_task.py --real-site "
                                 "(no seed, real clock and animations)")

    assets: list[Asset] = []
    if not whole_folder:
        html = index.read_text(encoding="utf-8")
        assets = collect_assets(site_dir, html, skip={spec_path.resolve()})
        ref_html = rewrite_references(html, assets, site_dir)

    data_root = data_file.parent / data_file.stem
    data_root.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{tid}.new-", dir=data_root))
    staged.chmod(0o755)  # mkdtemp makes it private; a task folder is ordinary data
    try:
        with tempfile.TemporaryDirectory(prefix="make-task-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            if whole_folder:
                copy_site(site_dir, staged / "reference", skip={spec_path.resolve()})
                serve_root = staged / "reference"
            else:
                for a in assets:
                    atomic_write_bytes(staged / "assets" / a.name, asset_bytes(a))
                atomic_write_text(staged / "reference" / "index.html", ref_html)
                serve_root = Path(tmp) / "site"
                serve_root.mkdir()
                shutil.copyfile(staged / "reference" / "index.html", serve_root / "index.html")
                if assets:
                    shutil.copytree(staged / "assets", serve_root / "assets")
            with serve_folder(serve_root) as url:
                rec = asyncio.run(record(url + "index.html", spec.actions, size=size, mode=mode, home=home))
        _check_requests(rec, index, spec, real=real_site, allow_external=allow_external)
        if whole_folder:
            assets = requested_assets(staged / "reference", rec.requested)
            for a in assets:
                atomic_write_bytes(staged / "assets" / a.name, asset_bytes(a))
        for k, png in enumerate(rec.checkpoints):
            atomic_write_bytes(staged / "checkpoints" / f"step_{k}.png", png)
        asset_paths = [staged / "assets" / a.name for a in assets]
        sheets = make_contact_sheets(asset_paths, staged / "stitched_assets") if assets else []
        atomic_write_json(staged / "stitched_assets" / "index.json",
                          {sheet.name: names for sheet, names in sheets})
        if real_site or whole_folder:
            atomic_write_json(staged / "recording.json", {"schema_version": 1, "real_site": real_site,
                                                          "whole_folder": whole_folder, **rec.summary()})
        n_frames = write_video(rec.frames, staged / "video.mp4", size=size, fps=fps)
        record_obj = build_record(tid, merged, spec.actions, res_text)
        target = data_root / tid
        _swap_in(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    upsert_record(data_file, record_obj)
    task = next(t for t in load_tasks(data_file) if t.id == tid)
    if task.data_errors:
        raise UserError(f"task {tid} was written but does not validate: {task.data_errors[0]}")
    return MakeTaskResult(task_id=tid, folder=target, data_file=data_file, assets=[a.name for a in assets],
                          sheets=[(target / "stitched_assets" / s.name, names) for s, names in sheets],
                          checkpoints=len(rec.checkpoints), video_frames=n_frames, blocked=rec.blocked,
                          page_errors=rec.page_errors)


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Record a task (checkpoints, video, assets, record) from a local site.")
    p.add_argument("site_dir", type=Path, help="folder with index.html and the files it uses")
    p.add_argument("actions", type=Path, help="action script (JSON list, or object with 'actions' + metadata)")
    p.add_argument("--data", type=Path, default=Path("data/sample.jsonl"), help="jsonl to add the record to")
    p.add_argument("--id", dest="task_id", help="task id (default: 'id' in the action script)")
    p.add_argument("--source-website", help="source_website field (e.g. the site's URL or 'original:<name>')")
    p.add_argument("--domain")
    p.add_argument("--sub-domain")
    p.add_argument("--visual-complexity", choices=["Low", "Medium", "High"])
    p.add_argument("--interaction-complexity", choices=["Low", "Medium", "High"])
    p.add_argument("--environment", help="recording_details.environment")
    p.add_argument("--resolution", default="1280x720", help="viewport WxH (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for Math.random while recording")
    p.add_argument("--fps", type=float, default=3.0, help="video frame rate (default: %(default)s)")
    p.add_argument("--allow-external", action="store_true", help="record even if the page asks other origins")
    p.add_argument("--whole-folder", action="store_true",
                   help="a multi-file site: reference/ is the whole folder; assets/ the images it requested")
    p.add_argument("--real-site", action="store_true",
                   help="record a third-party page as it behaves: no seed, real clock and animations, settle "
                        "until the screenshots stop changing; its 404s and blocked requests are listed, not refused")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    meta = {"source_website": args.source_website, "environment": args.environment,
            "classification": {"domain": args.domain, "sub_domain": args.sub_domain,
                               "visual_complexity": args.visual_complexity,
                               "interaction_complexity": args.interaction_complexity}}
    try:
        res = make_task(args.site_dir, args.actions, data_file=args.data, task_id=args.task_id, meta=meta,
                        resolution=args.resolution, seed=args.seed, fps=args.fps,
                        allow_external=args.allow_external, whole_folder=args.whole_folder,
                        real_site=args.real_site)
    except InfrastructureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"task {res.task_id}: {res.checkpoints} checkpoints, {len(res.assets)} assets on {len(res.sheets)} "
          f"sheet(s), video {res.video_frames} frames -> {res.folder}")
    for err in res.page_errors:
        print(f"warning: page error while recording: {err}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from iwrbench.cli import run_main

    run_main(main)
