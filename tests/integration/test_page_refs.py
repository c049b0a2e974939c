"""Every way a reply (or another tool's page) may address the task's assets ends as `assets/<name>`:
unit checks of iwrbench.page_refs, then the published placeholder through generate.py and the fake
OpenAI-compatible server, with the written page opened in Chromium to see its images load."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from iwrbench.cli import generate
from iwrbench.generation.page_refs import finalize_html, missing_assets, rewrite_asset_refs
from iwrbench.layout import page_dir
from iwrbench.sandbox.browser import Browser

NAMES = ["001.png", "002.png", "logo.svg"]


@pytest.mark.parametrize("ref", [
    "__PLACEHOLDER_ASSETS_BASE_DIR__/001.png",  # the published prompt's base path
    "./__PLACEHOLDER_ASSETS_BASE_DIR__/001.png",
    "__ASSETS__/001.png",  # this harness's
    "./assets/001.png",
    "/assets/001.png",
    "assets/001.png",
    "../../../data/sample/3/assets/001.png",  # the published generate.py's relative path into the data
    "/home/someone/IWR-Bench/data/data/17/assets/001.png",  # absolute
    "file:///home/someone/data/17/assets/001.png",
    "001.png",  # a bare name of a task asset
])
@pytest.mark.parametrize("context", ['<img src="{}">', "<img src='{}'>", "<img src={} alt=x>",
                                     '<div style="background:url({})"></div>',
                                     "<div style=\"background-image:url('{}')\"></div>"])
def test_every_convention_becomes_assets_name(ref, context):
    out = rewrite_asset_refs(context.format(ref), NAMES)
    assert out == context.format("assets/001.png")


def test_scripts_srcset_and_base_paths():
    html = ('<img srcset="../../d/3/assets/001.png 1x, /abs/d/3/assets/002.png 2x">'
            '<script>const base = "../../data/3/assets/"; const p = "__PLACEHOLDER_ASSETS_BASE_DIR__";'
            ' const list = [`__PLACEHOLDER_ASSETS_BASE_DIR__/002.png`];</script>')
    out = rewrite_asset_refs(html, NAMES)
    assert 'srcset="assets/001.png 1x, assets/002.png 2x"' in out
    assert 'const base = "assets/"' in out and 'const p = "assets"' in out and "[`assets/002.png`]" in out


@pytest.mark.parametrize("untouched", [
    '<img src="https://cdn.example.com/assets/001.png">',  # another origin: counted, blocked at replay
    '<link href="//fonts.example.com/assets/a.css" rel="stylesheet">',
    '<img src="data:image/png;base64,iVBOR/assets/001.png+AAA==">',  # a base64 blob is never a path
    '<img src="myassets/001.png">',  # a folder that only ends in "assets"
    "<p>Put your assets/ here</p>",
])
def test_other_origins_blobs_and_prose_are_left_alone(untouched):
    assert rewrite_asset_refs(untouched, NAMES) == untouched


def test_missing_assets_are_listed_once():
    html = ('<img src="__PLACEHOLDER_ASSETS_BASE_DIR__/001.png"><img src="../../d/3/assets/999.png">'
            '<img src="assets/999.png"><img src="/x/assets/a%20b.jpg"><a href="https://x/assets/404.png">'
            '<script>const t = `${base}/assets/${n}.png`;</script>')
    page = finalize_html(html, NAMES)
    assert page.assets == ["001.png"]
    assert page.missing_assets == ["999.png", "a b.jpg"]
    assert missing_assets('<img src="assets/001.png">', NAMES) == []


# ---------------------------------------------------------------- through generate.py


PUBLISHED_STYLE_PAGE = """<!DOCTYPE html><html><head><style>
.hero { background: url('__PLACEHOLDER_ASSETS_BASE_DIR__/002.png'); width: 80px; height: 30px; }
</style></head><body>
<img id="logo" src="__PLACEHOLDER_ASSETS_BASE_DIR__/001.png" width="40" height="40" alt="logo">
<div class="hero"></div><img id="gone" src="__PLACEHOLDER_ASSETS_BASE_DIR__/404.png" width="5" height="5" alt="">
</body></html>"""


async def _image_widths(folder: Path) -> dict:
    async with Browser.launch(name="page-refs-test") as browser:
        sandbox = await browser.open_sandbox(folder, 320, 240)
        try:
            await sandbox.load()
            return await sandbox.evaluate(
                "new Promise(done => { const check = () => {"
                "  const imgs = Array.from(document.images);"
                "  if (imgs.every(i => i.complete)) done(Object.fromEntries(imgs.map(i => [i.id, i.naturalWidth])));"
                "  else setTimeout(check, 20); }; check(); })")
        finally:
            await sandbox.close()


@pytest.mark.browser
def test_published_placeholder_through_generate_and_the_images_load(llm_env, tiny_data, tmp_path):
    llm_env.set_responder(lambda req: f"Here it is:\n```html\n{PUBLISHED_STYLE_PAGE}\n```")
    result = tmp_path / "out"
    assert generate.main(["--data", str(tiny_data), "--result", str(result), "--model", "openai/local-model",
                          "--task", "t1", "-q"]) == 0
    folder = page_dir(result, "t1", "openai/local-model")
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert "__PLACEHOLDER_ASSETS_BASE_DIR__" not in html
    assert 'src="assets/001.png"' in html and "url('assets/002.png')" in html
    assert sorted(p.name for p in (folder / "assets").iterdir()) == ["001.png", "002.png"]
    record = json.loads((folder / "generation.json").read_text())
    assert record["status"] == "done" and record["missing_assets"] == ["404.png"]
    assert record["protocol"] == "harness" and record["prompt_file"] is None
    widths = asyncio.run(_image_widths(folder))
    assert widths == {"logo": 40, "gone": 0}  # the real asset loads; the missing one is missing, and counted
