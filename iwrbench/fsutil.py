"""Atomic file writes: write a temporary file in the same folder, fsync, then rename.

A crash mid-write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from iwrbench.errors import UserError
from iwrbench.redaction import redact


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[tuple[int, str]]:
    """A temporary file beside `path` (its descriptor and name): it replaces `path` when the block ends
    without error, and is removed when the block fails, so `path` is never seen half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, only_if_changed: bool = False) -> Path:
    """`only_if_changed`: leave a file that already holds exactly `data` untouched (its mtime too), so
    rebuilding unchanged reports changes nothing on disk."""
    path = Path(path)
    if only_if_changed:
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return path
        except OSError:
            pass
    with _replacing(path) as (fd, _tmp), os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; outputs are meant to be shared and served
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | os.PathLike, text: str, *, only_if_changed: bool = False) -> Path:
    """Text files never carry an API key, whatever put one into the text (see redaction.py)."""
    return atomic_write_bytes(path, redact(text).encode("utf-8"), only_if_changed=only_if_changed)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, only_if_changed: bool = False) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n",
                             only_if_changed=only_if_changed)


def atomic_link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Put `src` at `dst` atomically: a hard link where the file system allows (no bytes copied), else a
    copy. An existing `dst` is replaced; a file already the same inode is left alone."""
    src, dst = Path(src), Path(dst)
    try:
        if dst.samefile(src):
            return dst
    except OSError:
        pass
    with _replacing(dst) as (fd, tmp):
        os.close(fd)
        os.unlink(tmp)
        try:
            os.link(src, tmp)
        except OSError:  # another file system, or links not allowed: copy the bytes
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
    return dst


def read_utf8(path: Path, label: str, *, missing: str | None = None) -> tuple[str, bytes]:
    """A user's text file (a page, a prompt), as text and as its bytes; a one-line UserError starting
    with `label` when it cannot be read or is not UTF-8 (`missing`: the message for no such file)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise UserError(f"{label} {missing or f'cannot be read ({exc.strerror or exc})'}") from None
    except OSError as exc:
        raise UserError(f"{label} cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig"), data
    except UnicodeDecodeError as exc:
        raise UserError(f"{label} is not UTF-8 text (byte {exc.start})") from None


def read_json(path: str | os.PathLike) -> Any | None:
    """Read a JSON file; None when missing or unreadable (a half-written file cannot exist)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


# mkstemp's names: "." + the file's name + "." + 8 random characters + ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temp(folder: str | os.PathLike, *, older_than: float = 0.0) -> int:
    """Remove temporary files that a killed run left in `folder` (not its subfolders); returns how many.

    They are never read (readers open the final names only), but they are litter, and a folder
    about to be written by this process holds none that another process still needs. `older_than`
    (seconds) spares files a concurrent writer may be writing right now, for shared folders."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now = time.time()
    removed = 0
    for path in folder.iterdir():
        if not _TEMP_NAME.match(path.name):
            continue
        try:
            if older_than and now - path.lstat().st_mtime < older_than:
                continue
            if path.is_file() or path.is_symlink():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
