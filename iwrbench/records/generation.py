"""generation.json: how one page was made (or why it was not)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from iwrbench.records.base import GENERATION_SCHEMA_VERSION, Details, Record, VersionedRecord

# ---------------------------------------------------------------- generation.json


class PromptFileRef(Record):
    name: str
    sha256: str


class GenerationRecord(VersionedRecord):
    """generation.json: how one page was made (or why it was not)."""

    schema_version: int = GENERATION_SCHEMA_VERSION
    task_id: str
    model: str
    provider: str
    status: Literal["done", "failed"]
    epoch: int = 1
    protocol: str | None = None  # "harness" | "paper"; None for an imported page
    prompt_file: PromptFileRef | None = None
    video_input: str | None = None  # "frames" | "native" (remote models)
    prompt_hash: str | None = None
    frames_sent: int = 0
    images_sent: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    seconds: float = 0.0
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    error_kind: Literal["model", "infrastructure", "data"] | None = None
    assets_copied: list[str] = Field(default_factory=list)
    missing_assets: list[str] | None = None
    settings: Details = Field(default_factory=dict)  # the generation settings (GenerationSettings.public)
    # the request (remote models)
    model_id: str | None = None
    base_url: str | None = None
    image_bytes: int | None = None
    frame_times: list[float] | None = None  # seconds into the recording of each frame sent
    video: Details | None = None  # the recording as read (file, frames, fps, size)
    video_sent: Details | None = None  # native video: what was sent (sha256, bytes, type, fps, re-encoding)
    video_sent_as: str | None = None
    notes: list[str] | None = None
    # the reply (remote models)
    stop_reason: str | None = None
    model_seconds: float | None = None
    truncated: bool | None = None
    temperature_sent: bool | None = None  # whether the request carried a temperature
    cache_key: str | None = None
    iframes_removed: int | None = None
    external_refs: int | None = None  # references to other origins removed
    # built-in models
    source: str | None = None  # what the page was built from
    files_copied: int | None = None  # files of a multi-file page copied beside index.html
    # imported pages (utils/import_pages.py)
    imported_from: str | None = None
    imported_sha256: str | None = None
    source_layout: str | None = None
    harness_version: str = ""
    finished_at: str = ""


