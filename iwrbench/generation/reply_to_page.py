"""From a model's reply to the page's files: the HTML document found in the reply (fenced or bare, cut
off or not), then index.html and exactly the assets it uses written into the page folder. Apart from
the per-task run because the importer writes pages made by another tool the same way (write_page), and
the reply parsing is tested on its own."""

from __future__ import annotations

import re
from pathlib import Path

from iwrbench.fsutil import atomic_link_or_copy, atomic_write_bytes, atomic_write_text
from iwrbench.layout import ASSETS_FOLDER, EVAL_FOLDER, GENERATION_FILE, PAGE_FILE

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


def copy_folder_beside(folder: Path, out_dir: Path) -> int:
    """Every file of a multi-file page's folder (but index.html) into out_dir, hard-linked where possible;
    returns how many. Files of the harness's own (generation.json, eval/) are never overwritten."""
    count = 0
    for src in sorted(folder.rglob("*")):
        rel = src.relative_to(folder)
        if not src.is_file() or rel.as_posix() in (PAGE_FILE, GENERATION_FILE) or rel.parts[0] == EVAL_FOLDER:
            continue
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_link_or_copy(src, out_dir / rel)
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
        atomic_link_or_copy(assets_from / name, adir / name)
    for name, data in generated.items():
        atomic_write_bytes(adir / name, data)
    if not wanted and adir.is_dir() and not any(adir.iterdir()):
        adir.rmdir()
    atomic_write_text(out_dir / PAGE_FILE, html)
    return sorted(wanted)
