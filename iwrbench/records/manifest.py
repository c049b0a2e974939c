"""The run manifest: what produced a set of scores (harness, git revision, packages, Chromium, judge,
settings). Every report carries one so a number can be traced to the code and settings behind it.

Collecting never fails: what cannot be found is recorded as null, never guessed.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

import iwrbench
from iwrbench.layout import judge_slug
from iwrbench.records.base import OpenRecord, Record, VersionedRecord
from iwrbench.records.generation import PromptFileRef
from iwrbench.redaction import REDACTED, is_secret_name
from iwrbench.sandbox.chromium_path import find_chromium

MANIFEST_SCHEMA_VERSION = 1
VERSION_TIMEOUT = 10.0  # seconds `<chromium> --version` may take
GIT_TIMEOUT = 5.0


class GitState(Record):
    commit: str
    dirty: bool | None = None  # tracked files differ from HEAD; None when git status failed


class ChromiumInfo(Record):
    path: str | None = None
    version: str | None = None


class RunSettings(OpenRecord):
    """The settings of the run behind the scores (evaluate.py's flags); others, named by the caller, go
    to `details` (secrets redacted by name)."""

    model: str | None = None
    judge: str | None = None
    agent: str | None = None
    judge_folder: str | None = None
    protocol: str | None = None
    prompt_file: PromptFileRef | None = None
    data: str | None = None
    image_metric: str | None = None
    video_input: str | None = None
    variant: list[str] | None = None
    visual: bool | None = None
    workers: int | None = None
    browsers: int | None = None  # Chromiums the workers shared (defaults resolved)
    judge_concurrency: int | None = None  # model calls in flight at most; None when no model was called
    step_timeout: float | None = None
    task_timeout: float | None = None
    tasks_selected: int | None = None
    epochs: int | None = None
    rejudge: bool | None = None  # judged again from stored traces (evaluate.py --rejudge)
    chromium: str | None = None


class Manifest(VersionedRecord):
    """What produced a set of scores: reports/<judge>/manifests/<run slug>.json and every report's
    `manifest`."""

    schema_version: int = MANIFEST_SCHEMA_VERSION
    harness_version: str
    git: GitState | None = None
    python: str
    platform: str
    packages: dict[str, str | None] = Field(default_factory=dict)
    chromium: ChromiumInfo = Field(default_factory=ChromiumInfo)
    judge: str | None = None
    judge_slug: str
    model: str | None = None
    settings: RunSettings = Field(default_factory=RunSettings)
    created_at: str
    source: str | None = None  # how it was obtained when the run left none

# Distribution names whose versions change results; the first name found of each tuple is reported.
PACKAGES: dict[str, tuple[str, ...]] = {
    "playwright": ("playwright",),
    "browser-use": ("browser-use",),
    "openai": ("openai",),
    "anthropic": ("anthropic",),
    "rapidocr": ("rapidocr",),
    "onnxruntime": ("onnxruntime",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless"),
    "numpy": ("numpy",),
    "scikit-image": ("scikit-image",),
    "pillow": ("pillow",),
    "pydantic": ("pydantic",),
    "torch": ("torch",),  # DINOv2 image metrics
    "transformers": ("transformers",),
}
REPO_ROOT = Path(iwrbench.__file__).resolve().parent.parent


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for label, names in PACKAGES.items():
        out[label] = None
        for name in names:
            try:
                out[label] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def _run(cmd: list[str], timeout: float, cwd: Path | None = None) -> str | None:
    """Output of a short command, or None when it is absent, fails or hangs."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_revision(root: Path = REPO_ROOT) -> dict[str, Any] | None:
    """HEAD and whether tracked files differ from it; None outside a git checkout or without git."""
    if not (root / ".git").exists():
        return None
    head = _run(["git", "rev-parse", "HEAD"], GIT_TIMEOUT, cwd=root)
    if not head:
        return None
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], 2 * GIT_TIMEOUT, cwd=root)
    return {"commit": head, "dirty": None if status is None else bool(status)}


def read_chromium_version(executable: str | None = None, timeout: float = VERSION_TIMEOUT) -> dict[str, str | None]:
    """`<chromium> --version` of the given or discovered build (None fields when unavailable)."""
    exe = executable or find_chromium()
    version = _run([exe, "--version"], timeout) if exe else None
    return {"path": exe, "version": version or None}


def redact(value: Any) -> Any:
    """Copy of settings with secrets replaced: keys never reach a report."""
    if isinstance(value, dict):
        return {str(k): REDACTED if is_secret_name(str(k)) and v not in (None, "") else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def collect_manifest(settings: dict[str, Any] | None = None, *, chromium_version: str | None = None,
                     chromium: str | None = None) -> dict[str, Any]:
    """Manifest of this process's environment plus the run's settings, as the JSON a report carries.

    Chromium's version comes from `chromium_version`, else a `chromium_version` key in settings (the
    evaluator knows it from the browser it launched), else `<chromium> --version` with a short timeout.
    `judge` is taken from settings (`judge`: model name or slug; none means the offline judges).
    """
    settings = dict(settings or {})
    known = chromium_version or settings.pop("chromium_version", None)
    if known:
        browser = {"path": chromium or settings.get("chromium"), "version": str(known)}
    else:
        browser = read_chromium_version(chromium or settings.get("chromium"))
    judge = settings.get("judge") or None
    return Manifest(
        harness_version=iwrbench.__version__,
        git=git_revision(),
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        chromium=ChromiumInfo(**browser),
        judge=judge,
        judge_slug=judge_slug(judge),
        model=settings.get("model"),
        settings=RunSettings.model_validate(redact(settings)),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    ).model_dump(mode="json")
