"""index.html of one judge folder: a static page a researcher opens from disk, no network needed.

Leaderboard first (rank ranges from the paired comparisons, 95% intervals, Final_all beside Final), the
per-category charts, the pairs of models the data cannot tell apart, the agreement with other judges,
then one collapsed section per model (means with intervals, categories, errors, manifest) and one per
task (each model's run per epoch, each step's action and verdict with ground truth and candidate side by
side): html_models.py and html_tasks.py write those sections, this module the page around them.
Everything is inline (CSS, a few lines of JS from js/index_page.js); every piece of task or model text
is escaped (html_format.e), because task descriptions, judge reasons and error messages are untrusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwrbench.report.agreement import html_section as agreement_section
from iwrbench.report.html_format import e, url_of
from iwrbench.report.html_models import leaderboard, model_section, ties_section
from iwrbench.report.html_tasks import ImageLinks, task_section
from iwrbench.report.plot import category_svg
from iwrbench.report.text import ALL_NOTE, INTERVAL_NOTE

if TYPE_CHECKING:
    from iwrbench.data.tasks import Task
    from iwrbench.report.rows import CheckpointMode, ModelResult

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

# Expand or collapse every section, and open the sections around the element the URL's #anchor names.
SCRIPT = (Path(__file__).parent / "js" / "index_page.js").read_text(encoding="utf-8")


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
    parts.append(f"<script>\n{SCRIPT}</script></body></html>\n")
    return "\n".join(parts)
