"""Replay the sample set's recorded actions (with the recording's own CSS selectors) on candidate
variants of each reference page, to measure the judges on realistic pages without the replay agent.

Variants: oracle (the reference page), restyled (same page, other fonts/colours/spacing), inert (the
reference without scripts: looks right, does nothing), screenshot (an image of checkpoint 0), blank.
Used by the slow accuracy test and by the measurement script in .scratch.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

from iwrbench.data.tasks import Task
from iwrbench.replay.page_scripts import STATE_SCRIPT
from iwrbench.replay.states import PageState
from tests.judges_apps import STATE_JS

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "utils" / "sample_sites"

RESTYLE_CSS = """<style data-restyle>
*{font-family:'Liberation Serif',serif!important}
body{padding-top:14px}
header,nav{filter:hue-rotate(150deg) saturate(1.4)}
button{border-radius:14px!important}
h1,h2,h3{letter-spacing:.6px}
</style>"""

VARIANTS = ("oracle", "restyled", "inert", "screenshot", "blank")


def selectors_by_task() -> dict[str, list[str | None]]:
    out: dict[str, list[str | None]] = {}
    for spec in SITES.glob("*/task.json"):
        obj = json.loads(spec.read_text(encoding="utf-8"))
        out[str(obj["id"])] = [a.get("selector") for a in obj["actions"]]
    return out


def variant_html(task: Task, variant: str) -> str:
    html = task.reference_page.read_text(encoding="utf-8")
    if variant == "restyled":
        return html.replace("</head>", RESTYLE_CSS + "</head>", 1)
    if variant == "inert":
        return re.sub(r"<script\b.*?</script>", "", html, flags=re.S | re.I)
    if variant == "screenshot":
        data = base64.b64encode(task.checkpoint(0).read_bytes()).decode()
        return (f"<!doctype html><html><body style='margin:0'><img alt='' src='data:image/png;base64,{data}' "
                f"style='display:block;width:{task.width}px;height:{task.height}px'></body></html>")
    if variant == "blank":
        return "<!doctype html><html><head><title></title></head><body></body></html>"
    return html


async def _capture(page, path: Path) -> PageState:
    from playwright.async_api import Error as PlaywrightError

    from utils.make_task import _settled_screenshot

    for attempt in range(3):
        try:
            await page.wait_for_load_state("load")
            path.write_bytes(await _settled_screenshot(page))
            s = await page.evaluate(STATE_JS)
            s["screen"] = (await page.evaluate(STATE_SCRIPT, [100_000, ""]))["screen"]
            break
        except PlaywrightError:  # a form submitted without scripts reloads the page
            if attempt == 2:
                raise
            await page.wait_for_timeout(200)
    return PageState(screenshot=path, text=s["text"], inputs=s["inputs"], url=page.url,
                     scroll=tuple(s["scroll"]), scroll_size=tuple(s["size"]), focused=s["focused"],
                     screen_text=s["screen"])


async def replay_variant(browser, task: Task, variant: str, out: Path):
    """(initial PageState, [(action, before, after-or-None)]) for one variant of one task."""
    from utils.make_task import DEFAULT_SEED, FIXED_TIME, INIT_SCRIPT, serve_folder

    site = out / "site"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    (site / "index.html").write_text(variant_html(task, variant), encoding="utf-8")
    if task.assets_dir.is_dir():
        shutil.copytree(task.assets_dir, site / "assets")
    selectors = selectors_by_task()[task.id]
    steps = []
    with serve_folder(site) as url:
        ctx = await browser.new_context(viewport={"width": task.width, "height": task.height},
                                        device_scale_factor=1, locale="en-US", timezone_id="UTC",
                                        color_scheme="light", reduced_motion="reduce")
        await ctx.add_init_script(INIT_SCRIPT % DEFAULT_SEED)
        page = await ctx.new_page()
        await page.clock.set_fixed_time(FIXED_TIME)
        await page.goto(url, wait_until="load")
        state = initial = await _capture(page, out / "step_0.png")
        stopped = False
        for action, sel in zip(task.actions, selectors, strict=False):
            before = state
            ok = not stopped and await _perform(page, task, action, sel, static=variant in ("screenshot", "blank"))
            if ok:
                state = await _capture(page, out / f"step_{action.index}.png")
                steps.append((action, before, state))
            else:
                stopped = True
                steps.append((action, before, None))
        await ctx.close()
    return initial, steps


async def _perform(page, task: Task, action, sel: str | None, *, static: bool = False) -> bool:
    """Do one action. On static pages every action but a scroll "executes" blindly (a click at the
    centre, typing into nothing), so the judge, not the replay, has to notice that nothing happened."""
    from playwright.async_api import Error as PlaywrightError

    if static and action.type != "Scroll":
        if action.type == "Click":
            await page.mouse.click(task.width / 2, task.height / 2)
        elif action.type == "Type":
            await page.keyboard.type(action.text or "")
        else:
            await page.keyboard.press(action.key)
        return True

    try:
        if action.type == "Scroll":
            dy = action.scroll_page * task.height * (-1 if action.direction == "up" else 1)
            before = await page.evaluate("() => [scrollX, scrollY]")
            await page.mouse.move(task.width / 2, task.height / 2)
            await page.mouse.wheel(0, dy)
            await page.wait_for_timeout(100)
            return await page.evaluate("() => [scrollX, scrollY]") != before
        loc = page.locator(sel).first if sel else None
        if loc is not None and not await loc.is_visible():
            return False
        if action.type == "Click":
            await loc.click(timeout=1500)
        elif action.type == "Type":
            await loc.fill(action.text or "", timeout=1500)
        elif action.type == "Press":
            if loc is not None:
                await loc.focus(timeout=1500)
            await page.keyboard.press(action.key)
    except PlaywrightError:
        return False
    return True
