"""A page's references to the task's assets, made to work from the page's own folder.

A model (or another tool) may address assets in many ways: this harness's placeholder `__ASSETS__`,
the published code's `__PLACEHOLDER_ASSETS_BASE_DIR__`, `./assets/`, `/assets/`, a path into the dataset
(`../../../data/sample/3/assets/001.png`, the published generate.py's way, or an absolute or `file://`
one), or a bare file name (`src="001.png"`). Every one of them becomes `assets/<name>`, the files used
are copied beside the page (generation.write_page), and a reference to a file the task does not have
is listed (`missing_assets` in generation.json). Other origins (`https://…`, `//…`) are left alone:
they are counted as external references and blocked when the page is replayed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

# Base paths a prompt may ask the model to put before an asset's file name: this harness's built-in
# prompt's, and the published code's (docs/protocol.md). Longest first.
ASSET_PLACEHOLDERS = ("__PLACEHOLDER_ASSETS_BASE_DIR__", "__ASSETS__")

IFRAME_PAIR = re.compile(r"<iframe\b[^>]*>.*?</iframe\s*>", re.I | re.S)
IFRAME_OPEN = re.compile(r"<iframe\b[^>]*>|</iframe\s*>", re.I)
EXTERNAL_REF = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])(?:https?:)?//""", re.I)

# Where a reference may start: the start of the text, or after white space, a quote, a backtick,
# '(' or '='. A base64 blob (letters, digits, '+', '/') never holds one of these, so a data: URL is
# never taken for a path.
_STARTS_REF = r"(?<![^\s\"'`(=])"
# A path (ending in '/') followed by `assets/`; its characters stop at delimiters of HTML, CSS and JS.
ASSET_PATH = re.compile(_STARTS_REF + r"(?P<path>[^\s\"'`()<>,;=?#{}\\]*/)assets/")
OTHER_ORIGIN = re.compile(r"^(?:(?!file:)[a-z][a-z0-9+.-]*:|//)", re.I)
# `assets/<file name>` as a whole reference: what the page will ask its own folder for.
ASSET_REF = re.compile(_STARTS_REF + r"assets/([\w%~@+.-]+\.[A-Za-z0-9]{1,8})(?![\w/%~@+.-])")


def strip_iframes(html: str) -> tuple[str, int]:
    """Remove iframes (the page must be self-contained); returns (html, how many were removed)."""
    html, pairs = IFRAME_PAIR.subn("", html)
    loose = len(re.findall(r"<iframe\b", html, re.I))  # opened, never closed
    html = IFRAME_OPEN.sub("", html)
    return html, pairs + loose


def _names_pattern(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def _local_path(match: re.Match[str]) -> str:
    """`assets/` for a path on this machine or relative to the page; the text unchanged for a URL of
    another origin (https://, //, data:, blob: …)."""
    return match.group(0) if OTHER_ORIGIN.match(match.group("path")) else "assets/"


def rewrite_asset_refs(html: str, asset_names: list[str]) -> str:
    """Point every asset reference at `assets/<name>`: either placeholder base path, `./assets/`,
    `/assets/`, any relative, absolute or file:// path whose last folder is `assets/`, and bare file
    names of the task's assets in attributes (`src="001.png"`) and CSS `url(001.png)`."""
    for placeholder in ASSET_PLACEHOLDERS:
        html = re.sub(r"(?:\.?/)?" + re.escape(placeholder) + r"/+", "assets/", html)
        html = html.replace(placeholder, "assets")  # e.g. a JS base-path constant
    html = ASSET_PATH.sub(_local_path, html)
    if not asset_names:
        return html
    names = _names_pattern(asset_names)
    html = re.sub(r"(\s(?:src|href|poster|data-[\w-]+)\s*=\s*)([\"'])(?:\./)?(" + names + r")\2",
                  lambda m: f"{m.group(1)}{m.group(2)}assets/{m.group(3)}{m.group(2)}", html, flags=re.I)
    html = re.sub(r"(\s(?:src|href|poster)\s*=\s*)(?:\./)?(" + names + r")(?=[\s>])",
                  lambda m: f"{m.group(1)}assets/{m.group(2)}", html, flags=re.I)
    html = re.sub(r"(url\(\s*([\"']?))(?:\./)?(" + names + r")(\2\s*\))",
                  lambda m: f"{m.group(1)}assets/{m.group(3)}{m.group(4)}", html, flags=re.I)
    return html


def referenced_assets(html: str, asset_names: list[str]) -> list[str]:
    """Task assets the page uses: named after `assets/`, or as a whole quoted string (a script that
    builds the path itself). Only names that exist in the task's assets."""
    known = set(asset_names)
    found = {unquote(m.group(1)) for m in re.finditer(r"assets/([^\"'()\s<>?#\\,]+)", html)}
    if known:
        found |= {m.group(2) for m in re.finditer(r"([\"'])(" + _names_pattern(asset_names) + r")\1", html)}
    return sorted(found & known)


def missing_assets(html: str, asset_names: list[str]) -> list[str]:
    """File names the page asks its `assets/` folder for that the task does not have (each once)."""
    known = set(asset_names)
    return sorted({unquote(m.group(1)) for m in ASSET_REF.finditer(html)} - known)


@dataclass
class FinalPage:
    html: str
    assets: list[str]
    iframes_removed: int = 0
    external_refs: int = 0
    missing_assets: list[str] = field(default_factory=list)


def finalize_html(html: str, asset_names: list[str]) -> FinalPage:
    """A reply (or an imported file) as the page written to disk, with what it uses and lacks."""
    html, iframes = strip_iframes(html)
    html = rewrite_asset_refs(html, asset_names)
    return FinalPage(html=html, assets=referenced_assets(html, asset_names), iframes_removed=iframes,
                     external_refs=len(EXTERNAL_REF.findall(html)),
                     missing_assets=missing_assets(html, asset_names))
