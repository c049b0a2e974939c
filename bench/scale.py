#!/usr/bin/env python3
"""Evaluation at benchmark scale: many tasks, a slow and sometimes rate-limited model judge, N workers.

The task set is synthetic, made from the sample set: each sample task copied --copies times under new
ids (checkpoints, video and reference page alike). Half the copies are evaluated on the oracle page,
the other half on a page that differs from the ground truth (builtin/screenshot's: the initial state
as one picture, so every step's look drifts away and every flagged step is visually scored against a
different picture). All of it is evaluated as one model's run, so tasks of both kinds are in flight
together.

The judge is the tests' fake OpenAI server (loopback HTTP, the real openai SDK on our side) answering
like a healthy judge after --latency seconds (+- --jitter), and with a 429 (Retry-After 1 s or none)
for --rate-limit of its calls. Each run gets its own response cache and an empty OCR cache, so no run
profits from another's work. Per run: wall, CPU of the process tree (by kind of process), peak PSS,
judge calls (per action), the most calls the judge was answering at once, and the harness's own
counts (calls, 429s, pause; OCR pictures and crops).

    python bench/scale.py --quick                     # 16 tasks: judge at 1/8/16 workers, offline 1/4
    python bench/scale.py                             # 40 tasks, --workers 1,4,8,16, judge and offline
    python bench/scale.py --workers 8 --browsers 2,8  # contexts sharing a browser against one per worker
    python bench/scale.py --workers 1,8 --processes 2 # 8 workers as one process and as 2 shard processes

--processes P adds, at the largest worker count, the same run split into P `--shard k/P` processes at
once (workers and judge concurrency divided between them, one output root and cache, then one
`--report-only` merge, all inside the measured wall time): one process's Python holds the GIL and
runs all its OCR on one thread, so a machine with many cores may need several processes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, machine_text, median, run_measured, write_json  # noqa: E402
from iwrbench.models.gate import DEFAULT_LIMIT  # noqa: E402
from iwrbench.sandbox.browser_share import default_browsers  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, Fault  # noqa: E402
from tests.fixtures_faults import JudgeResponder  # noqa: E402

MODEL, MODEL_SLUG = "builtin/oracle", "builtin__oracle"
DIFFERING = "builtin/screenshot"
JUDGE = "openai/judge"


class Setting(NamedTuple):
    """One evaluate.py run of the bench: its label, with a model judge or offline, its --workers and
    --browsers (None: the harness's default), visual scoring, and how many shard processes share it."""

    label: str
    judge: bool
    workers: int
    browsers: int | None = None
    visual: bool = True
    processes: int = 1


class SlowJudge:
    """JudgeResponder behind a latency with jitter and an occasional 429; counts calls in flight."""

    def __init__(self, latency: float, jitter: float, rate_limit: float, seed: int = 7):
        self.inner = JudgeResponder()
        self.latency, self.jitter, self.rate_limit = latency, jitter, rate_limit
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.now = self.peak = self.calls = self.limited = 0

    def reset(self) -> None:
        with self.lock:
            self.now = self.peak = self.calls = self.limited = 0

    def __call__(self, req):
        with self.lock:
            self.calls += 1
            self.now += 1
            self.peak = max(self.peak, self.now)
            limited = self.rng.random() < self.rate_limit
            self.limited += limited
            retry_after = self.rng.choice([1, None])
            wait = max(0.0, self.latency + self.rng.uniform(-self.jitter, self.jitter))
        try:
            if limited:
                return Fault.rate_limit(retry_after)
            time.sleep(wait)
            return self.inner(req)
        finally:
            with self.lock:
                self.now -= 1


def make_tasks(dest: Path, copies: int) -> tuple[Path, dict[str, str], int]:
    """The synthetic set under dest: scale.jsonl and scale/<id>/. Returns (jsonl, {task id: page model},
    actions in all). Copy k of task t is task "t-k"; even positions get the oracle page, odd the differing one."""
    lines = [ln for ln in (ROOT / "data" / "sample.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    out, pages, actions = [], {}, 0
    (dest / "scale").mkdir(parents=True, exist_ok=True)
    for k in range(copies):
        for ln in lines:
            rec = json.loads(ln)
            src = str(rec["id"])
            rec["id"] = f"{src}-{k}"
            shutil.copytree(ROOT / "data" / "sample" / src, dest / "scale" / rec["id"])
            pages[rec["id"]] = MODEL if len(pages) % 2 == 0 else DIFFERING
            actions += len(rec["action_sequence"])
            out.append(json.dumps(rec))
    jsonl = dest / "scale.jsonl"
    jsonl.write_text("\n".join(out) + "\n", encoding="utf-8")
    return jsonl, pages, actions


def make_pages(work: Path, data: Path, pages: dict[str, str]) -> Path:
    """Generate both built-in pages of every task, then keep each task's chosen one under the oracle's slug."""
    for model in (MODEL, DIFFERING):
        gen = subprocess.run([sys.executable, str(ROOT / "generate.py"), "--data", str(data), "--result",
                              str(work / f"gen-{model.split('/')[1]}"), "--model", model, "-q"],
                             cwd=ROOT, capture_output=True, text=True)
        if gen.returncode != 0:
            raise SystemExit(f"generate.py {model} failed:\n{gen.stderr[-2000:]}")
    root = work / "pages"
    for tid, model in pages.items():
        src = work / f"gen-{model.split('/')[1]}" / tid / model.replace("/", "__")
        shutil.copytree(src, root / tid / MODEL_SLUG)
    return root


_CALLS = re.compile(r"model calls: (\d+) attempts, at most (\d+) in flight \(limit (\d+)\), (\d+) rate-limited "
                    r"\(paused ([\d.]+) s\)")
_OCR = re.compile(r"ocr: (\d+) pictures, (\d+) cache hits; engine read (\d+) pictures, recognised (\d+) of "
                  r"(\d+) text crops")


def parse_summary(stderr: str) -> dict:
    """The harness's own counts from its summary lines; several processes' (--processes) are added up,
    their peaks of calls in flight too (an upper bound: the fake server's count is the exact one)."""
    out: dict = {}

    def add(**kv: float) -> None:
        for k, v in kv.items():
            out[k] = out.get(k, 0) + v

    for m in _CALLS.finditer(stderr):
        add(gate_attempts=int(m[1]), gate_peak_in_flight=int(m[2]), gate_limit=int(m[3]),
            gate_rate_limited=int(m[4]), gate_paused_s=float(m[5]))
    for m in _OCR.finditer(stderr):
        add(ocr_pictures=int(m[1]), ocr_cache_hits=int(m[2]), ocr_engine_pictures=int(m[3]),
            ocr_crops_recognised=int(m[4]), ocr_crops=int(m[5]))
    return out


def in_processes(cmd: list[str], processes: int, workers: int, judge_limit: int | None, data: Path,
                 out: Path) -> list[str]:
    """`cmd` as `processes` shard processes at once, `workers` (and the judge's concurrency) divided
    between them, then the merge of their reports; exits with the worst shard's status."""
    each = max(1, workers // processes)
    shards = []
    for k in range(1, processes + 1):
        part = [*cmd, "--shard", f"{k}/{processes}"]
        part[part.index("--workers") + 1] = str(each)
        if judge_limit and "--judge" in part:
            if "--judge-concurrency" not in part:
                part += ["--judge-concurrency", ""]
            part[part.index("--judge-concurrency") + 1] = str(max(1, judge_limit // processes))
        shards.append(shlex.join(part) + " &")
    merge = shlex.join([sys.executable, str(ROOT / "evaluate.py"), "--data", str(data), "--result", str(out),
                        "--report-only", "-q"])
    script = ("pids=''; " + " ".join(f"{s} pids=\"$pids $!\";" for s in shards)
              + " rc=0; for p in $pids; do wait $p || rc=$?; done; " + merge + " || exit $?; exit $rc")
    return ["sh", "-c", script]


def scored(out: Path, judge_folder: str) -> tuple[int, int]:
    """(tasks scored, tasks that are errors) in the run's report."""
    report = json.loads((out / "reports" / judge_folder / f"{MODEL_SLUG}.json").read_text())
    return report["counts"]["scored"], report["counts"]["errors"]


def parse_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=5, help="copies of each sample task (default 5: 40 tasks)")
    ap.add_argument("--workers", default="1,4,8,16", help="comma-separated --workers values (default 1,4,8,16)")
    ap.add_argument("--browsers", default="", help="comma-separated --browsers values to pair at the largest "
                    "worker count, with the judge and offline (default: only the harness's default)")
    ap.add_argument("--offline-workers", default=None, help="--workers values of the offline runs (default: "
                    "as --workers)")
    ap.add_argument("--latency", type=float, default=2.0, help="judge seconds per reply (default 2)")
    ap.add_argument("--jitter", type=float, default=0.5, help="+- seconds around --latency (default 0.5)")
    ap.add_argument("--rate-limit", type=float, default=0.03, help="share of judge calls answered 429 (0.03)")
    ap.add_argument("--judge-concurrency", type=int, default=None, help="passed to evaluate.py when given")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; each setting once per round, medians printed")
    ap.add_argument("--processes", type=int, default=1, help="also run the largest worker count as this many "
                    "shard processes at once (see above; default 1: one process only)")
    ap.add_argument("--no-judge", action="store_true", help="offline runs only")
    ap.add_argument("--stages", action="store_true",
                    help="also the fewest offline workers without visual scoring (the replay's share of the CPU), "
                         "and again with the OCR cache the first such run filled")
    ap.add_argument("--quick", action="store_true",
                    help="a short pass: --copies 2 (16 tasks), --workers 1,8,16, offline 1,4, --browsers 4,8 (a browser "
                         "per worker at the largest worker counts, against the default)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.quick:
        args.copies, args.workers = 2, "1,8,16"
        args.offline_workers = args.offline_workers or "1,4"
        args.browsers = args.browsers or "4,8"
        args.stages = True
    workers = parse_list(args.workers)
    offline_workers = parse_list(args.offline_workers) if args.offline_workers else workers
    browsers = parse_list(args.browsers)

    S = Setting
    settings: list[Setting] = []
    if not args.no_judge:
        settings += [S(f"judge w{w}", True, w) for w in workers]
        if args.processes > 1:
            settings.append(S(f"judge w{max(workers)} p{args.processes}", True, max(workers),
                              processes=args.processes))
        settings += [S(f"judge w{max(workers)} b{b}", True, max(workers), b) for b in browsers
                     if b != default_browsers(max(workers)) and b <= max(workers)]
    settings += [S(f"offline w{w}", False, w) for w in offline_workers]
    if args.processes > 1:
        settings.append(S(f"offline w{max(offline_workers)} p{args.processes}", False, max(offline_workers),
                          processes=args.processes))
    settings += [S(f"offline w{max(offline_workers)} b{b}", False, max(offline_workers), b) for b in browsers
                 if b != default_browsers(max(offline_workers)) and b <= max(offline_workers)]
    if args.stages:  # visual scoring's share: the same offline run without it, and with the OCR cache warm
        w = min(offline_workers)
        settings += [S(f"offline w{w} no-visual", False, w, visual=False), S(f"offline w{w} OCR warm", False, w)]

    judge = SlowJudge(args.latency, args.jitter, args.rate_limit)
    runs: dict[str, list[dict]] = {st.label: [] for st in settings}
    with tempfile.TemporaryDirectory(prefix="iwrbench-bench-scale-") as tmp, FakeLLMServer() as fake:
        work = Path(tmp)
        data, pages, actions = make_tasks(work / "data", args.copies)
        print(f"{len(pages)} tasks, {actions} actions; generating pages ...", file=sys.stderr, flush=True)
        pages_root = make_pages(work, data, pages)
        fake.set_responder(judge)
        for rnd in range(args.repeat):
            for i, (label, with_judge, w, b, visual, processes) in enumerate(settings):
                out, cache = work / f"out-{rnd}-{i}", work / f"cache-{rnd}-{i}"
                if label.endswith("OCR warm"):  # the OCR cache the first offline run of this round filled
                    first = next(j for j, st in enumerate(settings)
                                 if not st.judge and st.workers == w and st.visual and st.processes == 1)
                    shutil.copytree(work / f"cache-{rnd}-{first}" / "ocr", cache / "ocr")
                shutil.copytree(pages_root, out)
                env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.base_url_openai,
                       "IWRBENCH_CACHE_DIR": str(cache)}
                cmd = [sys.executable, str(ROOT / "evaluate.py"), "--data", str(data), "--result", str(out),
                       "--model", MODEL, "--workers", str(w), "-q"]
                if with_judge:
                    cmd += ["--judge", JUDGE]
                    if args.judge_concurrency:
                        cmd += ["--judge-concurrency", str(args.judge_concurrency)]
                if b:
                    cmd += ["--browsers", str(b)]
                if not visual:
                    cmd.append("--no-visual")
                if processes > 1:
                    limit = (args.judge_concurrency or DEFAULT_LIMIT) if with_judge else None
                    cmd = in_processes(cmd, processes, w, limit, data, out)
                judge.reset()
                print(f"round {rnd + 1} of {args.repeat}: {label} ...", file=sys.stderr, flush=True)
                res = run_measured(cmd, env=env, cwd=ROOT, memory=True, timeout=4 * 3600)
                if res["returncode"] not in (0, 1):
                    raise SystemExit(f"evaluate.py ({label}) exited {res['returncode']}:\n{res['stderr'][-2000:]}")
                ok, errors = scored(out, JUDGE.replace("/", "__") if with_judge else "offline")
                row = {"wall_s": round(res["wall_s"], 1), "cpu_s": res["cpu_s"], "cpu_by_kind": res["cpu_by_kind"],
                       "peak_pss_mb": res["peak_pss_mb"], "peak_processes": res["peak_processes"],
                       "scored": ok, "errors": errors, **parse_summary(res["stderr"])}
                if errors:  # why, once per distinct message ("task 3: task exceeded its hard timeout of 240s")
                    why = {re.sub(r"^\s*task \S+: ", "", ln) for ln in res["stderr"].splitlines()
                           if re.match(r"^\s+task \S+: ", ln)}
                    row["error_messages"] = sorted(why)[:5]
                if with_judge:
                    row.update(judge_calls=judge.calls, judge_429=judge.limited, judge_peak_in_flight=judge.peak,
                               judge_calls_per_action=round(judge.calls / actions, 2))
                runs[label].append(row)
                print(f"  {json.dumps({k: v for k, v in row.items() if k != 'cpu_by_kind'})}", file=sys.stderr)
                shutil.rmtree(out, ignore_errors=True)
                if with_judge:
                    shutil.rmtree(cache, ignore_errors=True)

    print(f"\n{len(pages)} tasks ({actions} actions), half on the oracle page, half on a differing one; judge "
          f"{args.latency:g} s +- {args.jitter:g} s, {args.rate_limit:.0%} answered 429; median of {args.repeat}")
    head = (f"{'setting':18s} {'wall s':>7s} {'CPU s':>7s} {'python':>7s} {'chromium':>8s} {'PSS MB':>7s} "
            f"{'scored':>6s} {'err':>4s} {'calls/act':>9s} {'in flight':>9s} {'429s':>5s} {'OCR crops rec.':>15s}")
    print(head)
    for label, rs in runs.items():
        def med(key, rs=rs):
            return median(r.get(key) for r in rs)

        py = median(r["cpu_by_kind"].get("python") for r in rs)
        chrome = median(sum(v for k, v in r["cpu_by_kind"].items() if k.startswith("chromium")) for r in rs)
        crops = (f"{med('ocr_crops_recognised'):.0f}/{med('ocr_crops'):.0f}" if med("ocr_crops") else "-")
        print(f"{label:18s} {med('wall_s'):7.1f} {med('cpu_s'):7.1f} {py or 0:7.1f} {chrome or 0:8.1f} "
              f"{med('peak_pss_mb'):7.0f} {med('scored'):6.0f} {med('errors'):4.0f} "
              f"{med('judge_calls_per_action') or 0:9.2f} {med('judge_peak_in_flight') or 0:9.0f} "
              f"{med('judge_429') or 0:5.0f} {crops:>15s}")
    m = machine()
    print(machine_text(m))
    if args.json:
        write_json(args.json, {"tasks": len(pages), "actions": actions, "latency_s": args.latency,
                               "jitter_s": args.jitter, "rate_limit": args.rate_limit, "runs": runs, "machine": m})
    return 0


if __name__ == "__main__":
    sys.exit(main())
