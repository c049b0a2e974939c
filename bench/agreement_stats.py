"""Counting for bench/judge_agreement.py: evaluation results (eval.json) against labelled reconstructions.

Pure functions over plain dicts, so the counting and the attribution of each disagreement are tested on
a corpus a test writes by hand.

A labelled model either passes every step ("pass") or fails first at step L ("fail", first_fail L): then
steps 1..L-1 are expected to pass and step L to fail; later steps are not counted (after a failure the
replay may stop, or go on from a wrong state). A step is observed to pass when it was executed and its
assertion's verdict is "pass".
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SETTLE_CAP = 0.4  # the replay's settle cap in seconds, when the step does not say its own

CLASSES = ("locator: no element", "locator: ambiguous", "locator: wrong element", "action", "settle",
           "judge", "not reached", "evaluation error")


@dataclass
class StepRow:
    task: str
    model: str
    kind: str
    index: int
    expected: str            # "pass" | "fail"
    observed: str            # "pass" | "fail"
    cause: str | None = None  # set on a disagreement (one of CLASSES)
    reason: str = ""

    @property
    def agrees(self) -> bool:
        return self.expected == self.observed


@dataclass
class ModelRow:
    task: str
    model: str
    kind: str
    ifs: float | None
    expected_ifs: float
    first_fail_expected: int | None
    first_fail_observed: int | None
    error: str | None = None


@dataclass
class Tally:
    steps: list[StepRow] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)


def expected_verdicts(label: dict[str, Any], n: int) -> list[str]:
    """Expected verdict per counted step (index 1..)."""
    if label.get("expect") == "fail":
        first = int(label["first_fail"])
        return ["pass"] * (first - 1) + ["fail"]
    return ["pass"] * n


def expected_ifs(label: dict[str, Any], n: int) -> float:
    if label.get("expect") == "fail":
        return 100.0 * (int(label["first_fail"]) - 1) / n
    return 100.0


def observed(step: dict[str, Any]) -> str:
    verdict = (step.get("assertion") or {}).get("verdict")
    return "pass" if step.get("executed") and verdict == "pass" else "fail"


_QUOTED = re.compile(r'"([^"]*)"')
_TAG = re.compile(r"<(\w+)")


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "")).strip().lower()


def wrong_element(step: dict[str, Any], target: dict[str, Any] | None) -> bool:
    """Did the locator pick something other than the element the recording acted on? Boxes decide when
    the step has one; else the chosen element's text and tag are compared with the recorded target's."""
    loc = step.get("locator") or {}
    if not target or not loc or loc.get("method") in ("key", "scroll", "none", None):
        return False
    box, tbox = loc.get("box"), target.get("box")
    if box and tbox and len(box) == 4 and len(tbox) == 4:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        tx, ty = tbox[0] + tbox[2] / 2, tbox[1] + tbox[3] / 2
        inside = tbox[0] <= cx <= tbox[0] + tbox[2] and tbox[1] <= cy <= tbox[1] + tbox[3]
        contains = box[0] <= tx <= box[0] + box[2] and box[1] <= ty <= box[1] + box[3]
        return not (inside or contains)
    element = str(loc.get("element") or "")
    chosen = _norm(" ".join(_QUOTED.findall(element)))
    tag = (_TAG.findall(element) or [""])[0].lower()
    field = str(target.get("tag") or "").lower() in ("input", "textarea", "select")
    # A form field's text is its value (it changes as the steps go): fields are named by label and the like.
    keys = ("label", "placeholder", "name", "aria_label", "title") if field else \
        ("text", "aria_label", "title", "label", "placeholder", "name")
    names = [n for n in (_norm(target.get(k)) for k in keys) if n]
    if field and not names:
        return False  # nothing to tell one field from another without a box
    if chosen and names:
        return not any(chosen in n or n in chosen for n in names)
    return bool(tag) and tag != str(target.get("tag") or "").lower() and not chosen and not names


def settle_trouble(step: dict[str, Any], cap: float = DEFAULT_SETTLE_CAP) -> bool:
    """The step's settle hit its cap, or the page changed after its screenshot was taken."""
    settle = step.get("settle") if isinstance(step.get("settle"), dict) else {}
    if settle.get("capped") or settle.get("changed_after_capture"):
        return True
    took = (step.get("timings") or {}).get("settle")
    limit = settle.get("cap", cap)
    return took is not None and limit and float(took) >= 0.95 * float(limit)


def attribute(step: dict[str, Any], expected: str, target: dict[str, Any] | None,
              cap: float = DEFAULT_SETTLE_CAP) -> tuple[str, str]:
    """(class, reason) of a step whose verdict disagrees with its label."""
    assertion = step.get("assertion") or {}
    reason = str(step.get("error") or assertion.get("reason") or "")[:300]
    loc = step.get("locator") or {}
    if not step.get("executed"):
        if assertion.get("source") == "replay" and "not reached" in str(assertion.get("reason")):
            return "not reached", reason
        text = f"{step.get('error') or ''} {loc.get('reason') or ''}".lower()
        if "ambiguous" in text:
            return "locator: ambiguous", reason
        if "no element" in text:
            return "locator: no element", reason
        return "action", reason
    if expected == "pass" and wrong_element(step, target):
        return "locator: wrong element", f"picked {loc.get('element')!r}; recorded {target.get('text')!r} " \
                                         f"<{target.get('tag')}>; {reason}"[:300]
    if settle_trouble(step, cap):
        return "settle", f"settle {((step.get('timings') or {}).get('settle'))} s; {reason}"[:300]
    return "judge", reason


def first_fail(steps: list[dict[str, Any]]) -> int | None:
    for k, s in enumerate(steps, start=1):
        if observed(s) == "fail":
            return k
    return None


def tally(labels: dict[str, Any], evals: dict[tuple[str, str], dict[str, Any] | None],
          targets: dict[str, list[dict[str, Any] | None]], cap: float = DEFAULT_SETTLE_CAP) -> Tally:
    """Compare every labelled (task, model) with its eval.json (None: not evaluated or unreadable)."""
    out = Tally()
    for tid, task in sorted(labels.get("tasks", {}).items()):
        n = int(task["steps"])
        for model, label in sorted(task["models"].items()):
            kind = label.get("kind", "?")
            exp = expected_verdicts(label, n)
            ev = evals.get((tid, model))
            first_exp = int(label["first_fail"]) if label.get("expect") == "fail" else None
            if ev is None or ev.get("status") not in (None, "scored"):
                why = "no eval.json" if ev is None else f"{ev.get('error_kind')}: {ev.get('error')}"
                out.models.append(ModelRow(tid, model, kind, None, expected_ifs(label, n), first_exp, None, why))
                for k, e in enumerate(exp, start=1):
                    out.steps.append(StepRow(tid, model, kind, k, e, "fail",
                                             None if e == "fail" else "evaluation error", why[:300]))
                continue
            steps = ev.get("steps") or []
            ifs = (ev.get("scores") or {}).get("IFS")
            out.models.append(ModelRow(tid, model, kind, ifs, expected_ifs(label, n), first_exp, first_fail(steps)))
            task_targets = targets.get(tid) or []
            for k, e in enumerate(exp, start=1):
                step = steps[k - 1] if k - 1 < len(steps) else {}
                row = StepRow(tid, model, kind, k, e, observed(step))
                if not row.agrees:
                    target = task_targets[k - 1] if k - 1 < len(task_targets) else None
                    row.cause, row.reason = attribute(step, e, target, cap)
                out.steps.append(row)
    return out


def confusion(rows: list[StepRow]) -> dict[str, int]:
    c = Counter(f"{r.expected}->{r.observed}" for r in rows)
    return {k: c.get(k, 0) for k in ("pass->pass", "pass->fail", "fail->pass", "fail->fail")}


def agreement(rows: list[StepRow]) -> float | None:
    return 100.0 * sum(r.agrees for r in rows) / len(rows) if rows else None


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def by_kind(t: Tally) -> dict[str, dict[str, Any]]:
    """Mean IFS (observed and expected) and step agreement per kind of reconstruction."""
    groups: dict[str, list[ModelRow]] = defaultdict(list)
    for m in t.models:
        groups[m.kind].append(m)
    out = {}
    for kind, rows in sorted(groups.items()):
        steps = [s for s in t.steps if s.kind == kind]
        out[kind] = {"n": len(rows), "IFS": mean([r.ifs or 0.0 for r in rows]),
                     "expected_IFS": mean([r.expected_ifs for r in rows]), "agreement": agreement(steps),
                     "below_80": sum((r.ifs or 0.0) < 80 for r in rows)}
    return out


def first_fail_accuracy(t: Tally) -> tuple[int, int]:
    broken = [m for m in t.models if m.first_fail_expected is not None]
    return sum(m.first_fail_observed == m.first_fail_expected for m in broken), len(broken)


def ifs_error_by_task(t: Tally) -> dict[str, dict[str, Any]]:
    """Per task: observed minus expected IFS of every model, and the mean absolute error."""
    out: dict[str, dict[str, Any]] = {}
    for m in t.models:
        row = out.setdefault(m.task, {"models": {}, "mae": None})
        row["models"][m.model] = {"IFS": m.ifs, "expected": round(m.expected_ifs, 2),
                                  "error": None if m.ifs is None else round(m.ifs - m.expected_ifs, 2)}
    for row in out.values():
        errs = [abs(v["error"]) if v["error"] is not None else 100.0 for v in row["models"].values()]
        row["mae"] = mean(errs)
    return out


def causes(t: Tally) -> dict[str, int]:
    c = Counter(s.cause for s in t.steps if not s.agrees and s.cause)
    return {k: c[k] for k in CLASSES if c.get(k)}


def same_verdict_share(a: dict[tuple[str, str], dict[str, Any] | None],
                       b: dict[tuple[str, str], dict[str, Any] | None]) -> tuple[int, int]:
    """(steps with the same observed verdict in both runs, steps compared): every step of every model."""
    same = total = 0
    for key in sorted(set(a) | set(b)):
        sa = (a.get(key) or {}).get("steps") or []
        sb = (b.get(key) or {}).get("steps") or []
        for k in range(max(len(sa), len(sb))):
            total += 1
            va = observed(sa[k]) if k < len(sa) else "missing"
            vb = observed(sb[k]) if k < len(sb) else "missing"
            same += va == vb
    return same, total


def by_split(t: Tally, split_of: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The headline figures per split of the corpus: the tasks the harness was tuned on, and the held-out
    tasks written and frozen before any measurement on them (their figures are the honest estimate)."""
    out: dict[str, dict[str, Any]] = {}
    for split in sorted(set(split_of.get(m.task, "tuning") for m in t.models)):
        tasks = {m.task for m in t.models if split_of.get(m.task, "tuning") == split}
        part = Tally([s for s in t.steps if s.task in tasks], [m for m in t.models if m.task in tasks])
        ok, nb = first_fail_accuracy(part)
        correct = [m.ifs or 0.0 for m in part.models if m.first_fail_expected is None]
        out[split] = {"tasks": len(tasks), "steps": len(part.steps), "agreement": agreement(part.steps),
                      "first_fail": {"right": ok, "of": nb}, "correct_pages_IFS": mean(correct)}
    return out
