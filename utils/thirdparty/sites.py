"""Assemble self-contained site folders (index.html at the root) from the unpacked registry packages.

Each recipe changes as little as it can, and says what it changed (`Site.how`): the corpus table in
docs/validity.md prints it. Symlinks are replaced by the files they point at (the harness serves
nothing outside a page's folder); Debian symlinks into /usr/share/javascript resolve inside the shared
Debian root, where every package of sources.json was unpacked.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iwrbench.errors import InfrastructureError, UserError
from iwrbench.fsutil import atomic_write_text

SKIP_SUFFIXES = (".gz", ".br", ".brotli", ".map")


@dataclass(frozen=True)
class Site:
    name: str
    sources: tuple[str, ...]   # names in sources.json
    how: str                   # what the recipe did to make it a folder with a root index.html
    build: Callable[[dict[str, Path], Path], None]


def _copytree(src: Path, dst: Path) -> None:
    """Copy with symlinks followed; compressed twins and source maps left out; dangling links skipped."""
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if p.name.endswith(SKIP_SUFFIXES):
            continue
        if p.is_dir():
            (dst / rel).mkdir(parents=True, exist_ok=True)
        elif p.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst / rel)


# ---------------------------------------------------------------- recipes


def _todomvc(framework: str) -> Callable[[dict[str, Path], Path], None]:
    def build(src: dict[str, Path], out: Path) -> None:
        folder = src["todomvc"] / "examples" / framework
        if not (folder / "index.html").is_file():
            raise UserError(f"todomvc has no examples/{framework}/index.html")
        _copytree(folder, out)
    return build


JQUI_ROOT = "usr/share/doc/libjs-jquery-ui-docs/examples"


def _jquery_ui(widget: str, demo: str) -> Callable[[dict[str, Path], Path], None]:
    """The demo stays at examples/<widget>/<demo>.html (bootstrap.js reads the widget from the URL's
    folder); the Debian packages' files sit at the absolute paths the demo loads them from."""
    def build(src: dict[str, Path], out: Path) -> None:
        root = src["jquery-ui-docs"]
        examples = root / JQUI_ROOT
        page = examples / widget / f"{demo}.html"
        if not page.is_file():
            raise UserError(f"jQuery UI docs have no {widget}/{demo}.html")
        for rel in ("bootstrap.js", "demos.css", "images", widget):
            item = examples / rel
            if item.is_dir():
                _copytree(item, out / "examples" / rel)
            else:
                (out / "examples").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(item, out / "examples" / rel)
        _copytree(root / "usr/share/javascript/jquery-ui", out / "usr/share/javascript/jquery-ui")
        for lib in ("jquery", "jquery-mousewheel"):
            _copytree(root / "usr/share/javascript" / lib, out / "usr/share/javascript" / lib)
        (out / "usr/share/nodejs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "usr/share/nodejs/requirejs/require.js", out / "usr/share/nodejs/require.js")
        text = page.read_text(encoding="utf-8")
        demo_path = f"/examples/{widget}/{demo}.html"
        # The least invasive entry: the demo's own markup, resolved against its folder (<base>) and at its
        # own URL (history.replaceState, no navigation), so bootstrap.js and every relative path behave
        # as on the demo site.
        inject = (f'<base href="{demo_path}">\n\t<script>history.replaceState(null, "", '
                  f'"{demo_path}" + location.search + location.hash);</script>\n\t')
        text, n = re.subn(r"(<head[^>]*>\s*)", lambda m: m.group(1) + inject, text, count=1, flags=re.I)
        if n != 1:
            raise UserError(f"jQuery UI demo {widget}/{demo}.html has no <head>")
        atomic_write_text(out / "index.html", text)
    return build


def _sphinx(package: str) -> Callable[[dict[str, Path], Path], None]:
    def build(src: dict[str, Path], out: Path) -> None:
        folder = src["waitress-doc"] / "usr/share/doc" / package / "html"
        _copytree(folder, out)
        missing = [p.name for p in (out / "_static").glob("*.js") if p.stat().st_size == 0]
        if not (out / "_static" / "searchtools.js").is_file() or missing:
            raise UserError(f"{package}: _static scripts did not resolve ({missing or 'searchtools.js'})")
    return build


def _copy_package(name: str, entry: str = "index.html") -> Callable[[dict[str, Path], Path], None]:
    """The whole npm package; `entry` copied to index.html when the page has another name."""
    def build(src: dict[str, Path], out: Path) -> None:
        _copytree(src[name], out)
        if entry != "index.html":
            shutil.copyfile(out / entry, out / "index.html")
    return build


def _tiddlywiki(src: dict[str, Path], out: Path) -> None:
    """TiddlyWiki's own CLI renders the empty edition into one self-contained HTML file."""
    tw = src["tiddlywiki"]
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["node", str(tw / "tiddlywiki.js"), str(tw / "editions" / "empty"), "--output", str(out),
           "--render", "$:/core/save/all", "index.html", "text/plain"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"tiddlywiki build: {exc}") from None
    if proc.returncode != 0 or not (out / "index.html").is_file():
        raise InfrastructureError(f"tiddlywiki build failed: {(proc.stderr or proc.stdout).strip()[:200]}")


SITES: dict[str, Site] = {s.name: s for s in [
    Site("todomvc-vanillajs", ("todomvc",), "examples/vanillajs/ as it is", _todomvc("vanillajs")),
    Site("todomvc-backbone", ("todomvc",), "examples/backbone/ as it is", _todomvc("backbone")),
    Site("todomvc-vue", ("todomvc",), "examples/vue/ as it is", _todomvc("vue")),
    Site("todomvc-knockoutjs", ("todomvc",), "examples/knockoutjs/ as it is", _todomvc("knockoutjs")),
    *[Site(f"jqueryui-{w}-{d}", ("jquery-ui-docs", "jquery-ui", "jquery", "jquery-mousewheel", "requirejs"),
           f"examples/{w}/{d}.html kept at its path with the Debian files at /usr/share/...; root index.html "
           f"is the demo's own file plus <base href> and history.replaceState to the demo's URL",
           _jquery_ui(w, d))
      for w, d in [("tabs", "default"), ("accordion", "default"), ("dialog", "modal-form"),
                   ("autocomplete", "default"), ("datepicker", "dropdown-month-year"), ("spinner", "default"),
                   ("selectmenu", "default"), ("droppable", "photo-manager"), ("sortable", "default"),
                   ("checkboxradio", "default"), ("menu", "default"), ("controlgroup", "default"),
                   ("slider", "range"), ("selectable", "default"), ("tooltip", "default")]],
    Site("sphinx-waitress", ("waitress-doc", "sphinxdoc", "jquery", "underscore"),
         "html/ of python-waitress-doc, its _static symlinks resolved from libjs-sphinxdoc, libjs-jquery and "
         "libjs-underscore", _sphinx("python-waitress-doc")),
    Site("game-2048", ("2048",), "the package as it is", _copy_package("2048")),
    Site("pell-demo", ("pell",), "the package; demo.html copied to index.html", _copy_package("pell", "demo.html")),
    Site("awesomplete-docs", ("awesomplete",), "the package as it is (its index.html is the docs page)",
         _copy_package("awesomplete")),
    Site("tiddlywiki-empty", ("tiddlywiki",), "empty edition rendered to one HTML file by the package's own CLI",
         _tiddlywiki),
]}


def build_site(name: str, sources: dict[str, Path], sites_dir: Path) -> Path:
    """The site folder (built once; a finished build is marked and kept)."""
    site = SITES.get(name)
    if site is None:
        raise UserError(f"unknown site {name!r} (one of {', '.join(SITES)})")
    out = sites_dir / name
    if (out / ".built").is_file():
        return out
    missing = [s for s in site.sources if s not in sources]
    if missing:
        raise UserError(f"site {name} needs source(s) {', '.join(missing)}")
    tmp = sites_dir / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    site.build(sources, tmp)
    atomic_write_text(tmp / ".built", html.escape(site.how) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
