"""What every record shares: the base models and how a file is read. Records are written to disk as
generation.json, trace.json and eval.json. The field names are the output
contract (design.md); every field is declared, and each file carries its `schema_version`.

- A record of the current version accepts no undeclared field (a typo or an undeclared addition is an
  error, caught by the tests that validate every file the suite writes against `schemas/`).
- Open-ended facts go into a typed `details` map: the locator's and the sandbox's notes, whose keys grow
  with the replay (`LocatorInfo`, `SandboxRecord` sort undeclared keys there, so a new note never breaks
  a run), and, in a file written before `schema_version` existed, every field this version does not
  declare: such files still load (`parse_record`), nothing in them is lost.

The report JSON's and the run manifest's models are records/report.py and records/manifest.py.
"""

from __future__ import annotations

import os
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, model_validator

VerdictValue = Literal["pass", "fail", "undecided", "error"]
TaskStatus = Literal["scored", "error"]
# Why a task could not be scored normally. `no_page` still scores 0 (the model's fault);
# `infrastructure` and `data` are not scored and are listed as errors.
ErrorKind = Literal["no_page", "infrastructure", "data"]
Details = dict[str, JsonValue]

# Files written before schema_version existed load as version 1.
LEGACY_VERSION = 1
GENERATION_SCHEMA_VERSION = 2
EVAL_SCHEMA_VERSION = 2
TRACE_SCHEMA_VERSION = 1
LEGACY = "legacy"  # validation context key: the file predates schema_version


def _is_legacy(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(LEGACY))


class Record(BaseModel):
    """Every field declared. In a legacy file, undeclared keys go to `details` where the model has one
    (else they are dropped: nested parts of old files had none worth keeping)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _legacy_extras(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not _is_legacy(info):
            return data
        return _sort_undeclared(cls, data)


def _sort_undeclared(cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its undeclared keys moved into `details` (kept only when the model has that field)."""
    fields = cls.model_fields
    extra = {k: v for k, v in data.items() if k not in fields}
    if not extra:
        return data
    out = {k: v for k, v in data.items() if k in fields}
    if "details" in fields:
        out["details"] = {**(data.get("details") or {}), **extra}
    return out


class OpenRecord(Record):
    """A part whose producer adds notes as it learns (the locator, the sandbox): keys this version does
    not declare are kept in `details`, so a new note never fails a run."""

    details: Details = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _open_extras(cls, data: Any) -> Any:
        return _sort_undeclared(cls, data) if isinstance(data, dict) else data


class VersionedRecord(Record):
    """A whole file. `details`: facts this version has no field for (a legacy file's extras)."""

    schema_version: int
    details: Details = Field(default_factory=dict)


R = TypeVar("R", bound=VersionedRecord)


def parse_record(cls: type[R], data: Any) -> R:
    """Validate a file's JSON as `cls`: a file without `schema_version` (written before it existed) loads
    as version 1, its undeclared fields kept in `details`. Raises pydantic.ValidationError."""
    if isinstance(data, dict) and "schema_version" not in data:
        return cls.model_validate({**data, "schema_version": LEGACY_VERSION}, context={LEGACY: True})
    return cls.model_validate(data)


def read_record(cls: type[R], path: str | os.PathLike) -> R | None:
    """The record in the file at `path`, or None when the file is missing, unreadable or not a `cls`."""
    from pydantic import ValidationError

    from iwrbench.fsutil import read_json

    data = read_json(path)
    if data is None:
        return None
    try:
        return parse_record(cls, data)
    except ValidationError:
        return None
