"""The models' part of index.html: the leaderboard (rank ranges from the paired comparisons, 95%
intervals, Final_all beside Final), the pairs of models the data cannot tell apart, and one collapsed
section per model (means with intervals, categories, errors, tasks, manifest)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from iwrbench.report.html_format import ci_text, e, num, run_id, status_text, table, url_of

if TYPE_CHECKING:
    from iwrbench.report.rows import ModelResult

ALL_PARTS = ("IFS", "VFS", "low_level", "high_level", "final", "ocr", "image", "VFS_all", "final_all")


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
    return table(["#", "model", "in mean / tasks", "epochs", "IFS", "VFS", "low-level", "high-level", "Final",
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
            f"({len(pairs)})</summary>" + table(["model a", "model b", "tasks", "Final a − b", "95% CI", "p"], rows,
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
    means = table(["", *parts], [["mean", *(num(mean.get(p)) for p in parts)],
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
        cats += f"<h3>By {e(cat.replace('_', ' '))}</h3>" + table(
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
            + table(["task", "status", "IFS", "VFS", "Final", "VFS_all", "Final_all", "epochs", "steps ok",
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


