"""One task's generation: skipped when its page is already done (--force redoes it), else the model
called once (a builtin builds the page itself), the reply turned into a page, and generation.json
written whatever happened.

Every task ends in a record: done, skipped (already done; --force redoes it) or failed with its
reason and kind (model: no usable page; infrastructure: the provider or harness broke; data: the
task lacks what is needed). A failed task never stops the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import iwrbench
from iwrbench.data.tasks import Task
from iwrbench.fsutil import atomic_write_json, atomic_write_text, remove_stale_temp
from iwrbench.generation.page_refs import finalize_html
from iwrbench.generation.prompt import prompt_hash
from iwrbench.generation.reply_to_page import copy_folder_beside, extract_html, write_page
from iwrbench.generation.request import native_request, prepare_native, prepare_request
from iwrbench.generation.settings import GenerationSettings
from iwrbench.layout import ASSETS_FOLDER, GENERATION_FILE, PAGE_FILE, page_dir
from iwrbench.media.frames import MediaError
from iwrbench.models.base import ModelError, ModelRequest
from iwrbench.models.builtin import BuiltinModel, TaskDataError
from iwrbench.models.client import RemoteModel, no_video_message
from iwrbench.records.base import read_record
from iwrbench.records.generation import GenerationRecord

log = logging.getLogger("iwrbench.generate")


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
    request = native_request(task, settings, clip, sheets)
    record.prompt_hash = prompt_hash(request)
    record.images_sent = request.image_count
    _extra(record, model_id=model.model_id, base_url=model.base_url, image_bytes=sum(len(p.data) for p in sheets),
           video=clip.source, video_sent=clip.record(), notes=notes)
    return request


def _excerpt(text: str, limit: int = 200) -> str:
    """A short, single-line quote of a reply for an error message (no base64 blobs)."""
    flat = re.sub(r"(data:[\w/+.-]*;base64,)[A-Za-z0-9+/=]{16,}", r"\1…", " ".join((text or "").split()))
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
