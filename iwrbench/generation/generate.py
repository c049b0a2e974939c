"""Generating pages: inputs from the task, one model call, the reply turned into a page that opens on
its own (`outputs/<task>/<model_slug>/index.html` + the assets it uses), and generation.json.

The model sees the recording as still frames (`video_input` "frames", the default and the published
protocol) or as the video itself ("native", for models that take video: iwrbench/media/video_clip.py);
native pages go to their own run slug (`<model_slug>--video`), so the two are never averaged together.

Every task ends in a record: done, skipped (already done; --force redoes it) or failed with its
reason and kind (model: no usable page; infrastructure: the provider or harness broke; data: the
task lacks what is needed). A failed task never stops the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import iwrbench
from iwrbench.data.tasks import Task
from iwrbench.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temp,
)
from iwrbench.generation.page_refs import (  # noqa: F401 (re-exported: the page post-processing steps)
    FinalPage,
    finalize_html,
    referenced_assets,
    rewrite_asset_refs,
    strip_iframes,
)
from iwrbench.generation.prompt import (
    ASSET_PLACEHOLDER,
    PROMPT_VERSION,
    VIDEO_PROMPT_VERSION,
    build_request,
    build_video_request,
    paper_instructions,
    prompt_hash,
)
from iwrbench.generation.prompt_file import PromptFile
from iwrbench.generation.protocol import (
    PAPER_ASSET_BASE,
    PaperConfig,
    build_paper_request,
    encode_paper_sheet,
    paper_frame_budget,
    read_paper_frames,
)
from iwrbench.layout import ASSETS_FOLDER, EVAL_FOLDER, GENERATION_FILE, PAGE_FILE, page_dir
from iwrbench.media.frames import MediaError, allocate, encode_frame, encode_image_file, sample_video
from iwrbench.media.video_clip import VideoClip, VideoSettings, prepare_clip
from iwrbench.models.base import ImagePart, ModelError, ModelRequest
from iwrbench.models.builtin import BuiltinModel, TaskDataError
from iwrbench.models.client import RemoteModel, no_video_message
from iwrbench.models.pricing import estimate_cost
from iwrbench.models.settings import ModelSettings
from iwrbench.records.base import read_record
from iwrbench.records.generation import GenerationRecord

log = logging.getLogger("iwrbench.generate")


@dataclass(frozen=True)
class GenerationSettings:
    model: ModelSettings = field(default_factory=ModelSettings)
    fps: float = 1.0
    max_frames: int = 64
    force: bool = False
    video_input: str = "frames"  # frames | native
    video: VideoSettings = field(default_factory=VideoSettings)  # limits of a native video
    variant: tuple[str, ...] = ()  # run-slug tags (layout.variant_tags): the pages' folder
    protocol: str = "harness"  # harness | paper (iwrbench.protocol)
    paper: PaperConfig | None = None  # the published config for this model, under --protocol paper
    prompt_file: PromptFile | None = None  # the user's instructions instead of the built-in ones

    def public(self) -> dict[str, Any]:
        run: dict[str, Any] = {"protocol": self.protocol}
        if self.prompt_file is not None:
            run["prompt_file"] = self.prompt_file.record
        if self.video_input == "native":
            return {**self.model.public(), "video_input": "native", **self.video.public(),
                    "prompt_version": VIDEO_PROMPT_VERSION, **run}
        out = {**self.model.public(), "fps": self.fps, "max_frames": self.max_frames,
               "prompt_version": PROMPT_VERSION, **run}
        if self.paper is not None:  # the published settings replace the harness's request settings
            out.update(max_tokens=self.paper.max_tokens, temperature=self.paper.temperature,
                       timeout=float(self.paper.timeout), max_images=self.paper.max_images,
                       image_side=self.paper.max_single_image_size, fps=self.paper.video_fps,
                       max_frames=self.paper.max_video_frames, paper_config=self.paper.key)
        return out


# ---------------------------------------------------------------- reply -> HTML

FENCE = re.compile(r"(?:```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|~~~|\Z)", re.S)
DOC_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.I)
DOC_END = re.compile(r"</html\s*>", re.I)
ANY_TAG = re.compile(r"<(?:[a-z][\w-]*)[\s>/]|</[a-z][\w-]*\s*>", re.I)


def _document_from(text: str, start: int) -> str:
    """From `start` to the last </html> after it, or to the end (a truncated reply)."""
    ends = [m.end() for m in DOC_END.finditer(text, start)]
    body = text[start: ends[-1]] if ends else text[start:]
    if not ends:
        body = re.sub(r"\s*(?:```|~~~)\s*$", "", body)
    return body.strip()


def extract_html(reply: str) -> str | None:
    """The HTML document in a model's reply: fenced or bare, with or without prose around it, even
    when the reply was cut off. A fragment is accepted only when the reply is nothing but markup.
    None when there is no HTML at all."""
    if not reply or not reply.strip():
        return None
    fenced = [(m.start(2), m.group(1).lower(), m.group(2)) for m in FENCE.finditer(reply)]
    documents = [(start, body) for start, _lang, body in fenced if DOC_START.search(body)]
    if documents:
        start, body = max(documents, key=lambda d: len(d[1]))
        doc_at = start + DOC_START.search(body).start()  # type: ignore[union-attr]
        if not DOC_END.search(body) and DOC_END.search(reply, doc_at):
            return _document_from(reply, doc_at)  # a ``` inside the page closed the fence too early
        return _document_from(body, DOC_START.search(body).start())  # type: ignore[union-attr]
    bare = DOC_START.search(reply)
    if bare:
        return _document_from(reply, bare.start())
    for _start, lang, body in fenced:
        if lang in ("html", "htm", "xhtml") and ANY_TAG.search(body):
            return body.strip()
    stripped = reply.strip()
    if stripped.startswith("<") and ANY_TAG.search(stripped) and "</" in stripped:
        return stripped
    return None


# ---------------------------------------------------------------- writing a page


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (else copy) src to dst atomically; leaves an identical existing file alone."""
    try:
        if dst.exists() and os.path.samefile(src, dst):
            return
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def copy_folder_beside(folder: Path, out_dir: Path) -> int:
    """Every file of a multi-file page's folder (but index.html) into out_dir, hard-linked where possible;
    returns how many. Files of the harness's own (generation.json, eval/) are never overwritten."""
    count = 0
    for src in sorted(folder.rglob("*")):
        rel = src.relative_to(folder)
        if not src.is_file() or rel.as_posix() in (PAGE_FILE, GENERATION_FILE) or rel.parts[0] == EVAL_FOLDER:
            continue
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(src, out_dir / rel)
        count += 1
    return count


def write_page(out_dir: Path, html: str, *, assets_from: Path | None, assets: list[str],
               generated: dict[str, bytes] | None = None) -> list[str]:
    """Write assets/ (exactly the files the page uses; stale ones from an earlier run removed), then
    index.html. Returns the asset names written."""
    generated = generated or {}
    adir = out_dir / ASSETS_FOLDER
    wanted = set(assets) | set(generated)
    if adir.is_dir():
        for old in adir.iterdir():
            if old.is_file() and old.name not in wanted:
                old.unlink()
    if wanted:
        adir.mkdir(parents=True, exist_ok=True)
    for name in assets:
        if assets_from is None:
            raise ValueError("assets to copy but no folder to copy them from")
        _link_or_copy(assets_from / name, adir / name)
    for name, data in generated.items():
        atomic_write_bytes(adir / name, data)
    if not wanted and adir.is_dir() and not any(adir.iterdir()):
        adir.rmdir()
    atomic_write_text(out_dir / PAGE_FILE, html)
    return sorted(wanted)


# ---------------------------------------------------------------- inputs


@dataclass
class Inputs:
    frames: list[tuple[float, ImagePart]]
    sheets: list[ImagePart]
    video: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def image_bytes(self) -> int:
        return sum(len(p.data) for _, p in self.frames) + sum(len(p.data) for p in self.sheets)


def _contact_sheets(task: Task, notes: list[str], scratch: Path) -> list[Path]:
    sheets = task.contact_sheets()
    if sheets or not task.asset_files():
        return sheets
    from iwrbench.media.contact_sheet import make_contact_sheets  # only for tasks shipped without sheets

    notes.append("task has no contact sheets: made them from assets/")
    return [path for path, _names in make_contact_sheets(task.asset_files(), scratch)]


def prepare_inputs(task: Task, settings: GenerationSettings) -> Inputs:
    """Sample the video and encode frames and contact sheets within the image budget (CPU-bound)."""
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    notes: list[str] = []
    side = settings.model.image_side
    with tempfile.TemporaryDirectory(prefix="iwrbench-sheets-") as scratch:
        sheet_paths = _contact_sheets(task, notes, Path(scratch))
        max_frames, n_sheets = allocate(settings.max_frames, len(sheet_paths), settings.model.max_images)
        if n_sheets < len(sheet_paths):
            notes.append(f"image budget {settings.model.max_images}: sent {n_sheets} of {len(sheet_paths)} "
                         "contact sheets")
        sheets = [encode_image_file(p, side) for p in sheet_paths[:n_sheets]]
    if max_frames < 1:
        raise TaskDataError(f"image budget {settings.model.max_images} leaves no room for a frame")
    sampled = sample_video(task.video, fps=settings.fps, max_frames=max_frames,
                           encode=lambda bgr: encode_frame(bgr, side))
    notes.extend(sampled.notes)
    frames = [(f.time, ImagePart(f.payload.data, f.payload.media_type, label=f"frame {f.index}"))
              for f in sampled.frames]
    info = sampled.info
    video = {"file": task.video.name, "frames": info.frame_count, "fps": round(info.fps, 3),
             "width": info.width, "height": info.height, "decoded": sampled.decoded}
    return Inputs(frames=frames, sheets=sheets, video=video, notes=notes)


def prepare_request(task: Task, settings: GenerationSettings) -> tuple[ModelRequest, Inputs]:
    """The whole frames request for one task under the settings' protocol and instructions (CPU-bound)."""
    if settings.protocol == "paper":
        return _paper_request(task, settings)
    inputs = prepare_inputs(task, settings)
    text = None
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, settings.fps, len(inputs.frames),
                                                            len(inputs.sheets), ASSET_PLACEHOLDER))
    request = build_request(width=task.width, height=task.height, fps=settings.fps, frames=inputs.frames,
                            sheets=inputs.sheets, max_tokens=settings.model.max_tokens,
                            temperature=settings.model.temperature, timeout=settings.model.timeout,
                            instructions_text=text)
    return request, inputs


def _prompt_fields(task: Task, fps: float, frames: int, sheets: int, assets_base: str) -> dict[str, Any]:
    return {"width": task.width, "height": task.height, "resolution": f"{task.width}x{task.height}",
            "fps": f"{fps:g}", "frames": frames, "sheets": sheets, "assets_base": assets_base}


def _paper_request(task: Task, settings: GenerationSettings) -> tuple[ModelRequest, Inputs]:
    """--protocol paper: the published code's request (iwrbench.protocol, docs/protocol.md)."""
    config = settings.paper
    if config is None:
        raise ValueError("--protocol paper without the published config of the model")
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    sheet_paths = task.contact_sheets()
    notes = [] if sheet_paths else ["task has no contact sheets: the published protocol sends none"]
    sheets = [encode_paper_sheet(p, config.max_single_image_size) for p in sheet_paths]
    got = read_paper_frames(task.video, paper_frame_budget(config, len(sheets)), config.max_single_image_size)
    notes += got.notes
    frames = [(t, ImagePart(p.data, p.media_type, label=f"frame {i}"))
              for i, t, p in zip(got.indices, got.times, got.frames, strict=True)]
    inputs = Inputs(frames=frames, sheets=sheets, notes=notes,
                    video={"file": task.video.name, "frames": got.frame_count, "fps": round(got.fps, 3),
                           "width": got.width, "height": got.height, "decoded": got.decoded})
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, config.video_fps, len(frames), len(sheets),
                                                            PAPER_ASSET_BASE))
    else:
        text = paper_instructions(width=task.width, height=task.height, sheets=len(sheets))
    return build_paper_request(text, sheets, [p for _, p in frames], config), inputs


def prepare_native(task: Task, settings: GenerationSettings) -> tuple[VideoClip, list[ImagePart], list[str]]:
    """The recording itself within the video limits, and the contact sheets as images (CPU-bound)."""
    if task.video is None:
        raise TaskDataError(f"task {task.id} has no video (video.mp4 or video.webm) in {task.folder}")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="iwrbench-sheets-") as scratch:
        paths = _contact_sheets(task, notes, Path(scratch))
        n = min(len(paths), settings.model.max_images)
        if n < len(paths):
            notes.append(f"image budget {settings.model.max_images}: sent {n} of {len(paths)} contact sheets")
        sheets = [encode_image_file(p, settings.model.image_side) for p in paths[:n]]
    return prepare_clip(task.video, settings.video), sheets, notes


# ---------------------------------------------------------------- one task


@dataclass
class TaskOutcome:
    task_id: str
    status: str  # done | skipped | failed
    record: GenerationRecord | None
    epoch: int = 1

    @property
    def label(self) -> str:
        """The task id, with the epoch after the first (`7@epoch-2`), for logs and summaries."""
        return self.task_id if self.epoch == 1 else f"{self.task_id}@epoch-{self.epoch}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def already_done(out_dir: Path) -> bool:
    prev = read_record(GenerationRecord, out_dir / GENERATION_FILE)
    return prev is not None and prev.status == "done" and (out_dir / PAGE_FILE).is_file()


async def generate_task(task: Task, model: RemoteModel | BuiltinModel, settings: GenerationSettings,
                        result: Path, *, decode_slots: asyncio.Semaphore | None = None,
                        epoch: int = 1) -> TaskOutcome:
    """Generate (or skip) one task's page of `epoch` (an independent generation with the same settings,
    in its own folder: layout.py) and write its generation.json. Never raises for a task's failure."""
    out_dir = page_dir(result, task.id, model.name, settings.variant, epoch)
    for folder in (out_dir, out_dir / ASSETS_FOLDER):
        remove_stale_temp(folder)  # left by a run killed mid-write; this task's folder is ours now
    if not settings.force and already_done(out_dir):
        return TaskOutcome(task.id, "skipped", None, epoch)
    record = GenerationRecord(task_id=task.id, model=model.name, provider=model.provider, status="failed",
                              settings=settings.public() if model.provider != "builtin" else {},
                              harness_version=iwrbench.__version__)
    _extra(record, protocol=settings.protocol,  # what made the page: eval.json and the reports say it
           prompt_file=settings.prompt_file.record if settings.prompt_file else None, epoch=epoch)
    start = time.monotonic()
    try:
        if isinstance(model, BuiltinModel):
            await _run_builtin(task, model, record, out_dir)
        else:
            await _run_remote(task, model, settings, record, out_dir, decode_slots, epoch)
    except ModelError as exc:
        _fail(record, "infrastructure", f"{exc.kind}: {exc}")
        record.attempts = max(record.attempts, exc.attempts)
    except (TaskDataError, MediaError) as exc:
        _fail(record, "data", str(exc))
    except OSError as exc:
        _fail(record, "infrastructure", f"file error: {exc}")
    except Exception as exc:  # a harness bug must not stop the run; it is recorded and logged
        log.exception("task %s: unexpected error", task.id)
        _fail(record, "infrastructure", f"internal error: {type(exc).__name__}: {exc}")
    record.seconds = round(time.monotonic() - start, 3)
    record.finished_at = _now()
    if record.status != "done":
        stale = out_dir / PAGE_FILE
        if stale.exists():
            stale.unlink()  # generation.json says failed: no page from an earlier run may remain
    atomic_write_json(out_dir / GENERATION_FILE, record.model_dump(mode="json"))
    return TaskOutcome(task.id, record.status, record, epoch)


def _extra(record: GenerationRecord, **fields: Any) -> None:
    """Set fields of the record beyond its core (each declared in records.GenerationRecord, and validated
    as it is set)."""
    for key, value in fields.items():
        setattr(record, key, value)


def _fail(record: GenerationRecord, kind: str, message: str) -> None:
    record.status = "failed"
    record.error_kind = kind  # type: ignore[assignment]
    record.error = message


async def _run_builtin(task: Task, model: BuiltinModel, record: GenerationRecord, out_dir: Path) -> None:
    page = await asyncio.to_thread(model.build_page, task)
    names = [p.name for p in task.asset_files()]
    if page.uses_task_assets:
        final = finalize_html(page.html, names)
        html, assets = final.html, final.assets
        _extra(record, missing_assets=final.missing_assets)
    else:
        html, assets = page.html, []
    if page.folder is not None:  # a multi-file page as it is: its own files, its own assets/ folder
        _extra(record, files_copied=await asyncio.to_thread(copy_folder_beside, page.folder, out_dir))
        await asyncio.to_thread(atomic_write_text, out_dir / PAGE_FILE, html)
        written: list[str] = []
    else:
        written = await asyncio.to_thread(write_page, out_dir, html, assets_from=task.assets_dir, assets=assets,
                                          generated=page.generated)
    record.assets_copied = written
    _extra(record, source=page.source)
    record.status = "done"


async def _run_remote(task: Task, model: RemoteModel, settings: GenerationSettings, record: GenerationRecord,
                      out_dir: Path, decode_slots: asyncio.Semaphore | None, epoch: int = 1) -> None:
    if not task.folder.is_dir():
        raise TaskDataError(f"task folder {task.folder} is missing")
    _extra(record, video_input=settings.video_input)
    if settings.video_input == "native":
        request = await _native_request(task, model, settings, record, decode_slots)
    else:
        request = await _frames_request(task, model, settings, record, decode_slots)
    request = dataclasses.replace(request, epoch=epoch)  # an epoch >= 2 gets its own cache key
    response = await model.complete(request)
    if request.video_count:
        _extra(record, video_sent_as=response.extra.get("video_sent_as", "data_url"))
    record.input_tokens, record.output_tokens = response.input_tokens, response.output_tokens
    record.attempts, record.cached = response.attempts, response.cached
    _extra(record, stop_reason=response.stop_reason, model_seconds=response.seconds,
           truncated=response.stop_reason == "length", temperature_sent=response.extra.get("temperature_sent"),
           cache_key=response.extra.get("cache_key"))
    if response.stop_reason in ("refusal", "content_filter"):
        _fail(record, "model", f"the model refused ({response.stop_reason}): {_excerpt(response.text)}")
        return
    html = extract_html(response.text)
    if html is None:
        model.forget(response)  # a failed task is retried on rerun: by the model, not from the cache
        cut = " (the reply was cut off at max_tokens)" if response.stop_reason == "length" else ""
        _fail(record, "model", f"the reply contains no HTML{cut}: {_excerpt(response.text)}")
        return
    final = finalize_html(html + "\n", [p.name for p in task.asset_files()])
    _extra(record, iframes_removed=final.iframes_removed, external_refs=final.external_refs,
           missing_assets=final.missing_assets)
    record.assets_copied = await asyncio.to_thread(write_page, out_dir, final.html, assets_from=task.assets_dir,
                                                   assets=final.assets)
    record.status = "done"


async def _cpu(fn: Callable[..., Any], *args: Any, slots: asyncio.Semaphore | None) -> Any:
    """Run CPU-bound input preparation in a thread, one task per CPU when slots are given."""
    if slots is None:
        return await asyncio.to_thread(fn, *args)
    async with slots:
        return await asyncio.to_thread(fn, *args)


async def _frames_request(task: Task, model: RemoteModel, settings: GenerationSettings, record: GenerationRecord,
                          decode_slots: asyncio.Semaphore | None) -> ModelRequest:
    request, inputs = await _cpu(prepare_request, task, settings, slots=decode_slots)
    record.prompt_hash = prompt_hash(request)
    record.frames_sent = len(inputs.frames)
    record.images_sent = request.image_count
    _extra(record, model_id=model.model_id, base_url=model.base_url, image_bytes=inputs.image_bytes,
           frame_times=[round(t, 2) for t, _ in inputs.frames], video=inputs.video, notes=inputs.notes)
    return request


async def _native_request(task: Task, model: RemoteModel, settings: GenerationSettings, record: GenerationRecord,
                          decode_slots: asyncio.Semaphore | None) -> ModelRequest:
    if not model.accepts_video:  # fail before the CPU goes into a video nobody will see
        raise ModelError(no_video_message(model.name), retryable=False, kind="client_error")
    clip, sheets, notes = await _cpu(prepare_native, task, settings, slots=decode_slots)
    text = None
    if settings.prompt_file is not None:
        text = settings.prompt_file.render(**_prompt_fields(task, clip.fps, clip.frames, len(sheets),
                                                            ASSET_PLACEHOLDER))
    request = build_video_request(width=task.width, height=task.height, video=clip.part(f"task {task.id}"),
                                  duration=clip.frames / clip.fps if clip.fps > 0 else None, sheets=sheets,
                                  max_tokens=settings.model.max_tokens, temperature=settings.model.temperature,
                                  timeout=settings.model.timeout, instructions_text=text)
    record.prompt_hash = prompt_hash(request)
    record.images_sent = request.image_count
    _extra(record, model_id=model.model_id, base_url=model.base_url, image_bytes=sum(len(p.data) for p in sheets),
           video=clip.source, video_sent=clip.record(), notes=notes)
    return request


def _excerpt(text: str, limit: int = 200) -> str:
    """A short, single-line quote of a reply for an error message (no base64 blobs)."""
    flat = re.sub(r"(data:[\w/+.-]*;base64,)[A-Za-z0-9+/=]{16,}", r"\1…", " ".join((text or "").split()))
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


# ---------------------------------------------------------------- a run


@dataclass
class RunSummary:
    model: str
    epochs: int = 1
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (task id, error)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def summarize(model: RemoteModel | BuiltinModel, outcomes: list[TaskOutcome], seconds: float,
              epochs: int = 1) -> RunSummary:
    summary = RunSummary(model=model.name, epochs=epochs, seconds=round(seconds, 2))
    for o in outcomes:
        setattr(summary, o.status, getattr(summary, o.status) + 1)
        rec = o.record
        if rec is None:
            continue
        summary.cached += int(rec.cached)
        if not rec.cached:
            summary.input_tokens += rec.input_tokens or 0
            summary.output_tokens += rec.output_tokens or 0
        if o.status == "failed":
            summary.failures.append((o.label, f"[{rec.error_kind}] {rec.error}"))
    if isinstance(model, RemoteModel):
        summary.cost = estimate_cost(model.provider, model.model_id, summary.input_tokens, summary.output_tokens)
    return summary


def format_summary(s: RunSummary) -> str:
    per = f" ({s.epochs} epochs per task)" if s.epochs > 1 else ""
    lines = [f"generate {s.model}{per}: {s.done} done, {s.skipped} skipped, {s.failed} failed "
             f"in {s.seconds:.1f} s" + (f" ({s.cached} from the response cache)" if s.cached else "")]
    if s.input_tokens or s.output_tokens:
        cost = f", estimated cost ${s.cost:.2f} at list prices" if s.cost is not None else ", cost unknown"
        lines.append(f"  tokens: {s.input_tokens} in, {s.output_tokens} out{cost}")
    for task_id, error in s.failures[:20]:
        lines.append(f"  failed {task_id}: {error}")
    if len(s.failures) > 20:
        lines.append(f"  ... and {len(s.failures) - 20} more (see generation.json of each task)")
    return "\n".join(lines)


async def run_generation(tasks: list[Task], model: RemoteModel | BuiltinModel, settings: GenerationSettings,
                         result: Path, *, workers: int = 8,
                         on_done: Callable[[TaskOutcome], None] | None = None, epochs: int = 1) -> RunSummary:
    """Generate every task `epochs` times (epoch 1 of every task first, then epoch 2 ...), `workers` at a
    time; video decoding is limited to one task per CPU. Each (task, epoch) is done, skipped or retried
    on its own, so a rerun resumes whatever epoch was cut short."""
    start = time.monotonic()
    slots = asyncio.Semaphore(max(1, workers))
    decode_slots = asyncio.Semaphore(max(1, min(workers, os.cpu_count() or 1)))

    async def one(task: Task, epoch: int) -> TaskOutcome:
        async with slots:
            outcome = await generate_task(task, model, settings, Path(result), decode_slots=decode_slots,
                                          epoch=epoch)
        if outcome.status == "failed" and outcome.record is not None:
            log.warning("task %s failed: [%s] %s", outcome.label, outcome.record.error_kind, outcome.record.error)
        else:
            log.info("task %s %s", outcome.label, outcome.status)
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        outcomes = await asyncio.gather(*(one(t, e) for e in range(1, epochs + 1) for t in tasks))
    finally:
        await model.aclose()
    return summarize(model, list(outcomes), time.monotonic() - start, epochs)
