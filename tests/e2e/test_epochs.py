"""Epochs through the real entry points: `generate.py --epochs N` against the fake OpenAI server with a
model whose page differs from one call to the next, then `evaluate.py` over every epoch, and the report
whose interval reflects the spread between epochs."""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest

from iwrbench import layout
from iwrbench.data.tasks import load_tasks, parse_shard, select_tasks
from iwrbench.report import stats
from tests.fakes.llm_server import Fault
from tests.faults.test_faults_interrupt import _interrupt, _start, _wait_for
from tests.fixtures_faults import PLANTED_KEY, assert_no_traceback, cli_env, run_cli
from tests.fixtures_generation import as_model_reply, make_tiny_task, task_of_request, write_dataset

MODEL, SLUG = "openai/epochs", "openai__epochs"
NO_BUTTON = "<!DOCTYPE html><html><body><h1>Tiny shop {tid}</h1><p>reply {n}: nothing to click</p></body></html>\n"


class VaryingPages:
    """A model that writes a different page each time it is asked about a task: the first, third ...
    reply is the task's reference page (its button works), the second, fourth ... a page without a
    button; every page carries the reply's number, so no two pages are the same."""

    def __init__(self, tasks, *, answer_first: int | None = None):
        self.tasks = tasks
        self.per_task: Counter[str] = Counter()
        self.answer_first = answer_first  # after this many replies, every request hangs
        self.total = 0
        self._lock = threading.Lock()

    def __call__(self, req):
        task = task_of_request(req, self.tasks)
        with self._lock:
            self.total += 1
            if self.answer_first is not None and self.total > self.answer_first:
                return Fault.hang(120.0)
            self.per_task[task.id] += 1
            n = self.per_task[task.id]
        if n % 2:
            html = task.reference_page.read_text(encoding="utf-8").replace("</body>", f"<!-- reply {n} --></body>")
        else:
            html = NO_BUTTON.format(tid=task.id, n=n)
        return as_model_reply(html)


@pytest.fixture
def tiny(tmp_path: Path):
    root = tmp_path / "data" / "tiny"
    data = write_dataset(tmp_path / "data" / "tiny.jsonl",
                         [make_tiny_task(root, f"t{i}", shade=60 * i, seconds=1.0) for i in range(1, 4)])
    return data, load_tasks(data)


def _generate(data: Path, out: Path, env: dict, *extra: str):
    proc = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", MODEL, "-q", *extra, env=env)
    assert_no_traceback(proc)
    return proc


def _pages(out: Path, tasks, epochs: int) -> dict[tuple[str, int], Path]:
    return {(t.id, e): layout.page_path(out, t.id, MODEL, epoch=e) for t in tasks for e in range(1, epochs + 1)}


def test_generate_epochs_each_its_own_generation_resume_force_task_shard(tiny, tmp_path, fake_llm):
    data, tasks = tiny
    fake_llm.set_responder(VaryingPages(tasks))
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    out = tmp_path / "out"
    first = _generate(data, out, env, "--epochs", "3", "--workers", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "(3 epochs per task): 9 done, 0 skipped, 0 failed" in first.stdout, first.stdout
    assert len(fake_llm.requests) == 9
    pages = _pages(out, tasks, 3)
    assert (out / "t1" / "openai__epochs@epoch-2" / "index.html") == pages[("t1", 2)]
    records = {k: json.loads((p.parent / "generation.json").read_text()) for k, p in pages.items()}
    assert all(r["status"] == "done" and r["epoch"] == k[1] for k, r in records.items())
    assert len({r["cache_key"] for r in records.values()}) == 9  # each epoch its own cache key
    for t in tasks:  # three different pages per task: a working one, one without a button, a working one
        texts = [pages[(t.id, e)].read_text() for e in (1, 2, 3)]
        assert len(set(texts)) == 3 and "onclick" in texts[0] and "nothing to click" in texts[1]
    assert json.loads((out / "t1" / SLUG / "generation.json").read_text())["epoch"] == 1

    # A rerun finds every epoch done; the response cache gives a new result folder the same pages, epoch by epoch.
    fake_llm.clear()
    again = _generate(data, out, env, "--epochs", "3")
    assert "0 done, 9 skipped" in again.stdout and fake_llm.requests == []
    copy = tmp_path / "copy"
    cached = _generate(data, copy, env, "--epochs", "3")
    assert "(9 from the response cache)" in cached.stdout and fake_llm.requests == []
    assert all(layout.page_path(copy, t, MODEL, epoch=e).read_text() == p.read_text() for (t, e), p in pages.items())

    # --force with --task redoes every epoch of that task only, from the model.
    kept = {k: p.stat().st_mtime_ns for k, p in pages.items() if k[0] != "t2"}
    before = {e: pages[("t2", e)].read_text() for e in (1, 2, 3)}
    forced = _generate(data, out, env, "--epochs", "3", "--task", "t2", "--force")
    assert forced.returncode == 0 and len(fake_llm.requests) == 3
    assert {task_of_request(r, tasks).id for r in fake_llm.requests} == {"t2"}
    assert all(pages[k].stat().st_mtime_ns == m for k, m in kept.items())
    assert all(pages[("t2", e)].read_text() != before[e] for e in (1, 2, 3))

    # --shard: only the shard's tasks, every epoch of each.
    fake_llm.clear()
    shard = next(s for s in ("1/2", "2/2") if select_tasks(tasks, shard=parse_shard(s)))
    chosen = {t.id for t in select_tasks(tasks, shard=parse_shard(shard))}
    sharded = tmp_path / "sharded"
    _generate(data, sharded, env, "--epochs", "2", "--shard", shard, "--no-cache")
    assert len(fake_llm.requests) == 2 * len(chosen)
    made = {(p.parent.name, p.name) for p in sharded.glob("*/*") if (p / "index.html").is_file()}
    assert made == {(tid, name) for tid in chosen for name in (SLUG, f"{SLUG}@epoch-2")}


def test_generate_epochs_resumes_after_a_kill(tiny, tmp_path, fake_llm):
    data, tasks = tiny
    fake_llm.set_responder(VaryingPages(tasks, answer_first=4))
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    out = tmp_path / "out"
    pages = _pages(out, tasks, 3)
    args = ("--data", str(data), "--result", str(out), "--model", MODEL, "--epochs", "3", "--workers", "1", "-q")

    def done() -> dict:
        return {k: p for k, p in pages.items() if (p.parent / "generation.json").is_file()}

    proc = _start("generate.py", *args, env=env)
    _wait_for(lambda: len(done()) >= 4, 120, proc)
    _interrupt(proc, signal.SIGKILL)
    finished = {k: (p.read_bytes(), p.stat().st_mtime_ns) for k, p in done().items()}
    assert len(finished) == 4

    fake_llm.clear()
    fake_llm.set_responder(VaryingPages(tasks))
    rerun = run_cli("generate.py", *args, env=env)
    assert_no_traceback(rerun)
    assert rerun.returncode == 0 and "5 done, 4 skipped" in rerun.stdout, rerun.stdout + rerun.stderr[-2000:]
    assert len(fake_llm.requests) == 5  # the finished epochs are never asked for again
    assert all(p.is_file() for p in pages.values())
    assert all((pages[k].read_bytes(), pages[k].stat().st_mtime_ns) == v for k, v in finished.items())


@pytest.mark.browser
def test_evaluate_every_epoch_and_the_interval_reflects_the_spread(tiny, tmp_path, fake_llm):
    data, tasks = tiny
    fake_llm.set_responder(VaryingPages(tasks))
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai)
    out = tmp_path / "out"
    assert _generate(data, out, env, "--epochs", "3", "--workers", "3").returncode == 0
    ev_args = ("--data", str(data), "--result", str(out), "--model", MODEL, "--no-visual", "-q")

    only_first = run_cli("evaluate.py", *ev_args, "--epochs", "1", env=env)
    assert only_first.returncode == 0, only_first.stderr[-3000:]
    evals = {(t.id, e): layout.eval_path(out, t.id, MODEL, None, epoch=e) for t in tasks for e in (1, 2, 3)}
    assert [k for k, p in evals.items() if p.is_file()] == [(t.id, 1) for t in tasks]

    every = run_cli("evaluate.py", *ev_args, env=env)  # finds epochs 2 and 3; epoch 1 is already done
    assert_no_traceback(every)
    assert every.returncode == 0, every.stderr[-3000:]
    assert f"{MODEL}: 0 scored, 3 already done" in every.stderr and f"{MODEL} epoch 3: 3 scored" in every.stderr
    ifs = {k: json.loads(p.read_text())["scores"]["IFS"] for k, p in evals.items()}
    for t in tasks:  # the page without a button cannot even be clicked: IFS 0 in epoch 2
        assert ifs[(t.id, 2)] == 0.0 and ifs[(t.id, 1)] > 0 and ifs[(t.id, 3)] > 0, ifs

    folder = out / "reports" / "offline"
    assert sorted(p.name for p in folder.glob("*.json") if p.name != "comparisons.json") == [f"{SLUG}.json"]
    rep = json.loads((folder / f"{SLUG}.json").read_text())
    assert rep["counts"]["epochs"] == 3 and rep["counts"]["evaluations"] == 9 and rep["complete"]
    groups = [[ifs[(t.id, e)] for e in (1, 2, 3)] for t in tasks]
    assert rep["mean"]["IFS"] == pytest.approx(stats.mean(groups), abs=1e-4)
    lo, hi = stats.bootstrap_ci(groups)
    assert rep["ci95"]["IFS"] == [round(lo, 4), round(hi, 4)] and hi - lo > 10  # the epochs' spread shows
    # Only the first epoch of each task: the interval is that of the three first epochs alone.
    firsts = [[g[0]] for g in groups]
    assert rep["ci95"]["IFS"] != [round(x, 4) for x in stats.bootstrap_ci(firsts)]
    rows = {r["task_id"]: r for r in rep["tasks"]}
    assert [e["IFS"] for e in rows["t1"]["per_epoch"]] == [ifs[("t1", e)] for e in (1, 2, 3)]
    manifest = json.loads((folder / "manifests" / f"{SLUG}.json").read_text())
    assert manifest["settings"]["epochs"] == 3
