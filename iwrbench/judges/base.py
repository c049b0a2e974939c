"""What every assertion judge offers, and the verdicts shared by all of them.

A judge reads one replayed step (the page before and after the action) and says whether the action's
logical assertion holds: pass, fail, undecided (the evidence is too thin to say) or error (the judge
itself broke: infrastructure, never a pass and never the model's failure). `source` names the judge.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from iwrbench.data.tasks import Action, Task
from iwrbench.models.llm_json import short
from iwrbench.records.base import VerdictValue
from iwrbench.records.evaluation import Verdict
from iwrbench.replay.states import ReplayStep

OFFLINE_SOURCE = "offline"
REPLAY_SOURCE = "replay"
EXECUTION_SOURCE = "execution"  # a step the data gives no assertion for: it holds when it was performed
NOT_PERFORMED_REASON = 500  # characters of the reason a step was not performed


@runtime_checkable
class AssertionJudge(Protocol):
    source: str  # "offline" or the judge model's name

    async def judge(self, task: Task, step: ReplayStep) -> Verdict: ...


def verdict(value: VerdictValue, source: str, reason: str) -> Verdict:
    return Verdict(verdict=value, source=source, reason=short(reason, 300))


def action_of(task: Task, step: ReplayStep) -> Action:
    """The dataset action a replayed step performed (1-based index)."""
    index = step.record.index
    if not 1 <= index <= len(task.actions):
        raise ValueError(f"task {task.id}: step index {index} is outside 1..{len(task.actions)}")
    return task.actions[index - 1]


def not_executed(step: ReplayStep) -> Verdict | None:
    """The verdict for a step the replay could not perform (why: the replay's error for it, or why it was
    never tried), or None when there is something to judge."""
    if step.record.executed and step.after is not None:
        return None
    why = step.record.error or step.record.not_reached or "the action could not be performed"
    return Verdict(verdict="fail", source=REPLAY_SOURCE, reason=f"not performed: {why}"[:NOT_PERFORMED_REASON])
