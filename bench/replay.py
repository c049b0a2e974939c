#!/usr/bin/env python3
"""Replay speed: evaluate.py against a bare Playwright loop doing the same actions and screenshots.

Pages: the bundled sample set's reference pages, written by `generate.py --model builtin/oracle` into a
scratch folder. Each figure is the median of --repeat runs.

FLOOR   one Chromium (same binary and rendering flags), a new context per task at the task's
        viewport, the page served over loopback HTTP from its folder, goto (wait for `load`), a
        viewport screenshot, then for every recorded action the plain Playwright call on the recorded
        CSS selector (utils/sample_sites/<site>/task.json, the recorder's script) and a viewport
        screenshot written to disk. Type does what evaluate.py does (fill all but the last character,
        type the last); Press focuses the recorded field first when there is one; Scroll moves the
        mouse to the centre, turns the wheel by the recorded share of the viewport and waits two
        animation frames (wheel() returns before the view moves). The floor's screenshots are
        compared with evaluate.py's, to show both did the same work.
HARNESS evaluate.py as a subprocess (offline judge), visual scoring off (--no-visual) and on,
        --workers 1 and 2, a fresh result folder per run so nothing is resumed. Timings come from
        eval.json (per-step `timings`, per-task `seconds` and `sandbox.phases`) and from the run's
        own "... in N s" line, so interpreter start-up and imports are reported apart.
OCR     the offline judge reads the ground-truth checkpoints by OCR (cached once per dataset). Every
        run starts from a cache holding only the ground truth, as a run on a new model's pages does;
        "warm" rows rerun with everything already cached (a rerun of the same pages).
MEMORY  peak RSS (and PSS, shared pages split between processes) of evaluate.py's whole process tree
        (Python, Playwright's driver, every Chromium process), sampled every 50 ms; its CPU time, in
        all and by kind of process (Python, Chromium's renderers, browser process, GPU process and
        other helpers, Playwright's driver), to show which side of the harness costs what.

    python bench/replay.py                       # median of 3, all rows
    python bench/replay.py --repeat 5 --json bench/results/replay.json
    python bench/replay.py --repeat 1 --no-visual-on   # quick: visual scoring off only
    python bench/replay.py --mode off-w1 --baseline ../before   # before/after against another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import machine, machine_text, median, run_measured, spread, write_json  # noqa: E402

from iwrbench.data.tasks import Action, Task, load_tasks  # noqa: E402
from iwrbench.sandbox.chromium_path import find_chromium  # noqa: E402
from utils.make_task import serve_folder  # noqa: E402  (the page folder on loopback, as evaluate.py serves it)

MODEL = "builtin/oracle"
SLUG = "builtin__oracle"
SITES = ROOT / "utils" / "sample_sites"
CPU_GROUPS = ("python", "chromium renderer", "chromium browser", "chromium gpu-process", "chromium other",
              "playwright-driver", "other")
SUMMARY = re.compile(r"(\d+) scored, (\d+) already done, (\d+) errors in ([\d.]+)s")


# ---------------------------------------------------------------- the floor


def recorded_scripts(tasks: list[Task]) -> dict[str, list[dict[str, Any]]]:
    """Task id -> the recorder's action list (with CSS selectors) from utils/sample_sites."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for spec in sorted(SITES.glob("*/task.json")):
        obj = json.loads(spec.read_text(encoding="utf-8"))
        by_id[str(obj["id"])] = obj["actions"]
    missing = [t.id for t in tasks if t.id not in by_id or len(by_id[t.id]) != len(t.actions)]
    if missing:
        raise SystemExit(f"no recorded script (with selectors) matching task(s) {', '.join(missing)} under {SITES}: "
                         "the floor needs the recorder's selectors, so this bench runs on the bundled sample set")
    return {t.id: by_id[t.id] for t in tasks}


TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


async def perform(page: Any, action: Action, spec: dict[str, Any], size: tuple[int, int]) -> None:
    """One recorded action with the plain Playwright call (see the module docstring)."""
    sel = spec.get("selector")
    loc = page.locator(sel).first if sel else None
    if action.type == "Click":
        await loc.click()
    elif action.type == "Type":
        text = action.text or ""
        await loc.fill(text[:-1])
        await page.keyboard.type(text[-1:])
    elif action.type == "Press":
        if loc is not None:
            await loc.focus()
        await page.keyboard.press(action.key)
    elif action.type == "Scroll":
        w, h = size
        dx = dy = 0.0
        if action.direction in ("up", "down"):
            dy = action.scroll_page * h * (-1 if action.direction == "up" else 1)
        else:
            dx = action.scroll_page * w * (-1 if action.direction == "left" else 1)
        await page.mouse.move(w / 2, h / 2)
        await page.mouse.wheel(dx, dy)
        # wheel() returns before the page has scrolled: without this wait the screenshot shows the view
        # before (or half-way through) the scroll, which is not the same work.
        await page.evaluate(TWO_FRAMES)
    else:
        raise ValueError(f"unknown action type {action.type}")


@dataclass
class FloorRun:
    launch_s: float = 0.0
    total_s: float = 0.0  # launch to close: the serial floor for the whole set
    steps: int = 0
    step_s: list[float] = field(default_factory=list)
    task_s: list[float] = field(default_factory=list)  # context open to context closed
    phases: dict[str, list[float]] = field(default_factory=dict)  # open, load, initial, act, shot, close
    cpu_s: float | None = None  # CPU time of the whole process tree (Python, Playwright's driver, Chromium)
    cpu_by_kind: dict[str, float] = field(default_factory=dict)  # ... per kind of process (cpu_groups)
    peak_rss_mb: float | None = None
    peak_pss_mb: float | None = None
    wall_s: float | None = None  # the floor's whole process, interpreter start-up included

    def add(self, name: str, seconds: float) -> None:
        self.phases.setdefault(name, []).append(seconds)


async def floor_run(tasks: list[Task], scripts: dict[str, list[dict[str, Any]]], pages: Path, shots: Path
                    ) -> FloorRun:
    from playwright.async_api import async_playwright

    from iwrbench.sandbox.browser import LAUNCH_ARGS
    from iwrbench.sandbox.scratch import chromium_env

    args = [a for a in LAUNCH_ARGS if not a.startswith("--remote-debugging")]
    # Chromium's socket path (under its TMPDIR) must stay short: a scratch folder in /tmp, not in --work.
    scratch = Path(tempfile.mkdtemp(prefix="bench-floor-", dir="/tmp" if os.path.isdir("/tmp") else None))
    run = FloorRun()
    start = time.perf_counter()
    async with async_playwright() as pw:
        t = time.perf_counter()
        browser = await pw.chromium.launch(executable_path=find_chromium(), args=args, headless=True,
                                           env=chromium_env(scratch))
        run.launch_s = time.perf_counter() - t
        try:
            for task in tasks:
                out = shots / task.id
                out.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                with serve_folder(pages / task.id / SLUG) as url:
                    t = time.perf_counter()
                    context = await browser.new_context(viewport={"width": task.width, "height": task.height},
                                                        device_scale_factor=1)
                    page = await context.new_page()
                    run.add("open", time.perf_counter() - t)
                    t = time.perf_counter()
                    await page.goto(url, wait_until="load")
                    run.add("load", time.perf_counter() - t)
                    t = time.perf_counter()
                    (out / "step_0.png").write_bytes(await page.screenshot(type="png", caret="hide"))
                    run.add("initial", time.perf_counter() - t)
                    for action, spec in zip(task.actions, scripts[task.id], strict=True):
                        t = time.perf_counter()
                        await perform(page, action, spec, (task.width, task.height))
                        t1 = time.perf_counter()
                        data = await page.screenshot(type="png", caret="hide")
                        (out / f"step_{action.index}.png").write_bytes(data)
                        t2 = time.perf_counter()
                        run.add("act", t1 - t)
                        run.add("shot", t2 - t1)
                        run.step_s.append(t2 - t)
                        run.steps += 1
                    t = time.perf_counter()
                    await context.close()
                run.add("close", time.perf_counter() - t)  # the context and the page's server
                run.task_s.append(time.perf_counter() - t0)
        finally:
            await browser.close()
            shutil.rmtree(scratch, ignore_errors=True)
    run.total_s = time.perf_counter() - start
    return run


def run_floor(data: Path, ids: list[str], pages: Path, shots: Path) -> FloorRun:
    """The floor in a process of its own, measured like evaluate.py (memory, CPU, start-up)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--floor-child", "--data", str(data), "--task", ",".join(ids),
           "--pages", str(pages), "--shots", str(shots)]
    res = run_measured(cmd, memory=True)
    if res["returncode"] != 0:
        raise SystemExit(f"the floor run failed:\n{res['stderr'][-3000:]}")
    run = FloorRun(**json.loads(res["stdout"].strip().splitlines()[-1]))
    run.cpu_s, run.peak_rss_mb, run.peak_pss_mb = res.get("cpu_s"), res.get("peak_rss_mb"), res.get("peak_pss_mb")
    run.cpu_by_kind = cpu_groups(res.get("cpu_by_kind") or {})
    run.wall_s = res["wall_s"]
    return run


def floor_child(args: argparse.Namespace, tasks: list[Task]) -> int:
    scripts = recorded_scripts(tasks)
    run = asyncio.run(floor_run(tasks, scripts, args.pages, args.shots))
    print(json.dumps(asdict(run)))
    return 0


def compare_shots(tasks: list[Task], floor_shots: Path, result: Path) -> tuple[int, int, float]:
    same = compared = 0
    worst = 0.0
    for t in tasks:
        names = [f"step_{k}.png" for k in range(len(t.actions) + 1)]
        s, c, w = same_pictures(floor_shots / t.id, result / t.id / SLUG / "eval" / "offline", names)
        same, compared, worst = same + s, compared + c, max(worst, w)
    return same, compared, worst


def same_pictures(a_dir: Path, b_dir: Path, names: list[str]) -> tuple[int, int, float]:
    """(identical files, compared, worst mean |pixel difference|) between two screenshot folders."""
    import numpy as np
    from PIL import Image

    same = compared = 0
    worst = 0.0
    for name in names:
        a, b = a_dir / name, b_dir / name
        if not (a.is_file() and b.is_file()):
            continue
        compared += 1
        if a.read_bytes() == b.read_bytes():
            same += 1
            continue
        with Image.open(a) as ia, Image.open(b) as ib:
            if ia.size != ib.size:
                worst = max(worst, 255.0)
                continue
            diff = np.abs(np.asarray(ia.convert("RGB"), np.int16) - np.asarray(ib.convert("RGB"), np.int16))
            worst = max(worst, float(diff.mean()))
    return same, compared, worst


# ---------------------------------------------------------------- the harness


@dataclass(frozen=True)
class Mode:
    key: str
    what: str  # visual scoring, workers, cache
    visual: bool
    workers: int
    warm: bool = False  # OCR cache already holds every picture (a rerun of the same pages)
    root: Path = ROOT  # the checkout whose evaluate.py runs (--baseline: another one, for before/after)

    @property
    def label(self) -> str:
        return f"evaluate, {self.what}" if self.root == ROOT else f"  {self.root.name}, {self.what}"


@dataclass
class HarnessRun:
    mode: str
    wall_s: float
    inproc_s: float | None  # the run's own "in N s": tasks, browsers, judges; no interpreter start-up
    steps: int
    executed: int
    step_s: list[float]
    task_s: list[float]  # per task, all in: replay, judging, visual scoring
    replay_s: list[float]  # per task, the replay alone: context, load, initial state, steps, close
    phases: dict[str, list[float]]
    ifs: float | None
    vfs: float | None
    errors: int
    peak_rss_mb: float | None = None
    peak_pss_mb: float | None = None
    peak_processes: int | None = None
    cpu_s: float | None = None
    cpu_by_kind: dict[str, float] = field(default_factory=dict)


def cpu_groups(by_kind: dict[str, float]) -> dict[str, float]:
    """A tree's CPU by process kind (bench/_common.process_kind), in the groups the table prints:
    Chromium's renderers, browser process and GPU process apart, its other helpers together."""
    out = {name: 0.0 for name in CPU_GROUPS}
    for kind, seconds in by_kind.items():
        group = kind if kind in out else "chromium other" if kind.startswith("chromium") else "other"
        out[group] += seconds
    return out


def read_run(result: Path, tasks: list[Task], mode: Mode, res: dict[str, Any]) -> HarnessRun:
    step_s: list[float] = []
    task_s: list[float] = []
    replay_s: list[float] = []
    phases: dict[str, list[float]] = {}
    steps = executed = 0
    for task in tasks:
        path = result / task.id / SLUG / "eval" / "offline" / "eval.json"
        rec = json.loads(path.read_text(encoding="utf-8"))
        task_s.append(float(rec.get("seconds") or 0.0))
        replay = 0.0
        for name, value in ((rec.get("sandbox") or {}).get("phases") or {}).items():
            phases.setdefault(name, []).append(float(value))
            replay += float(value)
        for step in rec["steps"]:
            steps += 1
            timings = step.get("timings") or {}
            if step.get("executed"):
                executed += 1
                step_s.append(float(timings.get("total", 0.0)))
                replay += float(timings.get("total", 0.0))
                for name, value in timings.items():
                    if name != "total":
                        phases.setdefault(name, []).append(float(value))
        replay_s.append(replay)
        phases.setdefault("judge+visual", []).append(max(0.0, float(rec.get("seconds") or 0.0) - replay))
    report_path = result / "reports" / "offline" / f"{SLUG}.json"
    mean = json.loads(report_path.read_text(encoding="utf-8")).get("mean", {}) if report_path.is_file() else {}
    m = SUMMARY.search(res["stderr"])
    return HarnessRun(mode=mode.key, wall_s=res["wall_s"], inproc_s=float(m.group(4)) if m else None, steps=steps,
                      executed=executed, step_s=step_s, task_s=task_s, replay_s=replay_s, phases=phases,
                      ifs=mean.get("IFS"), vfs=mean.get("VFS"), errors=int(m.group(3)) if m else -1,
                      peak_rss_mb=res.get("peak_rss_mb"), peak_pss_mb=res.get("peak_pss_mb"),
                      peak_processes=res.get("peak_processes"), cpu_s=res.get("cpu_s"),
                      cpu_by_kind=cpu_groups(res.get("cpu_by_kind") or {}))


def fresh_result(pages: Path, dest: Path) -> None:
    """A result folder holding the generated pages and nothing evaluated yet."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(pages, dest, ignore=shutil.ignore_patterns("eval", "reports"))


def prepare_gt_cache(tasks: list[Task], cache_root: Path) -> None:
    """OCR every ground-truth checkpoint once into `cache_root/ocr` (the per-dataset part)."""
    from iwrbench.judges.ocr import OcrCache

    cache = OcrCache(cache_root / "ocr")
    for task in tasks:
        for path in task.checkpoints.values():
            cache.read(path)


def run_harness(mode: Mode, tasks: list[Task], data: Path, pages: Path, work: Path, gt_cache: Path,
                warm_cache: Path, ids: list[str]) -> HarnessRun:
    result = work / f"result-{mode.key}"
    fresh_result(pages, result)
    cache = warm_cache if mode.warm else work / f"cache-{mode.key}"
    if not mode.warm:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(gt_cache, cache)
    env = {**os.environ, "IWRBENCH_CACHE_DIR": str(cache)}
    cmd = [sys.executable, str(mode.root / "evaluate.py"), "--data", str(data), "--result", str(result),
           "--model", MODEL, "--workers", str(mode.workers), "-q", "--task", ",".join(ids)]
    if not mode.visual:
        cmd.append("--no-visual")
    res = run_measured(cmd, env=env, cwd=work, memory=True)
    if res["returncode"] != 0:
        tail = "\n".join(res["stderr"].strip().splitlines()[-15:])
        raise SystemExit(f"evaluate.py ({mode.label}) exited {res['returncode']}:\n{tail}")
    return read_run(result, tasks, mode, res)


# ---------------------------------------------------------------- figures


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def floor_figures(run: FloorRun) -> dict[str, Any]:
    n = run.steps
    return {"steps": n, "step_s": mean(run.step_s), "replay_per_step_s": sum(run.task_s) / n,
            "task_per_step_s": sum(run.task_s) / n, "run_per_step_s": run.total_s / n, "run_s": run.total_s,
            "wall_s": run.wall_s, "launch_s": run.launch_s, "steps_per_s": n / run.total_s,
            "startup_s": run.wall_s - run.total_s if run.wall_s is not None else None,
            "cores_busy": run.cpu_s / run.wall_s if run.cpu_s is not None and run.wall_s else None,
            "cpu_per_step_s": run.cpu_s / n if run.cpu_s is not None else None, "peak_rss_mb": run.peak_rss_mb,
            "peak_pss_mb": run.peak_pss_mb, "cpu_by_kind_s": run.cpu_by_kind,
            "phases_ms": {k: 1000 * sum(v) / len(v) for k, v in run.phases.items()}}


def harness_figures(run: HarnessRun) -> dict[str, Any]:
    n = run.steps
    per_task = {"open", "load", "initial", "close", "judge+visual"}
    return {"steps": run.executed, "step_s": mean(run.step_s), "replay_per_step_s": sum(run.replay_s) / n,
            "task_per_step_s": sum(run.task_s) / n, "run_per_step_s": (run.inproc_s or run.wall_s) / n,
            "run_s": run.inproc_s, "wall_s": run.wall_s,
            "startup_s": run.wall_s - run.inproc_s if run.inproc_s is not None else None,
            "steps_per_s": n / run.wall_s, "cpu_per_step_s": run.cpu_s / n if run.cpu_s is not None else None,
            "cores_busy": run.cpu_s / run.wall_s if run.cpu_s is not None else None,
            "ifs": run.ifs, "vfs": run.vfs, "errors": run.errors, "peak_rss_mb": run.peak_rss_mb,
            "peak_pss_mb": run.peak_pss_mb, "peak_processes": run.peak_processes, "cpu_by_kind_s": run.cpu_by_kind,
            "phases_ms": {k: 1000 * (sum(v) / len(run.task_s) if k in per_task else sum(v) / max(1, run.executed))
                          for k, v in run.phases.items()}}


RATIOS = (("step", "step_s"), ("replay", "replay_per_step_s"), ("run", "run_per_step_s"))
PAIRED = RATIOS + (("wall", "wall_s"), ("run_total", "run_s"))  # evaluate.py's figure / its paired floor run's


def med(rows: list[dict[str, Any]], key: str) -> float | None:
    return median(r.get(key) for r in rows)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {k for r in rows for k, v in r.items()
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool))}
    out: dict[str, Any] = {k: med(rows, k) for k in sorted(keys)}
    out["spread"] = {k: spread(r.get(k) for r in rows) for k in ("step_s", "replay_per_step_s", "run_s", "wall_s")
                     if any(r.get(k) is not None for r in rows)}
    phase_names = {p for r in rows for p in r.get("phases_ms", {})}
    out["phases_ms"] = {p: median(r.get("phases_ms", {}).get(p) for r in rows) for p in sorted(phase_names)}
    kinds = {k for r in rows for k in r.get("cpu_by_kind_s", {})}
    out["cpu_by_kind_s"] = {k: median(r.get("cpu_by_kind_s", {}).get(k) for r in rows) for k in CPU_GROUPS if k in kinds}
    return out


def fmt(v: float | None, spec: str = ".3f", unit: str = "") -> str:
    return "-" if v is None else f"{v:{spec}}{unit}"


LEGEND = """\
step       one action: evaluate.py's perceive + locate + act + settle + page state + screenshot
           (eval.json step timings); the floor's Playwright call + screenshot
replay     per task: context, load, initial state, every step, close; summed over tasks / steps
all-in     evaluate.py's per-task time (replay, judging, visual scoring) summed / steps; with 2 workers
           tasks overlap, so this is latency, not throughput
run        the run's own time (evaluate.py's "... in N s": browser launch included, interpreter start-up
           and imports not) / steps; the floor: launch to close
wall       the whole command, start-up included; steps/s = steps / wall
CPU/step   CPU seconds of the whole process tree (Python, Playwright's driver, every Chromium) / steps;
           split by kind of process under "CPU seconds per run by process"
x floor    evaluate.py's step / replay / run figure over the floor's
RSS, PSS   peak of the whole tree; RSS counts shared pages once per process, PSS splits them
rerun      the same pages again: every OCR already cached (other rows start from a cache holding
           only the ground truth's OCR, as a run on a new model's pages does)"""


def print_table(floor: dict[str, Any], rows: dict[str, dict[str, Any]], modes: list[Mode], n_tasks: int,
                repeat: int) -> None:
    print(f"\nReplay of {n_tasks} tasks, {floor['steps']:.0f} steps ({MODEL} pages); median of {repeat} run(s); "
          "times in seconds. Each evaluate.py run follows a floor run of its own; x floor is the median of\n"
          "the ratios to those paired runs, the floor row the median of all floor runs.\n")
    head = (f"{'':38} {'step':>6} {'replay':>6} {'all-in':>6} {'run':>6} {'run':>5} {'wall':>5} {'steps':>5} "
            f"{'CPU':>6} {'x floor':>14} {'RSS':>5} {'PSS':>5} {'IFS':>5} {'VFS':>5}")
    sub = (f"{'':38} {'':>6} {'/step':>6} {'/step':>6} {'/step':>6} {'':>5} {'':>5} {'/s':>5} "
           f"{'/step':>6} {'step/rep/run':>14} {'MB':>5} {'MB':>5}")
    print(head)
    print(sub)
    print("-" * len(head))

    def line(label: str, r: dict[str, Any], ratios: str) -> None:
        print(f"{label:38} {fmt(r['step_s']):>6} {fmt(r['replay_per_step_s']):>6} {fmt(r['task_per_step_s']):>6} "
              f"{fmt(r['run_per_step_s']):>6} {fmt(r['run_s'], '.1f'):>5} {fmt(r['wall_s'], '.1f'):>5} "
              f"{fmt(r['steps_per_s'], '.2f'):>5} {fmt(r.get('cpu_per_step_s')):>6} {ratios:>14} "
              f"{fmt(r.get('peak_rss_mb'), '.0f'):>5} {fmt(r.get('peak_pss_mb'), '.0f'):>5} "
              f"{fmt(r.get('ifs'), '.1f'):>5} {fmt(r.get('vfs'), '.1f'):>5}")

    line("floor: bare Playwright, serial", floor, "")
    for mode in modes:
        r = rows[mode.key]
        line(mode.label, r, "/".join(fmt(r.get(f"ratio_{k}"), ".2f") for k, _ in RATIOS))
    print("\n" + LEGEND)
    print("\nWhere the time goes (ms; per step for step phases, per task for the others):")
    print("  floor: " + ", ".join(f"{k} {v:.0f}" for k, v in floor["phases_ms"].items()))
    for mode in modes:
        ph = rows[mode.key]["phases_ms"]
        print(f"  {mode.label.strip()}: " + ", ".join(f"{k} {v:.0f}" for k, v in ph.items() if v is not None))
    print("\nStart-up in seconds (wall - run: interpreter, imports, loading tasks, writing reports): floor "
          f"{fmt(floor.get('startup_s'), '.2f')}, " + ", ".join(
              f"{m.label.strip()} {fmt(rows[m.key].get('startup_s'), '.2f')}" for m in modes))
    print("\nCPU seconds per run by process (median): " + ", ".join(CPU_GROUPS))
    for label, r in [("floor", floor)] + [(m.label.strip(), rows[m.key]) for m in modes]:
        cpu = r.get("cpu_by_kind_s") or {}
        print(f"  {label}: " + ", ".join(fmt(cpu.get(k), ".2f") for k in CPU_GROUPS))
    print("Cores kept busy (CPU s / wall s): floor " + fmt(floor.get("cores_busy"), ".2f") + ", " + ", ".join(
        f"{m.label.strip()} {fmt(rows[m.key].get('cores_busy'), '.2f')}" for m in modes))


def checks(floor: dict[str, Any], rows: dict[str, dict[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """The issue's targets, each decided on the median of evaluate.py's ratios to its paired floor runs."""
    out: list[tuple[str, bool | None, str]] = []
    w1 = rows.get("off-w1")
    if w1:
        for what, key in RATIOS:
            ratio = w1.get(f"ratio_{what}")
            out.append((f"visual off, --workers 1: {what} s/step <= 1.5x the floor's",
                        None if ratio is None else ratio <= 1.5,
                        f"{fmt(ratio, '.2f')}x (medians {fmt(w1.get(key))} vs {fmt(floor.get(key))})"))
    w2 = rows.get("off-w2")
    if w2:
        for what, key, ratio_key in (("wall", "wall_s", "ratio_wall"), ("run", "run_s", "ratio_run_total")):
            ratio = w2.get(ratio_key)
            out.append((f"visual off, --workers 2: whole set ({what}) faster than the serial floor",
                        None if ratio is None else ratio < 1.0,
                        f"{fmt(ratio, '.2f')}x (medians {fmt(w2.get(key), '.1f')} s vs {fmt(floor.get(key), '.1f')} s)"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "sample.jsonl")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; medians are printed (default 3)")
    ap.add_argument("--no-visual-on", action="store_true", help="skip the visual-scoring-on rows")
    ap.add_argument("--task", action="append", help="only these task ids (repeatable or comma lists)")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new temporary folder, removed after)")
    ap.add_argument("--gt-cache", type=Path, default=ROOT / ".cache" / "bench-replay-gt",
                    help="where the ground truth's OCR is kept between bench runs (default: %(default)s)")
    ap.add_argument("--json", type=Path, help="also write every run and the medians here")
    ap.add_argument("--baseline", type=Path, metavar="DIR", action="append",
                    help="also time the evaluate.py of another checkout (e.g. `git worktree add DIR HEAD~1`), "
                         "run right after this one's in each round, for before/after figures (repeatable; "
                         "rows are named after the folder)")
    ap.add_argument("--mode", action="append", metavar="KEY",
                    help="only these evaluate.py rows: off-w1, off-w2, on-w1, on-w2, on-w1-warm (repeatable; also "
                         "comma lists)")
    ap.add_argument("--floor-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pages", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--shots", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    tasks = load_tasks(args.data)
    if args.task:
        wanted = {v.strip() for value in args.task for v in value.split(",") if v.strip()}
        tasks = [t for t in tasks if t.id in wanted]
    if not tasks:
        raise SystemExit("no tasks selected")
    if args.floor_child:
        return floor_child(args, tasks)
    ids = [t.id for t in tasks]
    recorded_scripts(tasks)  # fail early when the floor cannot run these tasks
    mach = machine()
    print(machine_text(mach), file=sys.stderr)

    modes = [Mode("off-w1", "visual off, workers 1", False, 1),
             Mode("off-w2", "visual off, workers 2", False, 2)]
    if not args.no_visual_on:
        modes += [Mode("on-w1", "visual on,  workers 1", True, 1),
                  Mode("on-w2", "visual on,  workers 2", True, 2),
                  Mode("on-w1-warm", "visual on,  workers 1, rerun", True, 1, warm=True)]

    if args.mode:
        keep = {v.strip() for value in args.mode for v in value.split(",") if v.strip()}
        unknown = keep - {m.key for m in modes}
        if unknown:
            raise SystemExit(f"--mode: unknown {', '.join(sorted(unknown))} (or excluded by --no-visual-on)")
        modes = [m for m in modes if m.key in keep]
    bases = [b.resolve() for b in args.baseline or []]
    for base in bases:
        if not (base / "evaluate.py").is_file():
            raise SystemExit(f"--baseline {base}: no evaluate.py there")
    modes = [m for mode in modes for m in [mode] + [
        Mode(f"{base.name}-{mode.key}", mode.what, mode.visual, mode.workers, mode.warm, base) for base in bases]]

    own_work = args.work is None
    work = Path(tempfile.mkdtemp(prefix="bench-replay-")) if own_work else args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        pages = work / "pages"
        print(f"generating {MODEL} pages into {pages} ...", file=sys.stderr)
        gen = run_measured([sys.executable, str(ROOT / "generate.py"), "--data", str(args.data), "--result",
                            str(pages), "--model", MODEL, "-q", "--task", ",".join(ids)], cwd=work)
        if gen["returncode"] != 0:
            raise SystemExit(f"generate.py failed:\n{gen['stderr'][-2000:]}")
        print(f"reading the ground truth by OCR into {args.gt_cache} (once per dataset) ...", file=sys.stderr)
        prepare_gt_cache(tasks, args.gt_cache)
        warm_cache = work / "cache-warm"
        shutil.rmtree(warm_cache, ignore_errors=True)
        shutil.copytree(args.gt_cache, warm_cache)
        if any(m.warm for m in modes):  # fill it with the candidate's pictures too (not timed)
            run_harness(Mode("warmup", "warm-up", True, 2, warm=True), tasks, args.data, pages, work, args.gt_cache,
                        warm_cache, ids)

        floor_runs: list[dict[str, Any]] = []
        harness_runs: dict[str, list[dict[str, Any]]] = {m.key: [] for m in modes}
        pictures: tuple[int, int, float] | None = None
        shots = work / "floor-shots"
        for i in range(args.repeat):
            for mode in modes:
                # Each evaluate.py run is paired with a floor run just before it, and its ratios are taken
                # against that one: on a shared machine the load drifts over a whole round.
                print(f"run {i + 1} of {args.repeat}: floor, then {mode.label.strip()} ...", file=sys.stderr)
                shutil.rmtree(shots, ignore_errors=True)
                fl = floor_figures(run_floor(args.data, ids, pages, shots))
                floor_runs.append(fl)
                hr = harness_figures(run_harness(mode, tasks, args.data, pages, work, args.gt_cache, warm_cache, ids))
                for what, key in PAIRED:
                    hr[f"ratio_{what}"] = hr[key] / fl[key] if hr.get(key) and fl.get(key) else None
                harness_runs[mode.key].append(hr)
                if pictures is None:  # does the floor do the same work? compare its screenshots with evaluate's
                    pictures = compare_shots(tasks, shots, work / f"result-{mode.key}")

        floor = summarise(floor_runs)
        rows = {key: summarise(runs) for key, runs in harness_runs.items()}
        print_table(floor, rows, modes, len(tasks), args.repeat)
        if pictures:
            print(f"\nSame work: {pictures[0]} of {pictures[1]} floor screenshots are byte-identical to evaluate's "
                  f"(worst mean |pixel difference| of the others: {pictures[2]:.2f} of 255).")
        verdicts = checks(floor, rows)
        print("\nTargets (issue 7):")
        for what, ok, figure in verdicts:
            print(f"  [{'PASS' if ok else 'FAIL' if ok is False else ' ?? '}] {what}: {figure}")
        print("\n" + machine_text(mach))
        if args.json:
            write_json(args.json, {
                "machine": mach, "repeat": args.repeat, "tasks": ids, "floor": floor, "modes": {
                    m.key: {**asdict(m), **rows[m.key]} for m in modes},
                "runs": {"floor": floor_runs, **harness_runs},
                "same_pictures": {"identical": pictures[0], "compared": pictures[1], "worst_mean_diff": pictures[2]}
                if pictures else None,
                "targets": [{"target": w, "met": ok, "figure": f} for w, ok, f in verdicts]})
            print(f"wrote {args.json}", file=sys.stderr)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
