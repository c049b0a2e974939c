"""Checking the records a run wrote against the committed JSON Schemas (schemas/) and their models.

    assert_records_valid(result_root)   every generation.json, eval.json, trace.json, model report and run
                                        manifest under result_root matches its schema and loads as its model;
                                        returns how many files of each kind were checked
    assert_records_valid(root, current_only=True)   the same for the files of the current schema_version
                                        only (conftest checks every test's tmp_path so: a test may plant
                                        older or broken files on purpose)
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from iwrbench.records.schemas import SCHEMA_DIR, models

REPORT_MARK = "iwrbench-model-report"


@cache
def validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def kind_of(path: Path, data: Any) -> str | None:
    """Which record a JSON file under a result folder is, or None for other JSON."""
    if path.name in ("generation.json", "eval.json", "trace.json"):
        return path.stem
    if "reports" in path.parts and isinstance(data, dict):
        if data.get("report") == REPORT_MARK:
            return "report"
        if path.parent.name == "manifests" or path.name == "manifest.json":
            return "manifest"
    return None


def _current(kind: str, data: Any) -> bool:
    return isinstance(data, dict) and data.get("schema_version") == models()[kind].model_fields["schema_version"].default


def assert_records_valid(root: Path, *, current_only: bool = False) -> Counter:
    checked: Counter = Counter()
    problems: list[str] = []
    for path in sorted(Path(root).rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            if current_only:
                continue
            raise
        kind = kind_of(path, data)
        if kind is None or (current_only and not _current(kind, data)):
            continue
        checked[kind] += 1
        errors = sorted(validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))
        problems += [f"{path}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:3]]
        models()[kind].model_validate(data)  # the current version's model reads it as it is
    assert not problems, "\n".join(problems[:20])
    return checked
