"""Small realistic web apps and action scripts for testing the judges against real Chromium screenshots.

Each app has a reference look and a restyled look (same behaviour, different CSS), and can be made
inert (no scripts: looks right, does nothing). Scripts are Playwright steps with the logical assertion
a dataset author would write. Used by tests/test_judges_*.py and by the accuracy measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASE_CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;background:#f6f7fb;color:#1d2433}
header{background:#243b6b;color:#fff;padding:14px 32px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:22px;margin:0} main{padding:24px 32px} button{font-size:15px;padding:8px 16px;cursor:pointer}
.card{background:#fff;border-radius:8px;padding:18px 22px;margin-bottom:16px;box-shadow:0 1px 3px #0002}
.hidden{display:none} input{font-size:16px;padding:8px;width:320px}
"""

ALT_CSS = """
body{font-family:'Liberation Serif',serif;margin:0;background:#fffaf0;color:#3b2f2f}
header{background:#c0392b;color:#fff;padding:22px 60px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:26px;margin:0;font-style:italic} main{padding:36px 60px;max-width:900px}
button{font-size:16px;padding:10px 20px;border-radius:20px;border:2px solid #c0392b;background:#fff;color:#c0392b}
.card{background:#fdf2e9;border:1px solid #e0c9b1;padding:24px 30px;margin-bottom:22px}
.hidden{display:none} input{font-size:17px;padding:10px;width:360px;border:2px solid #c0392b}
"""


@dataclass
class Step:
    kind: str  # Click | Type | Press | Scroll
    description: str
    assertion: str
    selector: str = ""
    text: str = ""
    key: str = ""
    direction: str = "down"
    flag: bool = True


@dataclass
class App:
    name: str
    body: str
    script: str
    steps: list[Step]
    extra_css: str = ""
    alt_extra_css: str = ""
    wrong_script: str = ""  # behaviour that does something else (for contrary cases)
    tags: list[str] = field(default_factory=list)

    def html(self, variant: str = "reference") -> str:
        css = (ALT_CSS + self.alt_extra_css) if variant == "restyled" else (BASE_CSS + self.extra_css)
        script = {"reference": self.script, "restyled": self.script, "inert": "",
                  "wrong": self.wrong_script or ""}[variant]
        return (f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head>"
                f"<body>{self.body}<script>{script}</script></body></html>")


TABS = App(
    name="tabs",
    body="""<header><h1>Northwind Trail Runner 3</h1><span id="cart">Cart (0)</span></header><main>
<div class="card"><p>Lightweight trail shoe with a grippy outsole. Price: $129.00</p>
<button id="add">Add to cart</button></div>
<div class="card"><button id="t-desc">Description</button> <button id="t-specs">Specifications</button>
<button id="t-rev">Reviews</button>
<div id="p-desc"><p>Built for long days on rocky ground, with a breathable mesh upper.</p></div>
<div id="p-specs" class="hidden"><p>Weight: 280 g</p><p>Drop: 6 mm</p><p>Stack height: 32 mm</p></div>
<div id="p-rev" class="hidden"><p>"Great grip on wet rock" - Maria, 5 stars</p><p>"Runs a bit small" - Tom, 4 stars</p></div>
</div></main>""",
    script="""let n=0;document.getElementById('add').onclick=()=>{n++;document.getElementById('cart').textContent='Cart ('+n+')'};
function show(id){for(const p of ['p-desc','p-specs','p-rev'])document.getElementById(p).classList.toggle('hidden',p!==id)}
document.getElementById('t-desc').onclick=()=>show('p-desc');document.getElementById('t-specs').onclick=()=>show('p-specs');
document.getElementById('t-rev').onclick=()=>show('p-rev');""",
    wrong_script="""document.getElementById('t-specs').onclick=()=>{document.getElementById('p-desc').innerHTML='<p>Sold out in your size.</p>'};
document.getElementById('add').onclick=()=>{document.getElementById('cart').textContent='Wishlist'};""",
    steps=[
        Step("Click", "Click the 'Specifications' tab", "The specifications panel shows the weight (280 g), "
             "drop and stack height; the description text is hidden.", "#t-specs"),
        Step("Click", "Click 'Add to cart'", "The cart indicator in the header reads 'Cart (1)'.", "#add"),
        Step("Click", "Click 'Add to cart' again", "The cart indicator now shows 2 items.", "#add"),
        Step("Click", "Click the 'Reviews' tab", "Customer reviews from Maria and Tom are listed.", "#t-rev"),
    ],
)

TODO = App(
    name="todo",
    body="""<header><h1>Tasks</h1><span id="count">0 items left</span></header><main><div class="card">
<input id="new" placeholder="What needs to be done?"><ul id="list"></ul>
<button id="clear">Clear completed</button></div></main>""",
    script="""const list=document.getElementById('list'),inp=document.getElementById('new');
function count(){const left=[...list.querySelectorAll('input')].filter(c=>!c.checked).length;
document.getElementById('count').textContent=left+(left===1?' item':' items')+' left'}
inp.addEventListener('keydown',e=>{if(e.key==='Enter'&&inp.value.trim()){const li=document.createElement('li');
li.innerHTML='<label><input type=checkbox class=chk> <span></span></label>';li.querySelector('span').textContent=inp.value;
li.querySelector('input').onchange=count;list.appendChild(li);inp.value='';count()}});
document.getElementById('clear').onclick=()=>{for(const li of [...list.children])if(li.querySelector('input').checked)li.remove();count()};""",
    extra_css="#list li{font-size:18px;margin:10px 0}", alt_extra_css="#list li{font-size:20px;margin:14px 0}",
    steps=[
        Step("Type", "Type 'Buy oat milk' into the new task field", "The input field contains 'Buy oat milk'.",
             "#new", text="Buy oat milk"),
        Step("Press", "Press Enter", "A task 'Buy oat milk' is added to the list and the counter reads "
             "'1 item left'; the input is empty again.", "#new", key="Enter"),
        Step("Click", "Tick the checkbox of 'Buy oat milk'", "The task is marked done and the counter reads "
             "'0 items left'.", "#list input"),
        Step("Click", "Click 'Clear completed'", "The completed task disappears from the list.", "#clear"),
    ],
)

FAQ = App(
    name="faq",
    body="""<header><h1>Help Center</h1><span>Contact support</span></header><main>
<div class="card"><button class="q" data-a="a1">How long does shipping take?</button><div id="a1" class="hidden">
<p>Orders ship within 2 business days and arrive in 3 to 5 days.</p></div></div>
<div class="card"><button class="q" data-a="a2">Can I return an item?</button><div id="a2" class="hidden">
<p>Yes, unworn items can be returned within 30 days for a full refund.</p></div></div>
<div class="card"><button id="signin">Sign in</button></div>
<div id="modal" class="hidden" style="position:fixed;inset:0;background:#0008;align-items:center;justify-content:center">
<div class="card" style="width:420px"><h2>Sign in to your account</h2><p>Email address</p><input><p>Password</p><input type=password>
<p><button>Continue</button></p></div></div></main>""",
    script="""for(const b of document.querySelectorAll('.q'))b.onclick=()=>document.getElementById(b.dataset.a).classList.toggle('hidden');
const m=document.getElementById('modal');document.getElementById('signin').onclick=()=>{m.classList.remove('hidden');m.style.display='flex'};
document.addEventListener('keydown',e=>{if(e.key==='Escape'){m.classList.add('hidden');m.style.display='none'}});""",
    steps=[
        Step("Click", "Click the question 'How long does shipping take?'", "The answer explaining that orders "
             "ship within 2 business days is shown below the question.", ".q[data-a=a1]"),
        Step("Click", "Click 'Can I return an item?'", "The return policy answer (30 days, full refund) expands.",
             ".q[data-a=a2]"),
        Step("Click", "Click the 'Sign in' button", "A sign-in dialog opens with email and password fields.",
             "#signin"),
        Step("Press", "Press Escape", "The sign-in dialog closes and the help articles are visible again.",
             "", key="Escape"),
    ],
)

LONG = App(
    name="long",
    body="<header><h1>Field Journal</h1><span>About</span></header><main>" + "".join(
        f"<div class='card' style='min-height:220px'><h2>Chapter {i}: {t}</h2><p>{t} notes, entry {i * 7}. "
        f"The trail climbed past the {t.lower()} before the weather turned.</p></div>"
        for i, t in enumerate(["Granite Ridge", "Cedar Hollow", "Silver Lake", "Fox Meadow", "Iron Pass",
                               "Willow Creek", "Eagle Point", "Misty Falls"], start=1)) + "</main>",
    script="",
    steps=[
        Step("Scroll", "Scroll down one page", "Later chapters such as Fox Meadow become visible.",
             direction="down"),
        Step("Scroll", "Scroll down again", "The final chapters (Eagle Point, Misty Falls) are visible.",
             direction="down"),
        Step("Scroll", "Scroll back up", "The page moves back towards the earlier chapters.", direction="up"),
    ],
)

THEME = App(
    name="theme",
    body="""<header><h1>Weather Now</h1><button id="dark">Dark mode</button></header><main>
<div class="card"><h2>Lisbon</h2><p>Sunny, 24 C, wind 12 km/h</p></div>
<div class="card"><canvas id="c" width="600" height="160" style="border:1px solid #999"></canvas>
<p><button id="draw">Show forecast chart</button></p></div></main>""",
    script="""document.getElementById('dark').onclick=()=>{document.body.style.background='#121212';
for(const c of document.querySelectorAll('.card')){c.style.background='#263238';c.style.color='#eceff1'}};
document.getElementById('draw').onclick=()=>{const g=document.getElementById('c').getContext('2d');
g.fillStyle='#e67e22';[40,70,55,90,120,100,80].forEach((h,i)=>g.fillRect(30+i*80,150-h,50,h))};""",
    steps=[
        Step("Click", "Click 'Dark mode'", "The page switches to a dark colour scheme.", "#dark"),
        Step("Click", "Click 'Show forecast chart'", "A bar chart of the week's forecast is drawn.", "#draw"),
    ],
)

CALC = App(
    name="calc",
    body="""<header><h1>Calculator</h1><span>Basic</span></header><main><div class="card">
<div id="disp" style="font-size:40px;text-align:right;width:320px;border:1px solid #ccc;padding:8px">0</div>
<p>""" + "".join(f"<button class='k'>{c}</button> " for c in "789+456-123=0C") + """</p></div></main>""",
    script="""let cur='';const d=document.getElementById('disp');for(const b of document.querySelectorAll('.k'))b.onclick=()=>{
const c=b.textContent;if(c==='C')cur='';else if(c==='=')cur=String(eval(cur||'0'));else cur+=c;d.textContent=cur||'0'};""",
    steps=[
        Step("Click", "Click 7", "The display shows 7.", ".k:text-is('7')"),
        Step("Click", "Click +", "The display shows 7+.", ".k:text-is('+')"),
        Step("Click", "Click 8", "The display shows 7+8.", ".k:text-is('8')"),
        Step("Click", "Click =", "The display shows the result 15.", ".k:text-is('=')"),
    ],
)

APPS = [TABS, TODO, FAQ, LONG, THEME, CALC]


# ---------------------------------------------------------------- rendering with real Chromium

STATE_JS = """() => {
  const inputs = {};
  document.querySelectorAll('input,textarea,select').forEach((el, i) => {
    if (el.type === 'checkbox' || el.type === 'radio') return;
    inputs[el.name || el.id || el.placeholder || ('field' + i)] = el.value;
  });
  const a = document.activeElement;
  return {text: document.body ? document.body.innerText : '', inputs,
          scroll: [window.scrollX, window.scrollY],
          size: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
          focused: a && a !== document.body ? (a.tagName.toLowerCase() + (a.id ? '#' + a.id : '')) : ''};
}"""


async def capture(page, path):
    """A PageState of the page as the replay would record it (text, inputs, scroll, screenshot)."""
    from iwrbench.replay.page_scripts import STATE_SCRIPT
    from iwrbench.replay.states import PageState

    await page.wait_for_timeout(60)
    await page.screenshot(path=str(path))
    s = await page.evaluate(STATE_JS)
    return PageState(screenshot=path, text=s["text"], inputs=s["inputs"], url=page.url,
                     scroll=tuple(s["scroll"]), scroll_size=tuple(s["size"]), focused=s["focused"],
                     screen_text=(await page.evaluate(STATE_SCRIPT, [100_000, ""]))["screen"])


async def perform(page, step: Step, boxes: dict[str, tuple[float, float]] | None, width: int, height: int) -> bool:
    """Do one step. With `boxes` (static pages) clicks land where the reference element was."""
    if step.kind == "Scroll":
        dy = {"down": height * 0.8, "up": -height * 0.8}.get(step.direction, 0)
        await page.mouse.move(width / 2, height / 2)
        await page.mouse.wheel(0, dy)
        await page.wait_for_timeout(150)
        return True
    if step.kind == "Press" and not step.selector:
        await page.keyboard.press(step.key)
        return True
    loc = page.locator(step.selector).first if step.selector else None
    if loc is not None and await loc.count() == 0:
        if boxes is None or step.selector not in boxes:
            return False
        x, y = boxes[step.selector]
        await page.mouse.click(x, y)
        if step.kind == "Type":
            await page.keyboard.type(step.text)
        elif step.kind == "Press":
            await page.keyboard.press(step.key)
        return True
    from playwright.async_api import Error as PlaywrightError

    try:
        if step.kind == "Click":
            await loc.click(timeout=700)
        elif step.kind == "Type":
            await loc.fill(step.text, timeout=700)
        elif step.kind == "Press":
            await loc.press(step.key, timeout=700)
    except PlaywrightError:
        return False
    return True


async def element_centres(page, app: App) -> dict[str, tuple[float, float]]:
    out = {}
    for st in app.steps:
        if st.selector and st.selector not in out and await page.locator(st.selector).count():
            box = await page.locator(st.selector).first.bounding_box()
            if box:
                out[st.selector] = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return out


async def render(browser, app: App, variant: str, out_dir, width: int = 1280, height: int = 720,
                 gt_first: str | None = None):
    """Replay `app` as `variant` (reference | restyled | inert | wrong | screenshot | blank).

    Returns (initial PageState, [(Step, before, after-or-None)]). Screenshots go to out_dir.
    """
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = await browser.new_context(viewport={"width": width, "height": height})
    page = await ctx.new_page()
    boxes = None
    if variant == "screenshot":
        ref = await ctx.new_page()
        await ref.set_content(app.html("reference"))
        boxes = await element_centres(ref, app)
        await ref.close()
        import base64
        data = base64.b64encode(Path(gt_first).read_bytes()).decode()
        await page.set_content(f"<body style='margin:0'><img src='data:image/png;base64,{data}' "
                               f"style='display:block;width:{width}px'></body>")
    elif variant == "blank":
        await page.set_content("<!doctype html><html><body></body></html>")
    else:
        await page.set_content(app.html(variant))
    state = await capture(page, out / "step_0.png")
    initial, steps = state, []
    for i, st in enumerate(app.steps, start=1):
        before = state
        ok = await perform(page, st, boxes, width, height)
        if ok:
            state = await capture(page, out / f"step_{i}.png")
            steps.append((st, before, state))
        else:
            steps.append((st, before, None))
    await ctx.close()
    return initial, steps
