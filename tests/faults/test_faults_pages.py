"""Fault injection: hostile generated pages, end to end through generate.py and evaluate.py.

tests/faults/test_hostile_pages.py replays the pages of tests/hostile_pages/ (endless loops, dialogs,
pop-ups, navigation away, requests to other origins and file://, a huge DOM) through the replay
agent. Here a fake model *writes* other hostile pages, the way a real one would, and the whole
pipeline evaluates them next to a normal page: a page that blows up its memory, removes or moves the
element under the pointer, reloads itself forever (every 100 ms or every 5 ms), burns the CPU in workers, snoops on the harness's
files through its own server, or closes, prints and asks for permissions. Each one costs its own
task only, in bounded time, and is scored as the page's failure (status "scored", never an
infrastructure error); no request leaves the page's origin, and no file outside the page folder is
served to it.
"""

from __future__ import annotations

import json
import time

import pytest

from iwrbench.data.tasks import load_tasks
from tests.fixtures_faults import PLANTED_KEY, assert_no_traceback, cli_env, run_cli
from tests.fixtures_generation import make_tiny_task, task_of_request, write_dataset
from tests.fixtures_replay import CountingServer

pytestmark = [pytest.mark.faults, pytest.mark.browser]

STEP_TIMEOUT = 4
TASK_BOUND = 60.0  # seconds one hostile task may take: load, its steps at their timeouts, recovery

HEAD = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{t}</title>" \
       "<style>body{{font:18px sans-serif;margin:16px}} button{{font-size:18px}}</style></head><body><h1>{t}</h1>"
COUNTER = "<p>Count: <span id=c>0</span></p>"
INC = "document.getElementById('c').textContent = +document.getElementById('c').textContent + 1"

PAGES = {
    # A normal page, evaluated in the same run: it must be unharmed by its neighbours.
    "normal": HEAD.format(t="Normal") + COUNTER + f"<button onclick=\"{INC}\">Add</button></body></html>",
    # Allocates without end on click, in the click handler itself: the renderer dies at the V8 heap cap
    # during the first step, and the task goes on without it. (Allocating from a timer instead raced
    # the replay: a fast replay could finish both steps before the renderer died.)
    "memory": HEAD.format(t="Memory") + COUNTER + """<button onclick="grow()">Add</button><script>
      function grow() { window.keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); }
      </script></body></html>""",
    # The element under the pointer removes itself as the pointer arrives.
    "vanish": HEAD.format(t="Vanish") + COUNTER
    + f"<button onpointerover=\"this.remove()\" onmouseover=\"this.remove()\" onclick=\"{INC}\">Add</button>"
    "</body></html>",
    # The element under the pointer jumps away as the pointer arrives.
    "dodge": HEAD.format(t="Dodge") + COUNTER
    + f"""<button id=b style="position:absolute;left:40px;top:140px" onclick="{INC}">Add</button><script>
      const b = document.getElementById('b'); let n = 0;
      b.addEventListener('pointerover', () => {{ n++; b.style.left = (40 + 97 * n % 200) + 'px';
        b.style.top = (140 + 53 * n % 80) + 'px'; }});</script></body></html>""",
    # Reloads itself every 100 ms, forever.
    "reload_loop": HEAD.format(t="Reloading") + COUNTER
    + f"<button onclick=\"{INC}\">Add</button><script>setTimeout(() => location.reload(), 100)</script>"
    "</body></html>",
    # Replaces its document every 5 ms: every read of the page may land on a destroyed document.
    "reload_fast": HEAD.format(t="Reloading fast") + COUNTER
    + f"<button onclick=\"{INC}\">Add</button><script>setTimeout(() => location.reload(), 5)</script>"
    "</body></html>",
    # Two web workers spin forever; the page itself still works.
    "workers": HEAD.format(t="Workers") + COUNTER + f"""<button onclick="{INC}">Add</button><script>
      const src = URL.createObjectURL(new Blob(['for(;;){{}}'], {{type: 'text/javascript'}}));
      for (let i = 0; i < 2; i++) new Worker(src);</script></body></html>""",
    # Reads what the harness keeps beside and above the page folder, by every path trick.
    "snoop": HEAD.format(t="Snoop") + COUNTER + f"""<button onclick="{INC}">Add</button><p id=r></p><script>
      const paths = ['/generation.json', '/eval/offline/eval.json', '/eval/', '/assets/..%2fgeneration.json',
        '/assets/..%2f..%2f..%2fdata%2ftiny.jsonl', '/%2e%2e/%2e%2e/data/tiny.jsonl', '/..%5c..%5cgeneration.json',
        '/index.html%00.png', 'file:///etc/passwd', '__OUTSIDE__/steal', 'http://localhost:1/x'];
      paths.forEach(p => fetch(p).then(r => r.text().then(t => {{
          document.getElementById('r').textContent += ' ' + r.status + ':' + t.slice(0, 30); }}),
        e => {{ document.getElementById('r').textContent += ' blocked'; }}));
      </script></body></html>""",
    # Closes itself, goes back, prints, asks for every permission, downloads, guards its unload.
    "misc": HEAD.format(t="Misc") + COUNTER + f"""<a id=dl href="data:text/plain,x" download="x.txt">dl</a>
      <button onclick="{INC}; chaos()">Add</button><script>
      window.addEventListener('beforeunload', e => {{ e.preventDefault(); e.returnValue = 'stay'; }});
      function chaos() {{
        try {{ document.documentElement.requestFullscreen(); }} catch (e) {{}}
        try {{ Notification.requestPermission(); }} catch (e) {{}}
        try {{ navigator.geolocation.getCurrentPosition(() => {{}}, () => {{}}); }} catch (e) {{}}
        try {{ navigator.clipboard.writeText('x'); }} catch (e) {{}}
        document.getElementById('dl').click();
        window.print(); history.back(); window.close();
      }}</script></body></html>""",
}


def _dataset(tmp_path):
    root = tmp_path / "data" / "tiny"
    records = []
    for i, name in enumerate(PAGES):
        rec = make_tiny_task(root, name, shade=29 * i, seconds=1.0, n_actions=2)
        rec["action_sequence"] = [{"type": "Click", "parameters": {"description": "Click the 'Add' button"},
                                   "logical_assertion": f"The count shows {k}", "visual_evaluation_flag": True}
                                  for k in (1, 2)]
        records.append(rec)
    return write_dataset(tmp_path / "data" / "tiny.jsonl", records)


def test_hostile_generated_pages_cost_their_own_task_only(tmp_path, fake_llm):
    data = _dataset(tmp_path)
    tasks = load_tasks(data)
    out = tmp_path / "out"
    outside = CountingServer()
    try:
        fake_llm.set_responder(lambda req: "```html\n" + PAGES[task_of_request(req, tasks).id].replace(
            "__OUTSIDE__", outside.origin) + "\n```")
        env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
        gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "openai/m", "-q", env=env)
        assert gen.returncode == 0, gen.stderr
        started = time.monotonic()
        ev = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", "openai/m", "--no-visual",
                     "--step-timeout", str(STEP_TIMEOUT), "-q", env=env, timeout=900)
        elapsed = time.monotonic() - started
    finally:
        outside.close()
    assert_no_traceback(ev)
    assert ev.returncode == 0, ev.stderr[-3000:]  # no page is an infrastructure error
    recs = {t.id: json.loads((out / t.id / "openai__m" / "eval" / "offline" / "eval.json").read_text()) for t in tasks}
    for name, rec in recs.items():
        assert rec["status"] == "scored" and rec["error"] is None, (name, rec["error"])
        assert rec["seconds"] < TASK_BOUND, (name, rec["seconds"])
    assert elapsed < TASK_BOUND * 3, elapsed

    normal = recs["normal"]
    assert [s["executed"] for s in normal["steps"]] == [True, True]
    assert normal["sandbox"]["blocked_requests"] == 0 and not normal["sandbox"]["crashed"]

    memory = recs["memory"]  # dies at the heap cap (crashed), or stops answering while it collects (hung)
    assert (memory["sandbox"]["crashed"] or memory["sandbox"]["hung"]) and memory["scores"]["IFS"] == 0.0, \
        (memory["sandbox"], memory["scores"], memory["steps"])
    assert any(w in (s["error"] or "") for s in memory["steps"] for w in ("crash", "hung", "respond")), memory["steps"]

    for name in ("vanish", "dodge"):  # the click never reaches the button: the page's failure, not an error
        first = recs[name]["steps"][0]
        assert recs[name]["scores"]["IFS"] == 0.0, (name, first)
        assert first["assertion"]["verdict"] in ("fail", "undecided") and first["assertion"]["source"] != "error"

    for name in ("reload_loop", "reload_fast"):  # a page that keeps navigating fails its own steps, scored
        assert recs[name]["scores"]["IFS"] < 100.0, recs[name]["steps"]
    assert recs["workers"]["steps"][0]["executed"]
    assert recs["misc"]["steps"][0]["executed"]

    snoop = recs["snoop"]["sandbox"]
    refused = set(snoop["missing_files"]) | set(snoop["denied_paths"])
    for path in ("/generation.json", "/eval/offline/eval.json", "/eval/", "/assets/..%2fgeneration.json",
                 "/assets/..%2f..%2f..%2fdata%2ftiny.jsonl", "/..%5c..%5cgeneration.json", "/index.html%00.png"):
        assert path in refused, (path, refused)
    assert snoop["blocked_requests"] >= 2  # file:// and the other origin, aborted in the browser
    assert outside.hits == [] and outside.connections == 0
