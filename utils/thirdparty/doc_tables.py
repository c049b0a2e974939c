"""The corpus tables of docs/validity.md (sources, sites, tasks), made from the committed files so the doc
cannot drift from them: `python -m utils.thirdparty.build --write-docs docs/validity.md`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from iwrbench.errors import UserError
from iwrbench.fsutil import atomic_write_text
from utils.thirdparty.fetch import load_sources
from utils.thirdparty.sites import SITES

BEGIN, END = "<!-- corpus:begin -->", "<!-- corpus:end -->"


def corpus_tables(specs: list[tuple[str, Path, dict]]) -> str:
    lines = ["**Sources** (utils/thirdparty/sources.json; sha256 of each downloaded file is pinned there)", "",
             "| package | registry | version | licence | for |", "| --- | --- | --- | --- | --- |"]
    for s in load_sources():
        lines.append(f"| {s.package} | {s.registry} | {s.version} | {s.licence} | {s.purpose} |")
    used = {meta["site"] for _, _, meta in specs} | {(meta.get("other") or {}).get("site") for _, _, meta in specs}
    lines += ["", "**Site folders** (utils/thirdparty/sites.py: how each becomes a folder with a root index.html)",
              "", "| site | from | how |", "| --- | --- | --- |"]
    for name, site in SITES.items():
        if name in used:
            lines.append(f"| {name} | {', '.join(site.sources)} | {site.how} |")
    lines += ["", "**Tasks** (utils/thirdparty/tasks/*.json)", "",
              "| task | site | actions | types | other reconstruction |", "| --- | --- | ---: | --- | --- |"]
    total: Counter[str] = Counter()
    for tid, _path, meta in specs:
        types = Counter(a["type"] for a in meta["actions"])
        total.update(types)
        other = meta.get("other") or {"kind": "restyle"}
        alt = f"implementation: {other['site']}" if other.get("kind") == "implementation" else "restyle"
        lines.append(f"| {tid} | {meta['site']} | {sum(types.values())} | "
                     f"{', '.join(f'{k} {v}' for k, v in sorted(types.items()))} | {alt} |")
    projects = {SITES[meta["site"]].sources[0] for _, _, meta in specs}
    lines += ["", f"{len(specs)} tasks from {len(projects)} projects, {sum(total.values())} actions "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(total.items()))})."]
    return "\n".join(lines) + "\n"


def write_corpus_tables(doc: Path, specs: list[tuple[str, Path, dict]]) -> None:
    try:
        text = doc.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", file=str(doc)) from None
    if BEGIN not in text or END not in text:
        raise UserError(f"no {BEGIN} ... {END} markers", file=str(doc))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(doc, f"{head}{BEGIN}\n{corpus_tables(specs)}{END}{tail}")
