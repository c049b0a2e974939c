"""utils/make_task.py on a multi-file site recorded as a real site: the new action types, an editor inside a
same-origin iframe, a page whose script reacts late (a timer after the key), and the reference folder
served whole by builtin/oracle."""

from __future__ import annotations

import json

import pytest

from iwrbench.data.tasks import load_tasks
from tests.fixtures_data import png_bytes
from utils import make_task as mt

PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="css/site.css">
<script src="js/app.js" defer></script></head><body>
<h1>Board</h1><img src="img/logo.png" alt="logo">
<ul id="list"><li><span class="t">Buy milk</span><button class="x">×</button></li></ul>
<select id="size"><option>Small</option><option>Large</option></select><p id="picked">Small</p>
<div id="card" draggable="false">Card</div><div id="bin">Bin</div><p id="dropped"></p>
<input id="late" placeholder="late field"><p id="echo"></p>
<iframe id="ed" src="editor.html" style="width:300px;height:80px"></iframe>
</body></html>"""

APP = """
const li = document.querySelector('#list li');
li.querySelector('.t').addEventListener('dblclick', e => { e.target.textContent = 'editing'; });
document.querySelector('#size').addEventListener('change', e => {
  document.querySelector('#picked').textContent = e.target.value; });
let dragging = false;
document.querySelector('#card').addEventListener('mousedown', () => { dragging = true; });
document.addEventListener('mouseup', e => {
  if (dragging && document.elementFromPoint(e.clientX, e.clientY).id === 'bin')
    document.querySelector('#dropped').textContent = 'dropped in bin';
  dragging = false; });
document.querySelector('#late').addEventListener('keydown', e => {
  if (e.key === 'Enter') setTimeout(() => { document.querySelector('#echo').textContent = 'late: ' + e.target.value; },
                                    400); });
"""

CSS = """.x { visibility: hidden } li:hover .x { visibility: visible } #card, #bin { display: inline-block;
width: 120px; height: 60px; margin: 10px; background: #cde } #bin { background: #edc }"""

ACTIONS = [
    {"type": "Hover", "selector": "#list li", "description": "Move the mouse over the 'Buy milk' row",
     "logical_assertion": "A × button shows at the end of the row."},
    {"type": "DoubleClick", "selector": "#list .t", "description": "Double-click 'Buy milk'",
     "logical_assertion": "The row reads 'editing'."},
    {"type": "Select", "selector": "#size", "parameters": {"option": "Large"},
     "description": "Choose 'Large' in the size list", "logical_assertion": "The text under the list says Large."},
    {"type": "Drag", "selector": "#card", "target_selector": "#bin", "parameters": {"target": "the Bin box"},
     "description": "Drag the Card box onto the Bin box", "logical_assertion": "'dropped in bin' is shown."},
    {"type": "Type", "selector": "#late", "parameters": {"text": "hello"}, "description": "Type 'hello'",
     "logical_assertion": "The field shows hello."},
    {"type": "Press", "selector": "#late", "parameters": {"key": "Enter"}, "description": "Press Enter",
     "logical_assertion": "'late: hello' appears under the field."},
    {"type": "Type", "selector": "body", "frame": "#ed", "parameters": {"text": "in the frame"},
     "description": "Type 'in the frame' into the editor", "logical_assertion": "The editor holds the text."},
]


@pytest.mark.browser
def test_real_site_whole_folder_with_new_action_types(tmp_path):
    site = tmp_path / "site"
    for rel, text in {"index.html": PAGE, "js/app.js": APP, "css/site.css": CSS,
                      "editor.html": "<html><body contenteditable='true' style='margin:4px'></body></html>",
                      "notes.txt": "not used"}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    (site / "img").mkdir()
    (site / "img" / "logo.png").write_bytes(png_bytes((60, 40), (30, 90, 200)))
    spec = tmp_path / "actions.json"
    spec.write_text(json.dumps({"actions": ACTIONS}), encoding="utf-8")
    data = tmp_path / "out" / "real.jsonl"
    res = mt.make_task(site, spec, data_file=data, task_id="r1", whole_folder=True, real_site=True)
    folder = res.folder
    assert res.checkpoints == len(ACTIONS) + 1 and res.assets == ["001.png"]
    # reference/ is the whole folder as it is (the page unchanged), assets/ the images it requested
    assert (folder / "reference" / "index.html").read_text() == PAGE
    assert (folder / "reference" / "js" / "app.js").read_text() == APP
    assert (folder / "reference" / "notes.txt").is_file() and not (folder / "reference" / "actions.json").exists()

    (task,) = load_tasks(data)
    assert task.data_errors == [] and [a.type for a in task.actions] == [a["type"] for a in ACTIONS]
    assert task.actions[2].option == "Large" and task.actions[3].target == "the Bin box"
    text = data.read_text()
    assert "selector" not in text and "#bin" not in text and '"frame"' not in text

    rec = json.loads((folder / "recording.json").read_text())
    assert rec["real_site"] and rec["failed_at"] is None
    traces = rec["actions"]
    assert traces[1]["target"]["text"] == "Buy milk" and traces[2]["target"]["tag"] == "select"
    assert traces[6]["target"]["frame"] == "#ed"
    # The late reaction (400 ms after Enter) is in the checkpoint of the Press, not lost.
    assert traces[5]["settle_s"] >= 0.4
    shots = [folder / "checkpoints" / f"step_{k}.png" for k in range(len(ACTIONS) + 1)]
    from utils.thirdparty.validate import same_state
    assert all(not same_state(a, b) for a, b in zip(shots, shots[1:], strict=False)), "every action changed the page"


@pytest.mark.browser
def test_probe_recording_stops_at_the_action_it_cannot_perform(tmp_path):
    from utils.task_recorder import RecordMode, record, serve_folder

    site = tmp_path / "s"
    site.mkdir()
    (site / "index.html").write_text("<button id='a' onclick=\"this.nextElementSibling.hidden=false\">A</button>"
                                     "<button id='b' hidden>B</button>")
    spec = tmp_path / "a.json"
    spec.write_text(json.dumps([
        {"type": "Click", "selector": "#a", "description": "Click A", "logical_assertion": "B shows"},
        {"type": "Click", "selector": "#c", "description": "Click C", "logical_assertion": "nothing"},
        {"type": "Click", "selector": "#b", "description": "Click B", "logical_assertion": "nothing"}]))
    actions = mt.load_spec(spec).actions
    import asyncio

    from utils import task_recorder
    task_recorder.ACTION_TIMEOUT_MS, old = 5000, task_recorder.ACTION_TIMEOUT_MS
    try:
        with serve_folder(site) as url:
            home = tmp_path / "home"
            home.mkdir()
            rec = asyncio.run(record(url + "index.html", actions, size=(640, 360), home=home,
                                     mode=RecordMode(real=True, quiet_s=0.3), stop_on_error=False))
    finally:
        task_recorder.ACTION_TIMEOUT_MS = old
    assert rec.failed_at == 2 and len(rec.checkpoints) == 2 and "#c" in (rec.actions[1].error or "")
