"""Fixtures and helpers for the replay tests (browser, locator, agent, hostile pages).

    replay_task_of(folder, actions, ...)  a Task built from a list of action dicts, with its task folder
    write_page(dir, html, extra={})       a page folder (index.html and other files)
    PAGES                                 small normal pages: buttons/tabs, a form, a todo, a long page
    CountingServer                        an "outside" origin on another loopback port that counts hits
    run(coro)                             asyncio.run for the synchronous tests
    sample_oracle_dir(task, dest)         the oracle page of a sample task, as builtin/oracle writes it
    sample_selectors()                    task id -> recorded CSS selectors (utils/sample_sites/*/task.json)
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from iwrbench.data.tasks import Task, parse_record

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile_pages"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def write_page(folder: Path, html: str | None, extra: dict[str, str | bytes] | None = None) -> Path:
    """A page folder; html=None leaves index.html out (a model that wrote no page)."""
    folder.mkdir(parents=True, exist_ok=True)
    if html is not None:
        (folder / "index.html").write_text(html, encoding="utf-8")
    for name, data in (extra or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return folder


def replay_task_of(root: Path, actions: list[dict], *, task_id: str = "t1", resolution: str = "1280x720",
                   checkpoints: dict[int, tuple[int, int, int]] | None = None) -> Task:
    """A Task whose folder holds only what the replay reads: checkpoints (solid colours) if given."""
    folder = root / "data" / task_id
    folder.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in resolution.split("x"))
    for k, colour in (checkpoints or {}).items():
        (folder / "checkpoints").mkdir(exist_ok=True)
        Image.new("RGB", (w, h), colour).save(folder / "checkpoints" / f"step_{k}.png")
    record = {"id": task_id, "recording_details": {"resolution": resolution},
              "action_sequence": [{"logical_assertion": "", "visual_evaluation_flag": False, **a} for a in actions]}
    return parse_record(record, file=root / "data.jsonl", line=1, data_root=root / "data")


def click(desc: str) -> dict:
    return {"type": "Click", "parameters": {"description": desc}}


def type_(desc: str, text: str | None = None) -> dict:
    params: dict[str, Any] = {"description": desc}
    if text is not None:
        params["text"] = text
    return {"type": "Type", "parameters": params}


def press(desc: str, key: str | None = None) -> dict:
    params: dict[str, Any] = {"description": desc}
    if key is not None:
        params["key"] = key
    return {"type": "Press", "parameters": params}


def scroll(desc: str, direction: str = "down", page: float = 1.0) -> dict:
    return {"type": "Scroll", "parameters": {"description": desc, "direction": direction, "scroll_page": page}}


PAGES = {
    "tabs": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Tabs</title>
<style>body{font:16px sans-serif;margin:20px} [role=tab][aria-selected=true]{border-bottom:3px solid #36c}
.panel{display:none;padding:12px} .panel.on{display:block}</style></head>
<body><header><nav><a href="#home">Home</a> <a href="#about">About us</a></nav>
<button id="menu" aria-label="Open menu">☰</button></header>
<h1>Phone X</h1>
<div role="tablist">
  <button role="tab" aria-selected="true" data-p="overview">Overview</button>
  <button role="tab" aria-selected="false" data-p="specs">Specs</button>
  <button role="tab" aria-selected="false" data-p="reviews">Reviews</button>
</div>
<div class="panel on" id="overview">A phone.</div>
<div class="panel" id="specs">Battery 5000 mAh</div>
<div class="panel" id="reviews">Five stars</div>
<p>Count: <span id="count">0</span></p>
<button id="plus" onclick="count.textContent = +count.textContent + 1">Add one</button>
<button onclick="count.textContent = 0">Reset</button>
<script>
  document.querySelectorAll('[role=tab]').forEach(t => t.addEventListener('click', () => {
    document.querySelectorAll('[role=tab]').forEach(o => o.setAttribute('aria-selected', o === t));
    document.querySelectorAll('.panel').forEach(p => p.classList.toggle('on', p.id === t.dataset.p));
  }));
</script></body></html>""",
    "form": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Form</title></head>
<body><h1>Sign up</h1>
<form id="f"><label for="name">Full name</label> <input id="name" name="name"><br>
<label>Email <input type="email" name="email" placeholder="you@example.com"></label><br>
<textarea name="msg" placeholder="Message"></textarea><br>
<input type="checkbox" id="agree"><label for="agree">I agree to the terms</label><br>
<button type="submit">Send</button></form>
<p id="result"></p>
<script>
  document.getElementById('f').addEventListener('submit', e => {
    e.preventDefault();
    const d = new FormData(e.target);
    document.getElementById('result').textContent = 'Thanks ' + d.get('name') + ' <' + d.get('email') + '>';
  });
</script></body></html>""",
    "todo": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Todo</title></head>
<body><h1>Todo</h1><input id="new" placeholder="What needs to be done?" aria-label="New todo">
<ul id="list"><li><input type="checkbox" aria-label="Milk"> <span>Milk</span></li>
<li><input type="checkbox" aria-label="Bread"> <span>Bread</span></li></ul>
<p id="left">2 left</p>
<script>
  const input = document.getElementById('new'), list = document.getElementById('list');
  const upd = () => { document.getElementById('left').textContent =
    list.querySelectorAll('input:not(:checked)').length + ' left'; };
  list.addEventListener('change', upd);
  input.addEventListener('keydown', e => {
    if (e.key !== 'Enter' || !input.value.trim()) return;
    const li = document.createElement('li');
    li.innerHTML = '<input type="checkbox"> <span></span>';
    li.querySelector('span').textContent = input.value.trim();
    li.querySelector('input').setAttribute('aria-label', input.value.trim());
    list.appendChild(li); input.value = ''; upd();
  });
</script></body></html>""",
    "long": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Long</title>
<style>body{margin:0;font:16px sans-serif} section{height:900px;border-bottom:1px solid #ccc;padding:20px}</style>
</head><body>
<section><h1>Top of the story</h1></section><section><h2>Middle part</h2></section>
<section><h2>End part</h2><button id="more" onclick="this.textContent='Loaded'">Load more stories</button></section>
</body></html>""",
}


class CountingServer:
    """An 'outside' origin on another loopback port: every request it receives is a leak."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def _hit(self) -> None:
                outer.hits.append(f"{self.command} {self.path}")
                body = b"LEAKED"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _hit  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.connections = 0
        orig = self._server.get_request

        def counted():
            conn = orig()
            self.connections += 1
            return conn

        self._server.get_request = counted  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def outside_server():
    server = CountingServer()
    try:
        yield server
    finally:
        server.close()


def hostile_page(name: str, dest: Path, outside: str, secret: Path) -> Path:
    """Copy tests/hostile_pages/<name> to dest with the outside origin and secret path filled in."""
    shutil.copytree(HOSTILE / name, dest)
    for path in dest.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js"}:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("__OUTSIDE__", outside).replace("__SECRET__", str(secret)), encoding="utf-8")
    return dest


def hostile_actions() -> dict[str, list[dict]]:
    data = json.loads((HOSTILE / "tasks.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def sample_oracle_dir(task: Task, dest: Path) -> Path:
    """What builtin/oracle writes: the reference page and the task's assets beside it."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(task.reference_page, dest / "index.html")
    if task.assets_dir.is_dir():
        shutil.copytree(task.assets_dir, dest / "assets", dirs_exist_ok=True)
    return dest


def sample_selectors() -> dict[str, list[str | None]]:
    out: dict[str, list[str | None]] = {}
    for spec in (ROOT / "utils" / "sample_sites").glob("*/task.json"):
        obj = json.loads(spec.read_text(encoding="utf-8"))
        out[str(obj["id"])] = [a.get("selector") for a in obj["actions"]]
    return out


def action(kind: str, desc: str, **params: Any) -> dict:
    """An action of any type: action('Select', "Select 'Large' in the size list", option='Large')."""
    return {"type": kind, "parameters": {"description": desc, **params}}


# DoubleClick, Hover, Select and Drag: each control records what happened to it in #log.
MORE_ACTIONS_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>More actions</title>
<style>body{font:16px sans-serif;margin:20px} li{padding:6px;margin:4px;border:1px solid #ccc;width:260px}
li .del{visibility:hidden} li:hover .del{visibility:visible} .col{display:inline-block;vertical-align:top;
width:200px;min-height:120px;border:2px dashed #999;margin:8px;padding:6px} .card{padding:8px;background:#eef;
margin:4px;cursor:grab} #menu{display:none;border:1px solid #888} #menu.open{display:block}
#menu div{padding:4px;cursor:pointer}</style></head>
<body>
<ul id="todos"><li><span class="text">Buy milk</span> <button class="del" aria-label="Delete">×</button></li>
<li><span class="text">Walk the dog</span> <button class="del" aria-label="Delete">×</button></li></ul>
<label>Size <select id="size"><option value="s">Small</option><option value="m">Medium</option>
<option value="l">Large</option></select></label>
<div><button id="colour" aria-haspopup="listbox">Colour: none</button>
<div id="menu" role="listbox"><div role="option">Red</div><div role="option">Green</div></div></div>
<div class="col" id="todo-col"><b>To do</b><div class="card" draggable="true" id="c1">Write report</div></div>
<div class="col" id="done-col"><b>Done</b></div>
<p id="log"></p>
<script>
const log = m => { document.getElementById('log').textContent += m + '. '; };
document.querySelectorAll('#todos .text').forEach(t => t.addEventListener('dblclick', () => {
  t.textContent = t.textContent + ' (editing)'; log('edit ' + t.textContent); }));
document.querySelectorAll('#todos li').forEach(li => li.addEventListener('mouseenter', () => log('hover')));
document.querySelectorAll('.del').forEach(b => b.addEventListener('click', () => { log('deleted');
  b.parentElement.remove(); }));
document.getElementById('size').addEventListener('change', e => log('size ' + e.target.value));
const menu = document.getElementById('menu'), colour = document.getElementById('colour');
colour.addEventListener('click', () => menu.classList.toggle('open'));
menu.querySelectorAll('[role=option]').forEach(o => o.addEventListener('click', () => {
  colour.textContent = 'Colour: ' + o.textContent; menu.classList.remove('open'); log('colour ' + o.textContent); }));
const card = document.getElementById('c1'), done = document.getElementById('done-col');
card.addEventListener('dragstart', e => e.dataTransfer.setData('text/plain', 'c1'));
done.addEventListener('dragover', e => e.preventDefault());
done.addEventListener('drop', e => { e.preventDefault(); done.appendChild(card); log('dropped in Done'); });
</script></body></html>"""


# A library that replaces the DOM methods the harness's page scripts call, after the page has loaded.
BROKEN_DOM_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Broken DOM</title></head>
<body><p id=t>start</p><button onclick="document.getElementById('t').textContent = 'clicked'">Go</button>
<script>
  addEventListener('load', () => {
    Document.prototype.querySelectorAll = null; document.querySelectorAll = null;
    Element.prototype.querySelectorAll = null; Document.prototype.createTreeWalker = null;
    window.getComputedStyle = () => { throw new Error('styles are ours'); };
  });
</script></body></html>"""

# A rich editor in a same-origin iframe, a password field, and a tab list that moves with arrow keys
# (the key must reach the tab that has the focus).
FRAMES_KEYS_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Frames</title>
<style>[role=tab][aria-selected=true]{font-weight:bold} iframe{width:500px;height:120px}</style></head>
<body>
<iframe id=ed title="Editor" srcdoc="<html><body contenteditable=true style='font:16px sans-serif'></body></html>"></iframe>
<p><label>Password <input type=password id=pw></label></p>
<div role=tablist id=tl>
  <span role=tab tabindex=0 aria-selected=true id=t1>First</span>
  <span role=tab tabindex=-1 aria-selected=false id=t2>Second</span>
</div><p id=panel>Panel one</p>
<script>
  const tabs = [t1, t2];
  tl.addEventListener('keydown', e => {
    if (e.key !== 'ArrowRight' || e.target !== document.activeElement || !e.target.matches('[role=tab]')) return;
    const next = tabs[(tabs.indexOf(e.target) + 1) % tabs.length];
    tabs.forEach(t => { t.setAttribute('aria-selected', String(t === next)); t.tabIndex = t === next ? 0 : -1; });
    next.focus(); panel.textContent = 'Panel ' + (next === t2 ? 'two' : 'one');
  });
  tabs.forEach(t => t.addEventListener('click', () => t.focus()));
</script></body></html>"""
