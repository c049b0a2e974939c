"""index.html of one judge folder: a static page a researcher opens from disk, no network needed.

Leaderboard first (rank ranges from the paired comparisons, 95% intervals, Final_all beside Final), the
per-category charts, the pairs of models the data cannot tell apart, the agreement with other judges,
then one collapsed section per model (means with intervals, categories, errors, manifest) and one per
task (each model's run per epoch, each step's action and verdict with ground truth and candidate side by
side).
Everything is inline (CSS, a few lines of JS); every piece of task or model text is escaped, because
task descriptions, judge reasons and error messages are untrusted.

Images are referenced by relative path, not copied: the candidate screenshots live in
outputs/<task>/<model>/eval/<judge>/, the ground-truth checkpoints in the data folder. Linking keeps the
report small (113 tasks x ~10 steps x several models) and always shows the exact files that were
scored. A relative link only survives moving the tree when both ends share a root, so when a checkpoint
and the report have no common folder but the file-system root (data on another disk or mount), or
`checkpoints="copy"` is asked for, a downscaled copy is written to reports/<judge>/checkpoints/<task>/.
"""

from __future__ import annotations

import html
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from PIL import Image, UnidentifiedImageError

from iwrbench.fsutil import atomic_write_bytes
from iwrbench.layout import EPOCH_SEP, step_screenshot_name
from iwrbench.report.agreement import html_section as agreement_section
from iwrbench.report.plot import category_svg
from iwrbench.report.text import ALL_NOTE, INTERVAL_NOTE

if TYPE_CHECKING:
    from iwrbench.data.tasks import Task
    from iwrbench.records.evaluation import EvalRecord, StepRecord, StepVisual
    from iwrbench.report.rows import CheckpointMode, ModelResult, TaskRow

THUMB_WIDTH = 960
PARTS_SHOWN = (("IFS", "IFS"), ("VFS", "VFS"), ("low_level", "low"), ("high_level", "high"), ("final", "Final"),
               ("VFS_all", "VFS_all"), ("final_all", "Final_all"))
ALL_PARTS = ("IFS", "VFS", "low_level", "high_level", "final", "ocr", "image", "VFS_all", "final_all")


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def ci_text(ci: list[float] | None) -> str:
    return "—" if not ci or ci[0] is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def url_of(rel: str) -> str:
    """A relative file path as a URL path (each segment percent-encoded)."""
    return "/".join(quote(part) for part in rel.replace(os.sep, "/").split("/"))


class ImageLinks:
    """Relative URLs from the report folder to screenshots and checkpoints (copying when it must)."""

    def __init__(self, folder: Path, result: Path, mode: CheckpointMode):
        self.folder = folder.resolve()
        self.result = result.resolve()
        self.mode = mode
        self.copied: dict[Path, str | None] = {}

    def rel(self, target: Path) -> str:
        return url_of(os.path.relpath(target.resolve(), self.folder))

    def candidate(self, eval_dir: Path | None, name: str | None) -> str | None:
        if eval_dir is None or not name:
            return None
        path = eval_dir / Path(name).name  # a bare file name in the eval folder, nothing else
        return self.rel(path) if path.is_file() else None

    def resolve_checkpoint(self, recorded: str | None, task: Task | None, k: int) -> Path | None:
        """The file that was compared (as eval.json recorded it), else the task's checkpoint k."""
        if recorded:
            p = Path(recorded)
            for cand in ([p] if p.is_absolute() else [p, self.result.parent / p, self.result / p]):
                if cand.is_file():
                    return cand
        if task is not None:
            path = task.checkpoint(k)
            if path is not None and path.is_file():
                return path
        return None

    def ground_truth(self, path: Path | None, task_id: str) -> str | None:
        if path is None:
            return None
        src = path.resolve()
        common = Path(os.path.commonpath([src, self.folder]))
        if self.mode == "link" or (self.mode == "auto" and common.parent != common):
            return self.rel(src)
        return self.thumbnail(src, task_id)

    def thumbnail(self, src: Path, task_id: str) -> str | None:
        if src in self.copied:
            return self.copied[src]
        dest = self.folder / "checkpoints" / task_id / (src.stem + ".png")
        url: str | None = None
        try:
            if not dest.is_file() or dest.stat().st_mtime < src.stat().st_mtime:
                atomic_write_bytes(dest, thumbnail_png(src))
            url = self.rel(dest)
        except (OSError, UnidentifiedImageError, ValueError):
            url = None  # shown as "ground truth unreadable" rather than a broken image
        self.copied[src] = url
        return url


def thumbnail_png(src: Path) -> bytes:
    """PNG bytes of a checkpoint at most THUMB_WIDTH wide (a copy when it is a PNG no wider than 1.5x
    that: re-encoding would cost ~35 ms a picture to save a few KB). Resizing first halves the picture
    with `reducing_gap` (much cheaper than a full-size filter); no `optimize` pass (2x the encoding time
    for ~1 % of the size)."""
    with Image.open(src) as im:
        if im.format == "PNG" and im.width <= THUMB_WIDTH * 3 // 2:
            return src.read_bytes()
        im = im.convert("RGB")
        if im.width > THUMB_WIDTH:
            im = im.resize((THUMB_WIDTH, max(1, round(im.height * THUMB_WIDTH / im.width))), reducing_gap=2.0)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
    return buf.getvalue()


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:0 auto;max-width:1500px;
padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:.2em 0}h2{font-size:18px;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}td:not(.l){white-space:nowrap}
details{margin:.25em 0}summary{cursor:pointer;padding:3px 0}
details.task>summary{font-weight:600}details.task,details.model{border:1px solid #e2e2e2;border-radius:4px;
padding:2px 10px}details.run{margin-left:12px;border-left:3px solid #ccd;padding-left:10px}
.step{display:grid;grid-template-columns:minmax(260px,1fr) 2fr 2fr;gap:12px;border-top:1px solid #eee;
padding:8px 0}
figure{margin:0}figure img{width:100%;height:auto;border:1px solid #ccc;background:#fafafa}
figcaption{font-size:12px;color:#666}.ph{border:1px dashed #bbb;color:#888;padding:24px 8px;text-align:center;
font-size:12px}
.v-pass{color:#18794e;font-weight:600}.v-fail{color:#c62828;font-weight:600}
.v-undecided{color:#a66a00;font-weight:600}.v-error{color:#6a1b9a;font-weight:600}
.s-error,.s-missing{color:#c62828}.s-no_page{color:#a66a00}.muted{color:#777}.small{font-size:12px}
.chip{display:inline-block;font-weight:normal;font-size:12px;background:#f1f1f1;border-radius:3px;
padding:0 5px;margin-left:5px}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
"""

JS = """
function setAll(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
function revealHash(){
  var id=decodeURIComponent(location.hash.slice(1)); if(!id){return;}
  var el=document.getElementById(id); if(!el){return;}
  for(var n=el;n;n=n.parentElement){if(n.tagName==='DETAILS'){n.open=true;}}
  el.scrollIntoView();
}
window.addEventListener('hashchange',revealHash); revealHash();
"""


def status_text(row: TaskRow) -> tuple[str, str]:
    """(css class, short label) of a task row."""
    if row.status == "missing":
        return "s-missing", "missing"
    if row.status == "error":
        return "s-error", f"error ({row.error_kind or 'unknown'})"
    if row.error_kind == "no_page":
        return "s-no_page", "no page: 0"
    return "s-scored", "scored"


def run_id(task_id: str, slug: str, epoch: int = 1) -> str:
    return f"run-{task_id}--{slug}" + ("" if epoch == 1 else f"--epoch-{epoch}")


def _table(header: list[str], rows: list[list[str]], left: int = 1, text_last: bool = False) -> str:
    """`rows` hold already-escaped HTML; the first `left` columns (and a text last column) align left."""
    def cls(i: int) -> str:
        return "l" if i < left or (text_last and i == len(header) - 1) else ""
    th = "".join(f'<th class="{cls(i)}">{h}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{cls(i)}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def leaderboard(models: list[ModelResult], comparisons: dict[str, Any] | None = None) -> str:
    labels = {r["slug"]: r["label"] for r in (comparisons or {}).get("ranks", [])}
    rows = []
    for i, m in enumerate(models, start=1):
        r, c = m.report, m.report["counts"]
        mean, ci = r["mean"], r.get("ci95") or {}
        files = " ".join(f'<a href="{url_of(m.slug + ext)}">{ext[1:]}</a>' for ext in (".md", ".json", ".csv"))
        rows.append([e(labels.get(m.slug, str(i))), f'<a href="#model-{e(m.slug)}">{e(m.label)}</a>',
                     f"{c['scored']}/{c['tasks']}", str(c.get("epochs", 1)),
                     num(mean["IFS"]), num(mean["VFS"]), num(mean["low_level"]), num(mean["high_level"]),
                     f"<b>{num(mean['final'])}</b>", ci_text(ci.get("final")), num(mean.get("final_all")),
                     ci_text(ci.get("final_all")), str(c["no_page"]), str(c["errors"]), str(c["missing"]),
                     str(c["undecided"]), files])
    return _table(["#", "model", "in mean / tasks", "epochs", "IFS", "VFS", "low-level", "high-level", "Final",
                   "Final 95% CI", "Final_all", "Final_all 95% CI", "no page", "errors", "missing",
                   "undecided verdicts", "files"], rows, left=2)


def ties_section(comparisons: dict[str, Any] | None) -> str:
    """The pairs of models whose Final the data cannot tell apart, and a pointer to every pair."""
    pairs = [p for p in (comparisons or {}).get("pairs", []) if p.get("final") and not p["final"]["distinguishable"]]
    intro = ('<p class="small"># in the leaderboard is the rank range the paired bootstrap allows: a model ranks '
             "below the models whose Final is better with a 95% interval of the difference that excludes 0, "
             'and above those it beats that way. Every pair (Final and IFS) is in <a href="comparisons.json">'
             'comparisons.json</a>; the table as markdown: <a href="leaderboard.md">leaderboard.md</a>.</p>')
    if not pairs:
        return intro
    rows = [[e(p["a"]), e(p["b"]), str(p["final"]["tasks"]), num(p["final"]["diff"]), ci_text(p["final"]["ci95"]),
             f"{p['final']['p']:.4f}"] for p in pairs]
    return (intro + "<details><summary>Pairs that cannot be told apart on Final "
            f"({len(pairs)})</summary>" + _table(["model a", "model b", "tasks", "Final a − b", "95% CI", "p"], rows,
                                                   left=2) + "</details>")


def manifest_html(manifest: dict[str, Any]) -> str:
    git = manifest.get("git") or {}
    chromium = manifest.get("chromium") or {}
    pkgs = manifest.get("packages") or {}
    items = [("harness version", manifest.get("harness_version")),
             ("git revision", (git.get("commit") or "not a git checkout")
              + (" (uncommitted changes)" if git.get("dirty") else "")),
             ("python", manifest.get("python")), ("Chromium", chromium.get("version") or "unknown"),
             ("judge", manifest.get("judge") or "offline"),
             ("packages", ", ".join(f"{k} {v or 'not installed'}" for k, v in pkgs.items())),
             ("created at", manifest.get("created_at")), ("source", manifest.get("source"))]
    lis = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in items if v)
    settings = json.dumps(manifest.get("settings") or {}, indent=2, ensure_ascii=False, sort_keys=True)
    return f"<ul>{lis}</ul><details><summary>settings</summary><pre>{e(settings)}</pre></details>"


def model_section(m: ModelResult) -> str:
    r = m.report
    c, mean, n = r["counts"], r["mean"], r["mean_n"]
    parts = ALL_PARTS
    ci, se = r.get("ci95") or {}, r.get("stderr") or {}
    means = _table(["", *parts], [["mean", *(num(mean.get(p)) for p in parts)],
                                  ["95% CI", *(ci_text(ci.get(p)) for p in parts)],
                                  ["std. error", *(num(se.get(p)) for p in parts)],
                                  ["tasks scored (n)", *(str(n.get(p, 0)) for p in parts)]])
    judges = "".join(f"<li>{e(part)}: " + ", ".join(f"{e(j)} ({k} tasks)" for j, k in js.items()) + "</li>"
                     for part, js in r["judges"].items()) or "<li>the eval.json files name no judges</li>"
    v = c["verdicts"]
    cats = ""
    for cat, groups in r["by_category"].items():
        rows = [[e(value), str(g["n"]), str(g["tasks"]), num(g["IFS"]), num(g["VFS"]), num(g["final"]),
                 ci_text((g.get("ci95") or {}).get("final")), num(g.get("final_all"))]
                for value, g in groups.items()]
        cats += f"<h3>By {e(cat.replace('_', ' '))}</h3>" + _table(
            [e(cat), "n", "tasks", "IFS", "VFS", "Final", "Final 95% CI", "Final_all"], rows)
    task_rows = []
    for t in m.rows:
        cls, label = status_text(t)
        steps = "" if t.total_steps is None else f"{t.success_steps}/{t.total_steps}"
        task_rows.append([f'<a href="#{e(run_id(t.task_id, m.slug, t.epoch))}">{e(t.task_id)}</a>',
                          f'<span class="{cls}">{e(label)}</span>', num(t.IFS), num(t.VFS), num(t.final),
                          num(t.VFS_all), num(t.final_all), str(t.epochs), steps, str(t.undecided),
                          e((t.error or "")[:200])])
    errors = "".join(f"<li>task {e(x['task_id'])}" + (f" epoch {e(x['epoch'])}" if x.get("epoch", 1) > 1 else "")
                     + f" ({e(x['error_kind'])}): {e(x['error'])}</li>" for x in r["errors"])
    missing = ", ".join(e(t) for t in r["missing"])
    missing += "".join(f"{', ' if missing else ''}{e(x['task_id'])} epoch {e(x['epoch'])}"
                       for x in r.get("missing_epochs", []))
    notes = "".join(f"<li>{e(x)}</li>" for x in r["notes"])
    return (f'<details class="model" id="model-{e(m.slug)}"><summary><b>{e(m.label)}</b>'
            f'<span class="chip">Final {num(mean["final"])}</span><span class="chip">{c["scored"]}/{c["tasks"]} '
            f'in the mean</span>{"" if r["complete"] else "<span class=chip>incomplete</span>"}</summary>'
            f'<p class="small">Files: <a href="{url_of(m.slug)}.md">{e(m.slug)}.md</a> · '
            f'<a href="{url_of(m.slug)}.json">json</a> · <a href="{url_of(m.slug)}.csv">csv</a></p>'
            f"{means}<p>{run_html(r)}</p><p>Which judge produced which score:</p><ul>{judges}</ul>"
            f"<p>Assertion verdicts: {v['pass']} pass, {v['fail']} fail, <b>{v['undecided']} undecided</b>, "
            f"{v['error']} error.</p>"
            + (f"<h3>Errors (not in the mean)</h3><ul>{errors}</ul>" if errors else "")
            + (f"<h3>Missing (no eval.json)</h3><p>{missing}</p>" if missing else "")
            + f"{cats}<h3>Tasks</h3>"
            + _table(["task", "status", "IFS", "VFS", "Final", "VFS_all", "Final_all", "epochs", "steps ok",
                      "undecided", "note"], task_rows, left=2, text_last=True)
            + f"<h3>Notes</h3><ul>{notes}</ul><h3>Manifest</h3>{manifest_html(r['manifest'])}</details>")


def run_html(r: dict[str, Any]) -> str:
    """Which pages (protocol, prompt file, import) and who replayed and judged them."""
    gen = r.get("generation") or {}
    protocols = ", ".join(f"{e(p)} ({n} tasks)" for p, n in (gen.get("protocols") or {}).items()) or "—"
    prompts = "".join(f"; prompt file {e(pf.get('name'))} (sha256 {e(str(pf.get('sha256'))[:12])}…)"
                      for pf in gen.get("prompt_files") or [])
    judge = r.get("assertion_judge") or r["judge"]
    return (f"Pages: run <code>{e(r.get('run_slug') or r['model_slug'])}</code>, protocol {protocols}{prompts}. "
            f"Agent (picks elements): {e(r.get('agent') or judge)}; judge (assertions, rubric): {e(judge)}.")


def _visual_text(visual: StepVisual | None) -> str:
    if visual is None:
        return '<span class="muted">not scored visually</span>'
    bits = [f"{label} {num(getattr(visual, key))}" for key, label in
            (("ocr", "OCR"), ("image", "image"), ("low_level", "low"), ("high_level", "high"))]
    out = " · ".join(bits)
    if visual.high_level_source:
        out += f" (high by {visual.high_level_source})"
    text = e(out)
    if visual.high_level_detail:
        detail = ", ".join(f"{k}: {v}" for k, v in visual.high_level_detail.items() if not isinstance(v, dict | list))
        text += f'<br><span class="small muted">{e(detail[:400])}</span>'
    return text


def _figure(url: str | None, caption: str, missing: str) -> str:
    if url is None:
        return f'<figure><div class="ph">{e(missing)}</div><figcaption>{e(caption)}</figcaption></figure>'
    return (f'<figure><a href="{e(url)}"><img src="{e(url)}" loading="lazy" decoding="async" alt="{e(caption)}">'
            f"</a><figcaption>{e(caption)}</figcaption></figure>")


def step_block(anchor: str, k: int, step: StepRecord | None, action_text: tuple[str, str, str] | None, gt: str | None,
               cand: str | None, visual: StepVisual | None, candidate_missing: str,
               stand_in: StepVisual | None = None) -> str:
    """One step: what was done and judged, then ground truth | candidate."""
    if k == 0:
        head = "<b>Step 0 · initial state</b>"
        body = ""
    else:
        kind = step.type if step is not None else (action_text[0] if action_text else "")
        desc = step.description if step is not None else (action_text[1] if action_text else "")
        head = f"<b>Step {k} · {e(kind)}</b> {e(desc)}"
        assertion = action_text[2] if action_text else str(getattr(step, "logical_assertion", "") or "")
        body = f'<div class="small">Assertion: {e(assertion) or "<span class=muted>(none recorded)</span>"}</div>'
        if step is None:
            body += '<div class="muted">not in eval.json</div>'
        else:
            a = step.assertion
            body += (f'<div>Verdict: <span class="v-{e(a.verdict)}">{e(a.verdict)}</span> '
                     f'<span class="small muted">by {e(a.source)}</span></div>')
            if a.reason:
                body += f'<div class="small">{e(a.reason[:1000])}</div>'
            loc = step.locator
            body += (f'<div class="small muted">executed: {"yes" if step.executed else "no"}'
                     + (f" · locator: {e(loc.method)}" if loc.method else "")
                     + (f" → {e(loc.element[:160])}" if loc.element else "") + "</div>")
            if step.error:
                body += f'<div class="small s-error">{e(step.error[:500])}</div>'
    scores = f'<div class="small">{_visual_text(visual)}</div>'
    if stand_in is not None:
        scores += (f'<div class="small muted">for VFS_all only, against the last captured state '
                   f'({e(stand_in.compared_with)}): {_visual_text(stand_in)}</div>')
    return (f'<div class="step" id="{e(anchor)}-step-{k}"><div>{head}{body}{scores}</div>'
            + _figure(gt, f"ground truth · checkpoint {k}", "no ground-truth checkpoint for this step")
            + _figure(cand, f"candidate · step {k}", candidate_missing) + "</div>")


def run_section(task_id: str, m: ModelResult, task: Task | None, links: ImageLinks, page_url: str | None,
                epoch: int = 1) -> str:
    row = m.epoch_rows.get(task_id, {}).get(epoch) or next(r for r in m.rows if r.task_id == task_id)
    rec: EvalRecord | None = m.records.get((task_id, epoch))
    cls, label = status_text(row)
    anchor = run_id(task_id, m.slug, epoch)
    scores = " · ".join(f"{lab} {num(getattr(row, key))}" for key, lab in PARTS_SHOWN)
    steps_ok = "" if row.total_steps is None else f" · steps ok {row.success_steps}/{row.total_steps}"
    which = e(m.label) + (f" · epoch {epoch}" if max(m.epochs) > 1 else "")
    head = (f'<details class="run" id="{e(anchor)}"><summary>{which} — <span class="{cls}">{e(label)}</span> · '
            f"{e(scores)}{steps_ok}" + (f" · {row.undecided} undecided" if row.undecided else "") + "</summary>")
    links_html = []
    if page_url:
        links_html.append(f'<a href="{e(page_url)}" target="_blank" rel="noopener noreferrer">generated page</a>')
    if row.eval_json:
        links_html.append(f'<a href="{e(url_of(os.path.relpath(links.result / row.eval_json, links.folder)))}">'
                          "eval.json</a>")
    out = [head, f'<p class="small">{" · ".join(links_html) or "no generated page, no eval.json"}</p>']
    if row.error:
        out.append(f'<p class="{cls}">{e(row.error[:2000])}</p>')
    sandbox = rec.sandbox.model_dump(exclude_defaults=True) if rec is not None else {}
    if sandbox:
        out.append(f'<p class="small muted">sandbox: {e(json.dumps(sandbox, default=str)[:400])}</p>')
    if rec is None:
        return "".join(out) + "</details>"
    eval_dir = m.eval_dirs.get((task_id, epoch))
    steps = {s.index: s for s in rec.steps}
    n_actions = len(task.actions) if task is not None else 0
    last = max([n_actions, *steps]) if (steps or n_actions) else 0
    for k in range(0, last + 1):
        step = steps.get(k)
        action = task.actions[k - 1] if task is not None and 1 <= k <= n_actions else None
        action_text = (action.type, action.description, action.logical_assertion) if action else None
        stand_in = None
        if k == 0:
            visual, shot = rec.initial, rec.initial_screenshot or step_screenshot_name(0)
            cand_missing = "no initial screenshot"
        else:
            visual = step.visual if step is not None else None
            stand_in = step.visual_last_state if step is not None and visual is None else None
            shot = step.screenshot if step is not None else None
            cand_missing = "no screenshot: step not reached" if step is None or not step.executed \
                else "no screenshot recorded"
        gt_path = links.resolve_checkpoint((visual or stand_in).checkpoint if (visual or stand_in) else None, task, k)
        out.append(step_block(anchor, k, step, action_text, links.ground_truth(gt_path, task_id),
                              links.candidate(eval_dir, shot), visual, cand_missing, stand_in))
    return "".join(out) + "</details>"


def task_section(task_id: str, models: list[ModelResult], task: Task | None, links: ImageLinks) -> str:
    chips = []
    for m in models:
        row = next(r for r in m.rows if r.task_id == task_id)
        _, label = status_text(row)
        value = num(row.final) if row.counted else label
        if row.error_kind == "no_page":
            value += " (no page)"
        chips.append(f'<span class="chip">{e(m.label)}: {e(value)}</span>')
    website = task.source_website if task is not None else next(
        (r.source_website for m in models for r in m.rows if r.task_id == task_id and r.source_website), "")
    if task is not None:
        c = task.classification
        labels = (c.domain, c.sub_domain, c.visual_complexity, c.interaction_complexity)
    else:
        first = next((r for m in models for r in m.rows if r.task_id == task_id and r.domain), None)
        labels = (first.domain, first.sub_domain, first.visual_complexity,
                  first.interaction_complexity) if first else ()
    site = ""
    if website:
        site = (f'<a href="{e(website)}" rel="noopener noreferrer">{e(website)}</a>'
                if website.startswith(("https://", "http://")) else e(website))
    info = " · ".join(x for x in (site, *(e(v) for v in labels if v)) if x)
    runs = []
    for m in models:
        for epoch in sorted(m.epoch_rows.get(task_id) or {1: None}):
            folder = m.slug if epoch == 1 else f"{m.slug}{EPOCH_SEP}{epoch}"
            page = links.result / task_id / folder / "index.html"
            page_url = url_of(os.path.relpath(page, links.folder)) if page.is_file() else None
            runs.append(run_section(task_id, m, task, links, page_url, epoch))
    return (f'<details class="task" id="task-{e(task_id)}"><summary>Task {e(task_id)}{"".join(chips)}</summary>'
            f'<p class="small">{info}</p>{"".join(runs)}</details>')


def render_index(folder: Path, result: Path, judge: str, models: list[ModelResult], tasks: dict[str, Task], *,
                 checkpoints: CheckpointMode = "auto", other_judges: list[str] | None = None,
                 comparisons: dict[str, Any] | None = None, agreements: list[dict[str, Any]] | None = None) -> str:
    """The whole index.html as text. `models` best first; rows of every model cover the same tasks."""
    links = ImageLinks(folder, result, checkpoints)
    others = sorted(set(other_judges or []) - {judge})
    other_html = (" Other judges: " + ", ".join(f'<a href="../{url_of(o)}/index.html">{e(o)}</a>' for o in others)
                  + ".") if others else ""
    task_ids = [r.task_id for r in models[0].rows] if models else []
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>IWR-Bench report — judge {e(judge)}</title><style>{CSS}</style></head><body>",
        f"<h1>IWR-Bench report — judge <code>{e(judge)}</code></h1>",
        f'<p class="small">Every score on this page comes from evaluations stored under judge <code>{e(judge)}</code>'
        f"; other judges' results live in their own folders and are never mixed in.{other_html} "
        "A task with no generated page scores 0 and is in the mean; a task whose evaluation broke is not, "
        "and is listed as an error; a task never evaluated is listed as missing.</p>",
        "<h2>Leaderboard</h2>",
    ]
    if models:
        parts.append(leaderboard(models, comparisons))
        parts.append(f'<p class="small">Ranked by Final (the published metric). {e(INTERVAL_NOTE)} '
                     f"{e(ALL_NOTE)}</p>")
        parts.append(ties_section(comparisons))
        parts.append('<p><img src="leaderboard.png" alt="Leaderboard: Final, Final_all, IFS and VFS per model with '
                     '95% intervals" style="max-width:100%"></p>')
        parts.append("<h2>By category</h2><p class=\"small\">Mean Final per category with its 95% interval "
                     "(bootstrap over the category's tasks); n = tasks in the mean.</p>")
        parts += [category_svg(models, cat) for cat in models[0].report["by_category"]]
    else:
        parts.append("<p>No model has been evaluated with this judge yet.</p>")
    parts.append(agreement_section(judge, agreements or []))
    parts.append('<p><button type="button" onclick="setAll(true)">expand all</button> '
                 '<button type="button" onclick="setAll(false)">collapse all</button></p>')
    parts.append("<h2>Models</h2>" + "".join(model_section(m) for m in models))
    parts.append(f"<h2>Tasks ({len(task_ids)})</h2>")
    parts += [task_section(tid, models, tasks.get(tid), links) for tid in task_ids]
    parts.append(f"<script>{JS}</script></body></html>\n")
    return "\n".join(parts)
