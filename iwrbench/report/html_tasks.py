"""The tasks' part of index.html: one collapsed section per task, with each model's run per epoch and
each step's action and verdict beside the ground truth and the candidate screenshot.

Images are referenced by relative path, not copied: the candidate screenshots live in
outputs/<task>/<model>/eval/<judge>/, the ground-truth checkpoints in the data folder. Linking keeps the
report small (113 tasks x ~10 steps x several models) and always shows the exact files that were
scored. A relative link only survives moving the tree when both ends share a root, so when a checkpoint
and the report have no common folder but the file-system root (data on another disk or mount), or
`checkpoints="copy"` is asked for, a downscaled copy is written to reports/<judge>/checkpoints/<task>/.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from iwrbench.fsutil import atomic_write_bytes
from iwrbench.layout import EPOCH_SEP, step_screenshot_name
from iwrbench.report.html_format import e, num, run_id, status_text, url_of

if TYPE_CHECKING:
    from iwrbench.data.tasks import Task
    from iwrbench.records.evaluation import EvalRecord, StepRecord, StepVisual
    from iwrbench.report.rows import CheckpointMode, ModelResult

THUMB_WIDTH = 960
PARTS_SHOWN = (("IFS", "IFS"), ("VFS", "VFS"), ("low_level", "low"), ("high_level", "high"), ("final", "Final"),
               ("VFS_all", "VFS_all"), ("final_all", "Final_all"))


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

