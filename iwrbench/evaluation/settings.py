"""What an evaluation run is asked to do (EvalSettings: judge, agent, caps, variant) and what it reports
back per task (TaskOutcome, RunSummary). Apart from run.py so that the parts it builds
(parts.py) and the rejudge read them without importing the evaluator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from iwrbench import layout
from iwrbench.data.tasks import Task
from iwrbench.records.evaluation import EvalRecord

# Tasks a worker may have judging behind its replay. One was not enough: a task whose steps need OCR
# (seconds of it) held up the next-but-one task's replay until that OCR was done. A few more let the
# replay go on while the judging, at its lower priority, takes the CPU the replay leaves idle; each
# task's hard cap still covers its judging, and the run ends when the last judging ends.
JUDGED_BEHIND = 3
STEP_TIMEOUT = 10.0  # seconds one browser action may take (evaluate.py --step-timeout)
LOAD_TIMEOUT = 15.0  # seconds the page may take to load
TASK_BASE_SECONDS = 60.0  # a task's hard cap: this, plus per action a few step timeouts ...
STEP_TIMEOUTS_PER_ACTION = 2  # ... two with the offline judges,
STEP_TIMEOUTS_PER_ACTION_WITH_MODELS = 3  # three when a model picks elements or judges


@dataclass
class EvalSettings:
    judge: str | None = None  # judge model name (assertions, rubric); None = the offline judges
    agent: str | None = None  # model that picks elements: None = the judge model, "offline" = the offline locator
    workers: int = 2
    force: bool = False
    visual: bool = True  # visual scoring on (off only for benchmarking the replay)
    image_metric: str = "ssim"  # ssim | dinov2
    step_timeout: float = STEP_TIMEOUT
    load_timeout: float = LOAD_TIMEOUT
    task_timeout: float | None = None  # hard cap per task; default scales with the number of actions
    variant: tuple[str, ...] = ()  # run-slug tags of the pages (layout.variant_tags), e.g. ("video",)
    browsers: int | None = None  # Chromiums the workers share; None = browser_share.default_browsers(workers)
    judge_concurrency: int | None = None  # model calls in flight at most; None = models.gate.DEFAULT_LIMIT

    @property
    def agent_model(self) -> str | None:
        """The model that picks elements, or None for the offline locator."""
        if self.agent is None:
            return self.judge
        return None if self.agent == layout.OFFLINE_JUDGE else self.agent

    @property
    def folder(self) -> str:
        """The judge folder's name: `offline`, the judge's slug, or `<judge>+agent-<agent>`."""
        return layout.evaluator_slug(self.judge, self.agent_model)

    def page_dir(self, result: Path, task_id: str, model: str, epoch: int = 1) -> Path:
        return layout.page_dir(result, task_id, model, self.variant, epoch)

    def eval_dir(self, result: Path, task_id: str, model: str, epoch: int = 1) -> Path:
        return layout.eval_dir(result, task_id, model, self.judge, self.variant, epoch, agent=self.agent_model)

    def task_cap(self, task: Task) -> float:
        """The hard cap on one task, replay and judging (--task-timeout, else scaled with its actions).

        The default is a last guard against a task stuck in the harness (each step has its own timeouts).
        It counts wall time, which includes waiting for the CPU and for the one OCR thread that every task
        in flight shares: up to `workers` replaying and JUDGED_BEHIND more judging behind each. So it
        grows with the tasks in flight per core; else many workers on few cores cut tasks that were only
        waiting their turn (16 workers on 2 cores: 6 of 16 tasks, measured with bench/scale.py)."""
        if self.task_timeout:
            return self.task_timeout
        per_action = STEP_TIMEOUTS_PER_ACTION_WITH_MODELS if self.judge or self.agent_model \
            else STEP_TIMEOUTS_PER_ACTION
        base = TASK_BASE_SECONDS + len(task.actions) * per_action * self.step_timeout
        return base * max(1.0, self.workers * (1 + JUDGED_BEHIND) / (os.cpu_count() or 1))


@dataclass
class TaskOutcome:
    task_id: str
    status: str  # scored | error | skipped
    record: EvalRecord | None = None
    message: str = ""


@dataclass
class RunSummary:
    outcomes: list[TaskOutcome] = field(default_factory=list)
    seconds: float = 0.0
    model_calls: str | None = None  # evaluation_parts.EvalParts.gate_summary()
    ocr: str | None = None  # evaluation_parts.EvalParts.ocr_summary()

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)
