"""The run over tasks: every task `epochs` times, a few at a time, each ending in its own record; then
the run's summary (done, skipped, failed, tokens, estimated cost) as generate.py prints it."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from iwrbench.data.tasks import Task
from iwrbench.generation.one_task import TaskOutcome, generate_task
from iwrbench.generation.settings import GenerationSettings
from iwrbench.models.builtin import BuiltinModel
from iwrbench.models.client import RemoteModel
from iwrbench.models.pricing import estimate_cost

log = logging.getLogger("iwrbench.generate")


@dataclass
class RunSummary:
    model: str
    epochs: int = 1
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (task id, error)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def summarize(model: RemoteModel | BuiltinModel, outcomes: list[TaskOutcome], seconds: float,
              epochs: int = 1) -> RunSummary:
    summary = RunSummary(model=model.name, epochs=epochs, seconds=round(seconds, 2))
    for o in outcomes:
        setattr(summary, o.status, getattr(summary, o.status) + 1)
        rec = o.record
        if rec is None:
            continue
        summary.cached += int(rec.cached)
        if not rec.cached:
            summary.input_tokens += rec.input_tokens or 0
            summary.output_tokens += rec.output_tokens or 0
        if o.status == "failed":
            summary.failures.append((o.label, f"[{rec.error_kind}] {rec.error}"))
    if isinstance(model, RemoteModel):
        summary.cost = estimate_cost(model.provider, model.model_id, summary.input_tokens, summary.output_tokens)
    return summary


def format_summary(s: RunSummary) -> str:
    per = f" ({s.epochs} epochs per task)" if s.epochs > 1 else ""
    lines = [f"generate {s.model}{per}: {s.done} done, {s.skipped} skipped, {s.failed} failed "
             f"in {s.seconds:.1f} s" + (f" ({s.cached} from the response cache)" if s.cached else "")]
    if s.input_tokens or s.output_tokens:
        cost = f", estimated cost ${s.cost:.2f} at list prices" if s.cost is not None else ", cost unknown"
        lines.append(f"  tokens: {s.input_tokens} in, {s.output_tokens} out{cost}")
    for task_id, error in s.failures[:20]:
        lines.append(f"  failed {task_id}: {error}")
    if len(s.failures) > 20:
        lines.append(f"  ... and {len(s.failures) - 20} more (see generation.json of each task)")
    return "\n".join(lines)


async def run_generation(tasks: list[Task], model: RemoteModel | BuiltinModel, settings: GenerationSettings,
                         result: Path, *, workers: int = 8,
                         on_done: Callable[[TaskOutcome], None] | None = None, epochs: int = 1) -> RunSummary:
    """Generate every task `epochs` times (epoch 1 of every task first, then epoch 2 ...), `workers` at a
    time; video decoding is limited to one task per CPU. Each (task, epoch) is done, skipped or retried
    on its own, so a rerun resumes whatever epoch was cut short."""
    start = time.monotonic()
    slots = asyncio.Semaphore(max(1, workers))
    decode_slots = asyncio.Semaphore(max(1, min(workers, os.cpu_count() or 1)))

    async def one(task: Task, epoch: int) -> TaskOutcome:
        async with slots:
            outcome = await generate_task(task, model, settings, Path(result), decode_slots=decode_slots,
                                          epoch=epoch)
        if outcome.status == "failed" and outcome.record is not None:
            log.warning("task %s failed: [%s] %s", outcome.label, outcome.record.error_kind, outcome.record.error)
        else:
            log.info("task %s %s", outcome.label, outcome.status)
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        outcomes = await asyncio.gather(*(one(t, e) for e in range(1, epochs + 1) for t in tasks))
    finally:
        await model.aclose()
    return summarize(model, list(outcomes), time.monotonic() - start, epochs)
