"""Tasks in the published IWR-Bench format: typed records, loading with precise errors, selection.

A record's structural problems (bad JSON, wrong types) are fatal UserErrors that name file, line and
field. Problems with a task's files (missing video, missing checkpoints) are kept on the task as
`data_errors`, and actions the harness cannot replay (an unknown action type, a Select without its
option) as `replay_errors`: that task is recorded as a data error, the rest of the run goes on.
Published variants are read as their meaning: a null or missing logical_assertion (judged on execution
alone), a flag given as 0/1, "true"/"false" or null, a Press or Type without a description.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iwrbench.errors import UserError

ACTION_TYPES = ("Click", "Type", "Press", "Scroll", "DoubleClick", "Hover", "Select", "Drag")
ActionType = Literal["Click", "Type", "Press", "Scroll", "DoubleClick", "Hover", "Select", "Drag"]
# Spellings seen in recordings, folded to the canonical type: 'double_click', 'Double Click', 'dblclick'.
TYPE_ALIASES = {"dblclick": "DoubleClick", "doubletap": "DoubleClick", "mouseover": "Hover", "hoverover": "Hover",
                "selectoption": "Select", "choose": "Select", "draganddrop": "Drag", "dragdrop": "Drag",
                "keypress": "Press", "presskey": "Press", "input": "Type", "typetext": "Type", "tap": "Click"}
# The parameter each type needs beyond its description (Press and Type can do without one: it is made
# from the key or the text).
REQUIRED_PARAMETER = {"Type": "text", "Press": "key", "Select": "option", "Drag": "target"}
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
VIDEO_NAMES = ("video.mp4", "video.webm")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".ico"}


@dataclass(frozen=True)
class Classification:
    domain: str = ""
    sub_domain: str = ""
    visual_complexity: str = ""
    interaction_complexity: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One recorded user action. `index` is 1-based: the state after it is checkpoint k = index.

    `type` is one of ACTION_TYPES, or the record's own spelling of a type the harness cannot perform
    (then `supported` is False and the task is a data error at evaluation). `has_assertion` is False
    when the record gives no logical assertion: the step is judged on execution alone."""

    index: int
    type: str
    description: str
    logical_assertion: str
    visual_evaluation_flag: bool
    parameters: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    has_assertion: bool = True

    @property
    def supported(self) -> bool:
        return self.type in ACTION_TYPES

    @property
    def text(self) -> str | None:
        value = self.parameters.get("text")
        return None if value is None else str(value)

    @property
    def key(self) -> str | None:
        value = self.parameters.get("key")
        return None if value is None else str(value)

    @property
    def option(self) -> str | None:
        """The option a Select picks (its visible text or value)."""
        value = self.parameters.get("option", self.parameters.get("value"))
        return None if value is None else str(value)

    @property
    def target(self) -> str | None:
        """Where a Drag drops, in words ("the 'Done' column")."""
        value = self.parameters.get("target")
        return None if value is None else str(value)

    @property
    def direction(self) -> str:
        return str(self.parameters.get("direction") or "down").lower()

    @property
    def scroll_page(self) -> float:
        try:
            return float(self.parameters.get("scroll_page", 1.0))
        except (TypeError, ValueError):
            return 1.0


@dataclass
class Task:
    id: str
    source_website: str
    classification: Classification
    resolution: tuple[int, int]
    environment: str
    actions: list[Action]
    folder: Path
    source_file: Path
    source_line: int
    raw: dict[str, Any] = field(default_factory=dict)
    checkpoint_numbering: Literal["per-action", "dense-flagged", "missing"] = "per-action"
    checkpoints: dict[int, Path] = field(default_factory=dict)
    data_errors: list[str] = field(default_factory=list)
    # Problems that make the actions impossible to replay (an action type the harness cannot perform,
    # a Select without its option): evaluation records the task as a `data` error naming the field.
    replay_errors: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.resolution[0]

    @property
    def height(self) -> int:
        return self.resolution[1]

    @property
    def video(self) -> Path | None:
        for name in VIDEO_NAMES:
            if (self.folder / name).is_file():
                return self.folder / name
        return None

    @property
    def assets_dir(self) -> Path:
        return self.folder / "assets"

    def asset_files(self) -> list[Path]:
        if not self.assets_dir.is_dir():
            return []
        return sorted(p for p in self.assets_dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def contact_sheets(self) -> list[Path]:
        folder = self.folder / "stitched_assets"
        return sorted(folder.glob("stitched_image*.png")) if folder.is_dir() else []

    @property
    def reference_page(self) -> Path | None:
        """The task's own reference page (tasks made by utils/make_task.py ship one)."""
        page = self.folder / "reference" / "index.html"
        return page if page.is_file() else None

    def checkpoint(self, k: int) -> Path | None:
        """Ground-truth screenshot of the state after action k (0 = initial state), if the data has one."""
        return self.checkpoints.get(k)

    @property
    def where(self) -> str:
        return f"{self.source_file}:{self.source_line}"


# ---------------------------------------------------------------- parsing helpers


def _req(obj: dict, key: str, kind: type | tuple[type, ...], where: tuple[str, int], path: str) -> Any:
    if key not in obj:
        raise UserError("missing", file=where[0], line=where[1], field=path)
    value = obj[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool) and bool not in
                                       (kind if isinstance(kind, tuple) else (kind,))):
        names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise UserError(f"expected {names}, got {type(value).__name__}", file=where[0], line=where[1],
                        field=path)
    return value


def _parse_resolution(value: Any, where: tuple[str, int]) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", str(value))
    if not m:
        raise UserError(f"resolution {value!r} is not WxH (e.g. 1920x1080)", file=where[0], line=where[1],
                        field="recording_details.resolution")
    w, h = int(m.group(1)), int(m.group(2))
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise UserError(f"resolution {value!r} is out of range", file=where[0], line=where[1],
                        field="recording_details.resolution")
    return w, h


def canonical_type(kind: str) -> str | None:
    """'click' -> 'Click', 'double_click' -> 'DoubleClick'; None for a type the harness cannot perform."""
    key = re.sub(r"[\s_\-]+", "", kind).lower()
    return {t.lower(): t for t in ACTION_TYPES}.get(key) or TYPE_ALIASES.get(key)


def parse_flag(value: Any) -> bool | None:
    """visual_evaluation_flag as published: true/false, 0/1, "true"/"false", null (= not flagged)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _made_description(kind: str, params: dict[str, Any]) -> str:
    """A description for a Press or Type the record gives none: made from its key or text."""
    if kind == "Press" and params.get("key") not in (None, ""):
        return f"Press {params['key']}"
    if kind == "Type" and params.get("text") not in (None, ""):
        return f"Type '{params['text']}'"
    return ""


def _parse_action(i: int, obj: Any, where: tuple[str, int]) -> tuple[Action, str | None]:
    """The action, and why it cannot be replayed (None when it can). Structural faults raise."""
    path = f"action_sequence[{i - 1}]"
    if not isinstance(obj, dict):
        raise UserError(f"expected object, got {type(obj).__name__}", file=where[0], line=where[1], field=path)
    kind = _req(obj, "type", str, where, f"{path}.type")
    canon = canonical_type(kind)
    params = obj.get("parameters") or {}
    if not isinstance(params, dict):
        raise UserError(f"expected object, got {type(params).__name__}", file=where[0], line=where[1],
                        field=f"{path}.parameters")
    description = params.get("description", obj.get("description"))
    if description is None or (isinstance(description, str) and not description.strip()):
        description = _made_description(canon or "", params)
    if not isinstance(description, str) or not description.strip():
        raise UserError("missing or empty", file=where[0], line=where[1], field=f"{path}.parameters.description")
    assertion = obj.get("logical_assertion")
    if assertion is not None and not isinstance(assertion, str):
        raise UserError(f"expected str or null, got {type(assertion).__name__}", file=where[0], line=where[1],
                        field=f"{path}.logical_assertion")
    flag = parse_flag(obj.get("visual_evaluation_flag"))
    if flag is None:
        raise UserError(f"expected true/false (or 0/1, null), got {obj.get('visual_evaluation_flag')!r}",
                        file=where[0], line=where[1], field=f"{path}.visual_evaluation_flag")
    if canon == "Type" and params.get("text") is not None and not isinstance(params["text"], str | int | float):
        raise UserError("expected text", file=where[0], line=where[1], field=f"{path}.parameters.text")
    if canon == "Scroll":
        # null means "not given" (records may carry every parameter key, unused ones as null)
        direction = str(params.get("direction") or "down").lower()
        if direction not in {"up", "down", "left", "right"}:
            raise UserError(f"scroll direction {direction!r} is not up/down/left/right", file=where[0],
                            line=where[1], field=f"{path}.parameters.direction")
        try:
            float(1.0 if params.get("scroll_page") is None else params["scroll_page"])
        except (TypeError, ValueError):
            raise UserError(f"scroll_page {params.get('scroll_page')!r} is not a number", file=where[0],
                            line=where[1], field=f"{path}.parameters.scroll_page") from None
    problem = None
    if canon is None:
        problem = (f"{where[0]}:{where[1]}: {path}.type: the harness cannot perform action type {kind!r} "
                   f"(it performs {', '.join(ACTION_TYPES)})")
    elif canon in ("Select", "Drag"):
        need = REQUIRED_PARAMETER[canon]
        value = params.get(need, params.get("value") if canon == "Select" else None)
        if value is None or not str(value).strip():
            problem = f"{where[0]}:{where[1]}: {path}.parameters.{need}: a {canon} action needs its {need}"
    known = {"type", "parameters", "logical_assertion", "visual_evaluation_flag"}
    has_assertion = isinstance(assertion, str) and bool(assertion.strip())
    action = Action(index=i, type=canon or kind.strip(), description=description.strip(),
                    logical_assertion=assertion.strip() if has_assertion else "",
                    visual_evaluation_flag=flag, parameters=dict(params),
                    extra={k: v for k, v in obj.items() if k not in known}, has_assertion=has_assertion)
    return action, problem


def parse_record(obj: Any, *, file: Path, line: int, data_root: Path) -> Task:
    """Turn one decoded jsonl record into a Task (raises UserError naming file/line/field)."""
    where = (str(file), line)
    if not isinstance(obj, dict):
        raise UserError(f"expected a JSON object, got {type(obj).__name__}", file=where[0], line=line)
    if "id" not in obj:
        raise UserError("missing", file=where[0], line=line, field="id")
    raw_id = obj["id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        raise UserError(f"expected int or str, got {type(raw_id).__name__}", file=where[0], line=line, field="id")
    task_id = str(raw_id).strip()
    if not SAFE_ID.match(task_id) or ".." in task_id:
        raise UserError(f"id {raw_id!r} is not a plain name (letters, digits, _ . -)", file=where[0], line=line,
                        field="id")
    cls = obj.get("classification") or {}
    if not isinstance(cls, dict):
        raise UserError(f"expected object, got {type(cls).__name__}", file=where[0], line=line,
                        field="classification")
    cls_known = ("domain", "sub_domain", "visual_complexity", "interaction_complexity")
    classification = Classification(**{k: str(cls.get(k) or "") for k in cls_known},
                                    extra={k: v for k, v in cls.items() if k not in cls_known})
    details = obj.get("recording_details") or {}
    if not isinstance(details, dict):
        raise UserError(f"expected object, got {type(details).__name__}", file=where[0], line=line,
                        field="recording_details")
    resolution = _parse_resolution(details.get("resolution", "1920x1080"), where)
    seq = _req(obj, "action_sequence", list, where, "action_sequence")
    if not seq:
        raise UserError("is empty: a task needs at least one action", file=where[0], line=line,
                        field="action_sequence")
    parsed = [_parse_action(i, a, where) for i, a in enumerate(seq, start=1)]
    actions = [a for a, _ in parsed]
    source = obj.get("source_website", "")
    task = Task(id=task_id, source_website=str(source or ""), classification=classification,
                resolution=resolution, environment=str(details.get("environment") or ""), actions=actions,
                folder=data_root / task_id, source_file=file, source_line=line, raw=obj,
                replay_errors=[why for _, why in parsed if why])
    _attach_files(task)
    return task


def _attach_files(task: Task) -> None:
    """Check the task folder and map checkpoints. Problems become task.data_errors (one line each)."""
    where = task.where
    if not task.folder.is_dir():
        task.data_errors.append(f"{where}: task folder {task.folder} is missing")
        task.checkpoint_numbering = "missing"
        return
    if task.video is None:
        task.data_errors.append(f"{where}: no video.mp4 or video.webm in {task.folder}")
    elif task.video.stat().st_size == 0:
        task.data_errors.append(f"{where}: video {task.video} is empty")
    found: dict[int, Path] = {}
    cp_dir = task.folder / "checkpoints"
    if cp_dir.is_dir():
        for p in cp_dir.glob("step_*.png"):
            m = re.fullmatch(r"step_(\d+)\.png", p.name)
            if m:
                found[int(m.group(1))] = p
    n = len(task.actions)
    flagged = [a.index for a in task.actions if a.visual_evaluation_flag]
    if not found:
        task.data_errors.append(f"{where}: no checkpoints in {cp_dir}")
        task.checkpoint_numbering = "missing"
        return
    if 0 not in found:
        task.data_errors.append(f"{where}: checkpoint {cp_dir}/step_0.png (initial state) is missing")
    top = max(found)
    if top == n or all(k in found for k in flagged):
        # Per-action numbering: step_k is the state after action k. Missing unflagged steps are allowed.
        task.checkpoint_numbering = "per-action"
        task.checkpoints = found
        missing = [k for k in flagged if k not in found]
        if missing:
            task.data_errors.append(f"{where}: checkpoints for flagged actions {missing} are missing")
    elif top == len(flagged) and len(found) == len(flagged) + 1:
        # Dense numbering over flagged actions only: step_j is the state after the j-th flagged action.
        task.checkpoint_numbering = "dense-flagged"
        task.checkpoints = {0: found[0], **{flagged[j - 1]: found[j] for j in range(1, top + 1)}}
    else:
        task.checkpoint_numbering = "per-action"
        task.checkpoints = found
        task.data_errors.append(f"{where}: {len(found)} checkpoints fit neither {n + 1} (one per action) "
                                f"nor {len(flagged) + 1} (one per flagged action)")


def load_tasks(data_file: str | Path) -> list[Task]:
    """Load every task of a jsonl file. Task folders live in `<dir>/<stem>/<id>/`."""
    path = Path(data_file)
    if not path.is_file():
        raise UserError("data file not found", file=str(path))
    data_root = path.parent / path.stem
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UserError(f"not valid UTF-8 (byte {exc.start})", file=str(path), line=line) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors write: not part of the JSON
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=line_no) from None
        task = parse_record(obj, file=path, line=line_no, data_root=data_root)
        if task.id in seen:
            raise UserError(f"duplicate id {task.id!r} (first on line {seen[task.id]})", file=str(path),
                            line=line_no, field="id")
        seen[task.id] = line_no
        tasks.append(task)
    if not tasks:
        raise UserError("holds no tasks", file=str(path))
    return tasks


# ---------------------------------------------------------------- selection


def parse_task_ids(values: list[str] | None) -> list[str]:
    """`--task 3 --task 5,9` -> ['3', '5', '9'] (order kept, duplicates dropped)."""
    out: list[str] = []
    for value in values or []:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise UserError(f"--shard {value!r} must be K/N with 1 <= K <= N")
    return int(m.group(1)), int(m.group(2))


def shard_of(task_id: str, n: int) -> int:
    """Stable 1-based shard of a task: depends only on its id, so shards are disjoint and cover all."""
    return zlib.crc32(task_id.encode("utf-8")) % n + 1


def select_tasks(tasks: list[Task], *, ids: list[str] | None = None, limit: int | None = None,
                 shard: tuple[int, int] | None = None) -> list[Task]:
    """Apply --task, then --shard, then --limit. Unknown ids are a UserError, never silently dropped."""
    chosen = tasks
    wanted = parse_task_ids(ids)
    if wanted:
        by_id = {t.id: t for t in tasks}
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise UserError(f"--task: no task with id {', '.join(unknown)} in {tasks[0].source_file}")
        chosen = [by_id[i] for i in wanted]
    if shard:
        k, n = shard
        chosen = [t for t in chosen if shard_of(t.id, n) == k]
    if limit is not None:
        if limit < 0:
            raise UserError("--limit must be >= 0")
        chosen = chosen[:limit]
    return chosen
