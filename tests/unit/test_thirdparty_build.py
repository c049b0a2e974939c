"""The third-party corpus's building blocks without downloads or a browser: pinned sources, the labels
the breakages imply, how a label is judged from recordings, and the injection into every page."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from iwrbench.errors import UserError
from utils.make_task import parse_action_spec
from utils.task_recorder import Recording
from utils.thirdparty import breakage, fetch
from utils.thirdparty.build import task_specs
from utils.thirdparty.sites import SITES
from utils.thirdparty.validate import judge_label, same_state


def _png(color=(255, 255, 255), box=None, size=(200, 100)) -> bytes:
    img = Image.new("RGB", size, (255, 255, 255))
    if box:
        img.paste(color, box)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _actions(raw: list[dict]) -> list:
    return [parse_action_spec(i, {"description": "d", "logical_assertion": "a", **a}, Path("x.json"))
            for i, a in enumerate(raw)]


def test_every_committed_script_names_a_known_site_and_parses():
    specs = task_specs()
    assert len(specs) >= 12
    projects = {SITES[meta["site"]].sources[0] for _, _, meta in specs}
    assert len(projects) >= 6
    total = 0
    for tid, path, meta in specs:
        assert meta["site"] in SITES, tid
        other = meta.get("other") or {}
        assert other.get("kind") in ("implementation", "restyle"), tid
        if other["kind"] == "implementation":
            assert other["site"] in SITES
        actions = [parse_action_spec(i, a, path) for i, a in enumerate(meta["actions"])]
        total += len(actions)
    assert total >= 80
    kinds = {a["type"] for _, _, meta in specs for a in meta["actions"]}
    assert {"DoubleClick", "Hover", "Select", "Drag"} <= kinds


def test_sources_are_pinned_and_a_changed_download_is_refused(tmp_path):
    sources = fetch.load_sources()
    assert all(len(s.sha256) == 64 and s.licence and s.purpose for s in sources)
    src = sources[0]
    (tmp_path / src.file).write_bytes(b"not what was pinned")
    with pytest.raises(UserError, match="sha256"):
        fetch.download(src, tmp_path)


def test_breakage_labels_are_the_first_action_on_the_target():
    actions = _actions([
        {"type": "Type", "selector": "#new", "parameters": {"text": "a"}},
        {"type": "Press", "selector": "#new", "parameters": {"key": "Enter"}},
        {"type": "Click", "selector": "#list li:nth-child(1) .toggle"},
        {"type": "Click", "selector": "a[href='#/active']"},
        {"type": "Press", "selector": "#new", "parameters": {"key": "Enter"}},
        {"type": "Click", "selector": "button:has-text('Save')"},
        {"type": "Type", "selector": "textarea", "frame": "iframe", "parameters": {"text": "x"}},
    ])
    traces = [{"navigated": i == 3} for i in range(len(actions))]
    handler = breakage.candidates(actions, traces, "handler")
    assert {(b.selector, b.label) for b in handler} == {("#list li:nth-child(1) .toggle", 3), ("a[href='#/active']", 4)}
    state = breakage.candidates(actions, traces, "state")
    assert {(b.selector, b.key, b.label) for b in state} == {("#new", "Enter", 2), ("#new", None, 1)}
    nav = breakage.candidates(actions, traces, "navigation")
    assert [(b.selector, b.label) for b in nav] == [("a[href='#/active']", 4)]
    element = breakage.candidates(actions, traces, "element")
    # Playwright-only selectors and actions inside an iframe are never used to break a page.
    assert all(b.selector not in ("button:has-text('Save')", "textarea") for b in element)
    assert element[0].label in (1, 3, 4)


def test_the_breakage_goes_first_into_every_page(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text("<html><head><title>a</title><script>x()</script></head></html>")
    (tmp_path / "sub" / "search.html").write_text("<p>no head</p>")
    (tmp_path / "app.js").write_text("console.log(1)")
    cand = breakage.Breakage("handler", "#b", 2)
    assert breakage.inject(tmp_path, breakage.breakage_head(cand)) == 2
    first = (tmp_path / "index.html").read_text()
    assert first.index("data-iwrbench-breakage") < first.index("<title>")
    assert json.dumps(cand.config()) in first
    assert (tmp_path / "sub" / "search.html").read_text().startswith("<script data-iwrbench-breakage>")
    assert (tmp_path / "app.js").read_text() == "console.log(1)"


def test_a_label_is_judged_from_the_recordings(tmp_path):
    plain, changed = _png(), _png((0, 0, 0), (10, 10, 60, 40))
    elsewhere = _png((0, 0, 0), (120, 10, 170, 40))
    shots = []
    for k, data in enumerate([plain, changed, elsewhere]):
        shots.append(tmp_path / f"step_{k}.png")
        shots[-1].write_bytes(data)
    stable = [True, True, True]
    # matches before the label, differs at it
    assert judge_label(2, shots, stable, Recording([plain, changed, plain], [])).status == "validated"
    # the labelled action could not be performed at all
    assert judge_label(2, shots, stable, Recording([plain, changed], [], failed_at=2)).status == "validated"
    # already different before the label
    assert judge_label(2, shots, stable, Recording([plain, plain, plain], [])).status == "refuted"
    # no difference at the label
    assert judge_label(2, shots, stable, Recording([plain, changed, elsewhere], [])).status == "refuted"
    # the labelled step is not deterministic: not validated, not guessed
    assert judge_label(2, shots, [True, True, False], Recording([plain, changed, plain], [])).status == "unvalidated"
    # a hidden element's own box is left out before the label (step 1 differs only there), not at it
    hidden = (10, 10, 50, 30)
    assert judge_label(2, shots, stable, Recording([plain, plain, plain], []), hidden=hidden).status == "validated"
    assert judge_label(1, shots, stable, Recording([plain, plain], []), hidden=hidden).status == "validated"
    assert same_state(changed, plain, [hidden]) and not same_state(changed, plain)
