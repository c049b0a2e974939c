"""Author an IWR-Bench task from a local site folder and an action script.

    python utils/make_task.py SITE_DIR ACTIONS_JSON --data data/sample.jsonl --id 3 [--domain ...]

SITE_DIR holds index.html (inline CSS/JS) and the image files it uses. ACTIONS_JSON is either a list of
actions or an object {"actions": [...], "id": ..., "source_website": ..., "classification": {...}}; each
action has type (Click|Type|Press|Scroll), description, parameters {text, key, direction, scroll_page},
logical_assertion, visual_evaluation_flag and a CSS `selector` used only while recording.

The tool replays the actions in Chromium (page served over loopback HTTP, every other request blocked),
and writes a task folder in the published format: assets/NNN.png, labelled contact sheets, per-action
checkpoints step_0..step_n, video.mp4 with a visible pointer, reference/index.html (asset references
rewritten to assets/NNN.png) and the jsonl record (without selectors), replaced by id. Rendering is
deterministic: animations off, caret hidden, Math.random seeded, Date fixed, settle until two
screenshots agree; running twice gives byte-identical checkpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from iwrbench.browser_path import CHROMIUM_BASE_ARGS, find_chromium  # noqa: E402
from iwrbench.contact_sheet import make_contact_sheets  # noqa: E402
from iwrbench.dataset import ACTION_TYPES, IMAGE_SUFFIXES, SAFE_ID, load_tasks  # noqa: E402
from iwrbench.errors import InfrastructureError, UserError  # noqa: E402
from iwrbench.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text  # noqa: E402
from iwrbench.videowriter import Frame, write_video  # noqa: E402

FIXED_TIME = "2025-03-14T10:00:00Z"
DEFAULT_SEED = 20250314
ACTION_TIMEOUT_MS = 10_000
CONVERT_TO_PNG = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
SPEC_NAMES = {"task.json", "actions.json"}
HOLD_FRAMES = 3      # frames a settled state stays on screen (1 s at 3 fps)
AIM_FRAMES = 2       # frames showing the pointer on its target before the action

LAUNCH_ARGS = [
    *CHROMIUM_BASE_ARGS,
    # Without this, re-rastering only the damaged tiles leaves anti-aliased edges (a rounded input
    # border after focus) differing by a pixel from run to run: measured 1 of 7 checkpoints.
    "--disable-partial-raster",
]

# Runs before any page script: seeded Math.random (xorshift32) and no animations, transitions, caret
# blink or smooth scrolling, so every run renders the same pixels.
INIT_SCRIPT = """
(() => {
  let s = (%d >>> 0) || 1;
  Math.random = function () {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const css = '*,*::before,*::after{animation-duration:0s!important;animation-delay:0s!important;' +
    'transition-duration:0s!important;transition-delay:0s!important;caret-color:transparent!important;' +
    'scroll-behavior:auto!important}';
  const add = () => {
    const st = document.createElement('style');
    st.setAttribute('data-iwrbench-recorder', '');
    st.textContent = css;
    (document.head || document.documentElement).appendChild(st);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', add); else add();
})();
"""

SETTLE_SCRIPT = """
() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))
"""


# ---------------------------------------------------------------- the action script


@dataclass(frozen=True)
class ActionSpec:
    """One authored action. `selector` drives the recording only and never reaches the record."""

    type: str
    description: str
    logical_assertion: str
    visual_evaluation_flag: bool
    parameters: dict[str, Any]
    selector: str | None

    def record(self) -> dict[str, Any]:
        """The published form: no selector, only the parameters this action type uses."""
        params: dict[str, Any] = {"description": self.description}
        for key in {"Type": ("text",), "Press": ("key",), "Scroll": ("direction", "scroll_page")}.get(self.type, ()):
            params[key] = self.parameters[key]
        return {"type": self.type, "parameters": params, "logical_assertion": self.logical_assertion,
                "visual_evaluation_flag": self.visual_evaluation_flag}


@dataclass
class TaskSpec:
    actions: list[ActionSpec]
    meta: dict[str, Any] = field(default_factory=dict)


def _spec_error(path: Path, field_name: str, message: str) -> UserError:
    return UserError(message, file=str(path), field=field_name)


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
    selector = obj.get("selector")
    if selector is not None and (not isinstance(selector, str) or not selector.strip()):
        raise _spec_error(path, f"{where}.selector", "expected a non-empty CSS selector")
    if canon in ("Click", "Type") and not selector:
        raise _spec_error(path, f"{where}.selector", f"a {canon} action needs a CSS selector to record it")
    clean: dict[str, Any] = {}
    if canon == "Type":
        if not isinstance(params.get("text"), str):
            raise _spec_error(path, f"{where}.parameters.text", "a Type action needs the text to type")
        clean["text"] = params["text"]
    elif canon == "Press":
        if not isinstance(params.get("key"), str) or not params["key"].strip():
            raise _spec_error(path, f"{where}.parameters.key", "a Press action needs a key, e.g. 'Enter'")
        clean["key"] = params["key"].strip()
    elif canon == "Scroll":
        direction = str(params.get("direction", "down")).lower()
        if direction not in {"up", "down", "left", "right"}:
            raise _spec_error(path, f"{where}.parameters.direction", f"{direction!r} is not up/down/left/right")
        amount = params.get("scroll_page", 1.0)
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 < amount <= 20:
            raise _spec_error(path, f"{where}.parameters.scroll_page", f"{amount!r} is not a number in (0, 20]")
        clean.update(direction=direction, scroll_page=amount)
    return ActionSpec(type=canon, description=description.strip(), logical_assertion=assertion.strip(),
                      visual_evaluation_flag=flag, parameters=clean, selector=selector.strip() if selector else None)


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


# ---------------------------------------------------------------- loopback server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll interval: shutdown() waits for serve_forever to notice, once per page served.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="make-task-http",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------- recording


@dataclass
class Recording:
    checkpoints: list[bytes]                     # step_0 .. step_n (PNG)
    frames: list[Frame]
    blocked: list[str] = field(default_factory=list)   # requests to other origins, aborted
    missing: list[str] = field(default_factory=list)   # local files the page asked for and did not get
    page_errors: list[str] = field(default_factory=list)


async def _settled_screenshot(page: Any, tries: int = 20) -> bytes:
    """Screenshot once two consecutive shots agree (fonts loaded, layout and images stable)."""
    try:
        await asyncio.wait_for(page.evaluate(SETTLE_SCRIPT), timeout=5)
    except TimeoutError:
        pass  # a page that never settles its fonts still gets its screenshot compared below
    last = await page.screenshot(animations="disabled", caret="hide")
    for _ in range(tries):
        await page.wait_for_timeout(60)
        shot = await page.screenshot(animations="disabled", caret="hide")
        if shot == last:
            return shot
        last = shot
    return last


async def _target_point(page: Any, selector: str, where: str) -> tuple[float, float]:
    loc = page.locator(selector).first
    try:
        await loc.scroll_into_view_if_needed(timeout=ACTION_TIMEOUT_MS)
        box = await loc.bounding_box(timeout=ACTION_TIMEOUT_MS)
    except Exception as exc:  # Playwright raises its own TimeoutError/Error types
        raise UserError(f"selector {selector!r} is not visible on the page ({type(exc).__name__})",
                        field=where) from None
    if box is None:
        raise UserError(f"selector {selector!r} has no box on the page", field=where)
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _caption(action: ActionSpec) -> str | None:
    if action.type == "Press":
        return f"Key: {action.parameters['key']}"
    if action.type == "Scroll":
        return f"Scroll {action.parameters['direction']}"
    return None


async def _perform(page: Any, action: ActionSpec, size: tuple[int, int], point: tuple[float, float],
                   frames: list[Frame], where: str) -> None:
    """Do one action with Playwright; add typing-progress frames for Type."""
    loc = page.locator(action.selector).first if action.selector else None
    try:
        if action.type == "Click":
            await loc.click(timeout=ACTION_TIMEOUT_MS)
        elif action.type == "Type":
            text = action.parameters["text"]
            steps = sorted({len(text) * i // 4 for i in range(1, 4)} - {0, len(text)})
            for cut in steps:
                await loc.fill(text[:cut], timeout=ACTION_TIMEOUT_MS)
                frames.append(Frame(await _settled_screenshot(page), pointer=point))
            await loc.fill(text, timeout=ACTION_TIMEOUT_MS)
        elif action.type == "Press":
            if loc is not None:
                await loc.focus(timeout=ACTION_TIMEOUT_MS)
            await page.keyboard.press(action.parameters["key"])
        elif action.type == "Scroll":
            amount = float(action.parameters["scroll_page"])
            direction = action.parameters["direction"]
            dx = dy = 0.0
            if direction in ("up", "down"):
                dy = amount * size[1] * (-1 if direction == "up" else 1)
            else:
                dx = amount * size[0] * (-1 if direction == "left" else 1)
            await page.mouse.move(*point)
            await page.mouse.wheel(dx, dy)
    except UserError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{action.type} failed: {first}", field=where) from None


async def record(url: str, actions: list[ActionSpec], *, size: tuple[int, int], seed: int = DEFAULT_SEED,
                 home: Path) -> Recording:
    """Replay the actions on `url` and capture per-action checkpoints and video frames."""
    from playwright.async_api import async_playwright

    exe = find_chromium()
    if exe is None:
        raise InfrastructureError("no Chromium found: install chromium or set IWRBENCH_CHROMIUM")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    rec = Recording(checkpoints=[], frames=[])
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}

    async def guard(route: Any) -> None:
        req_url = route.request.url
        if req_url.startswith(origin + "/") or req_url.startswith(("data:", "blob:", "about:")):
            await route.continue_()
        else:
            rec.blocked.append(req_url)
            await route.abort("blockedbyclient")

    def on_response(resp: Any) -> None:
        path = urlsplit(resp.url).path
        if resp.url.startswith(origin) and resp.status >= 400 and path != "/favicon.ico":
            rec.missing.append(f"{path} ({resp.status})")

    async with async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(executable_path=exe, args=LAUNCH_ARGS, env=env, headless=True)
        except Exception as exc:
            raise InfrastructureError(f"cannot launch Chromium at {exe}: {str(exc).splitlines()[0]}") from None
        try:
            context = await browser.new_context(viewport={"width": size[0], "height": size[1]},
                                                device_scale_factor=1, locale="en-US", timezone_id="UTC",
                                                color_scheme="light", reduced_motion="reduce",
                                                service_workers="block")
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            await context.route("**/*", guard)
            await context.add_init_script(INIT_SCRIPT % seed)
            page = await context.new_page()
            await page.clock.set_fixed_time(FIXED_TIME)
            page.on("response", on_response)
            page.on("pageerror", lambda err: rec.page_errors.append(str(err).splitlines()[0]))
            await page.goto(url, wait_until="load")
            shot = await _settled_screenshot(page)
            rec.checkpoints.append(shot)
            rec.frames.append(Frame(shot, repeat=HOLD_FRAMES))
            centre = (size[0] / 2, size[1] / 2)
            point = centre
            for i, action in enumerate(actions):
                where = f"actions[{i}] ({action.type}" + (f" {action.selector}" if action.selector else "") + ")"
                if action.selector:
                    point = await _target_point(page, action.selector, where)
                elif action.type == "Scroll":
                    point = centre
                aim = await _settled_screenshot(page)
                caption = _caption(action)
                rec.frames.append(Frame(aim, pointer=point, caption=caption, repeat=AIM_FRAMES))
                if action.type == "Click":
                    rec.frames.append(Frame(aim, pointer=point, click=True))
                await _perform(page, action, size, point, rec.frames, where)
                shot = await _settled_screenshot(page)
                rec.checkpoints.append(shot)
                rec.frames.append(Frame(shot, pointer=point, caption=caption, repeat=HOLD_FRAMES))
            await context.close()
        finally:
            await browser.close()
    return rec


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


def make_task(site_dir: str | Path, spec_path: str | Path, *, data_file: str | Path, task_id: str | None = None,
              meta: dict[str, Any] | None = None, resolution: str = "1280x720", seed: int = DEFAULT_SEED,
              fps: float = 3.0, allow_external: bool = False) -> MakeTaskResult:
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
    tid = str(task_id if task_id is not None else merged.get("id", "")).strip()
    if not tid:
        raise UserError("no task id: pass --id or put \"id\" in the action script", file=str(spec_path))
    if not SAFE_ID.match(tid) or ".." in tid:
        raise UserError(f"task id {tid!r} is not a plain name (letters, digits, _ . -)")
    size = parse_resolution(resolution)
    res_text = f"{size[0]}x{size[1]}"

    html = index.read_text(encoding="utf-8")
    assets = collect_assets(site_dir, html, skip={spec_path.resolve()})
    ref_html = rewrite_references(html, assets, site_dir)

    data_root = data_file.parent / data_file.stem
    data_root.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{tid}.new-", dir=data_root))
    staged.chmod(0o755)  # mkdtemp makes it private; a task folder is ordinary data
    try:
        for a in assets:
            atomic_write_bytes(staged / "assets" / a.name, asset_bytes(a))
        atomic_write_text(staged / "reference" / "index.html", ref_html)
        with tempfile.TemporaryDirectory(prefix="make-task-") as tmp:
            serve_root = Path(tmp) / "site"
            (serve_root).mkdir()
            shutil.copyfile(staged / "reference" / "index.html", serve_root / "index.html")
            if assets:
                shutil.copytree(staged / "assets", serve_root / "assets")
            home = Path(tmp) / "home"
            home.mkdir()
            with serve_folder(serve_root) as url:
                rec = asyncio.run(record(url + "index.html", spec.actions, size=size, seed=seed, home=home))
        if rec.missing:
            hint = "; sample sites draw their images in utils/build_samples.py" if spec.meta.get("images") else ""
            raise UserError(f"the page requested file(s) it does not have: {', '.join(sorted(set(rec.missing)))}"
                            f"{hint}", file=str(index))
        if rec.blocked and not allow_external:
            hosts = sorted({urlsplit(u).netloc or u[:40] for u in rec.blocked})
            raise UserError(f"the page requested other origins ({', '.join(hosts)}); tasks must be "
                            f"self-contained (or pass --allow-external)", file=str(index))
        for k, png in enumerate(rec.checkpoints):
            atomic_write_bytes(staged / "checkpoints" / f"step_{k}.png", png)
        asset_paths = [staged / "assets" / a.name for a in assets]
        sheets = make_contact_sheets(asset_paths, staged / "stitched_assets") if assets else []
        atomic_write_json(staged / "stitched_assets" / "index.json",
                          {sheet.name: names for sheet, names in sheets})
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
    p.add_argument("site_dir", type=Path, help="folder with index.html and the images it uses")
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
                        allow_external=args.allow_external)
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
