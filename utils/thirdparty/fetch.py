"""Fetch the pinned registry packages of sources.json into the cache and unpack them.

npm packages come through `npm pack <pkg>@<version>`, Debian packages through
`apt-get download <pkg>=<version>` (then `dpkg -x`): the ordinary clients, nothing else. Every download
is checked against its pinned sha256, so a changed upstream stops the build instead of changing the
corpus. Debian packages are unpacked into one shared root (`debroot/`), so a symlink from one package
into another (a docs site's `_static/jquery.js` -> /usr/share/javascript/jquery/jquery.js) resolves.
Idempotent: a verified download and a finished unpack are kept.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from iwrbench.errors import InfrastructureError, UserError
from iwrbench.fsutil import atomic_write_text

SOURCES_FILE = Path(__file__).with_name("sources.json")
FETCH_TIMEOUT_S = 600


@dataclass(frozen=True)
class Source:
    name: str
    registry: str      # "npm" | "deb"
    package: str
    version: str
    file: str          # the downloaded file's name
    sha256: str
    licence: str
    purpose: str


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read the sources table: {exc}", file=str(path)) from None
    out = []
    for i, raw in enumerate(obj.get("sources") or []):
        try:
            src = Source(**{k: raw[k] for k in Source.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise UserError(f"bad source entry: {exc}", file=str(path), field=f"sources[{i}]") from None
        if src.registry not in ("npm", "deb"):
            raise UserError(f"registry {src.registry!r} is not npm or deb", file=str(path),
                            field=f"sources[{i}].registry")
        out.append(src)
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"{' '.join(cmd)}: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InfrastructureError(f"{' '.join(cmd)} failed: {tail[0]}")


def download(src: Source, downloads: Path) -> Path:
    """The verified downloaded file (fetched if absent; a file with another sha256 is refused)."""
    downloads.mkdir(parents=True, exist_ok=True)
    path = downloads / src.file
    if not path.is_file():
        if src.registry == "npm":
            _run(["npm", "pack", f"{src.package}@{src.version}", "--silent"], downloads)
        else:
            _run(["apt-get", "download", f"{src.package}={src.version}"], downloads)
        if not path.is_file():
            found = sorted(p.name for p in downloads.glob(f"*{src.package}*"))
            raise InfrastructureError(f"{src.package} {src.version}: expected {src.file}, got {found}")
    digest = sha256_of(path)
    if digest != src.sha256:
        raise UserError(f"{src.file}: sha256 {digest} is not the pinned {src.sha256} (upstream changed? "
                        f"delete the file to fetch again, and review before re-pinning)", file=str(SOURCES_FILE))
    return path


def unpack(src: Source, archive: Path, cache: Path) -> Path:
    """Where the package's files are: npm -> unpacked/<name>/ (the tarball's package/ folder);
    deb -> debroot/ (shared by every Debian package)."""
    stamp_dir = cache / "unpacked" / ".stamps"
    stamp = stamp_dir / f"{src.name}.{src.sha256[:16]}"
    dest = cache / "debroot" if src.registry == "deb" else cache / "unpacked" / src.name
    if stamp.is_file():
        return dest
    if src.registry == "deb":
        dest.mkdir(parents=True, exist_ok=True)
        _run(["dpkg", "-x", str(archive), str(dest)], cache)
    else:
        tmp = dest.with_name(f".{src.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        inner = tmp / "package" if (tmp / "package").is_dir() else tmp
        shutil.rmtree(dest, ignore_errors=True)
        inner.rename(dest)
        shutil.rmtree(tmp, ignore_errors=True)
    stamp_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stamp, f"{src.package} {src.version}\n")
    return dest


def fetch_all(cache: Path, names: set[str] | None = None) -> dict[str, Path]:
    """Download, verify and unpack the sources (all, or those named); name -> where its files are."""
    cache = cache.resolve()
    out: dict[str, Path] = {}
    for src in load_sources():
        if names is not None and src.name not in names:
            continue
        out[src.name] = unpack(src, download(src, cache / "downloads"), cache)
    return out
