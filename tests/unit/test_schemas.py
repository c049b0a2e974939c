"""Records: the committed JSON Schemas are those the models generate; files written before schema_version
existed (tests/legacy_records/, written by the harness as it was) still load, every field they carry
declared; a current record with an undeclared field is refused; open notes go to `details`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from iwrbench.records.base import EVAL_SCHEMA_VERSION, LEGACY_VERSION, parse_record
from iwrbench.records.evaluation import EvalRecord, LocatorInfo, SandboxRecord
from iwrbench.records.generation import GenerationRecord
from iwrbench.records.manifest import Manifest
from iwrbench.records.report import ModelReport
from iwrbench.records.schemas import SCHEMA_DIR, models, schema_text
from iwrbench.report.build import build_reports
from tests.schema_check import assert_records_valid

LEGACY = Path(__file__).resolve().parents[1] / "legacy_records"


def _legacy(name: str) -> dict:
    return json.loads((LEGACY / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(models()))
def test_committed_schemas_are_current(kind):
    committed = (SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), f"schemas/{kind}.schema.json is stale: run python -m iwrbench.records.schemas"


@pytest.mark.parametrize(("name", "model"), [("generation_remote.json", GenerationRecord),
                                             ("generation_builtin.json", GenerationRecord),
                                             ("eval.json", EvalRecord), ("manifest.json", Manifest),
                                             ("report.json", ModelReport)])
def test_files_written_before_schema_version_load_with_every_field_declared(name, model):
    data = _legacy(name)
    assert "schema_version" not in data
    rec = parse_record(model, data)
    assert rec.schema_version == LEGACY_VERSION
    assert rec.details == {}, f"{name}: fields the old harness wrote that no model declares: {rec.details}"
    if isinstance(rec, EvalRecord):
        assert all(s.locator.details == {} for s in rec.steps) and rec.sandbox.details == {}
        assert rec.scores.IFS == 100.0 and rec.steps[0].locator.alternatives
        assert rec.steps[0].assertion.verdict == "pass"


def test_an_unknown_field_of_an_old_file_is_kept_in_details_and_the_report_reads_it(tmp_path):
    data = _legacy("eval.json")
    data["from_a_fork"] = {"x": 1}
    data["steps"][0]["locator"]["wiggle"] = True
    old = parse_record(EvalRecord, data)
    assert old.details == {"from_a_fork": {"x": 1}} and old.steps[0].locator.details == {"wiggle": True}
    # an old eval.json among new ones is reported like any other
    page = tmp_path / "out" / "2" / "builtin__oracle"
    (page / "eval" / "offline").mkdir(parents=True)
    (page / "eval" / "offline" / "eval.json").write_text(json.dumps(data))
    shutil.copy(LEGACY / "generation_builtin.json", page / "generation.json")
    build_reports(tmp_path / "out", None)
    report = json.loads((tmp_path / "out" / "reports" / "offline" / "builtin__oracle.json").read_text())
    assert report["mean"]["final"] == 100.0 and report["counts"]["scored"] == 1
    assert report["schema_version"] == ModelReport.model_fields["schema_version"].default
    assert_records_valid(tmp_path / "out" / "reports")


def test_a_current_record_refuses_an_undeclared_field():
    data = {**_legacy("eval.json"), "schema_version": EVAL_SCHEMA_VERSION, "surprise": 1}
    with pytest.raises(ValidationError, match="surprise"):
        parse_record(EvalRecord, data)
    with pytest.raises(ValidationError):
        GenerationRecord(task_id="1", model="m", provider="p", status="done", surprise=1)
    rec = GenerationRecord(task_id="1", model="m", provider="p", status="done")
    with pytest.raises(ValidationError):
        rec.surprise = 1  # assignment is checked too: no field appears on disk undeclared


def test_open_notes_of_the_locator_and_the_sandbox_go_to_details():
    info = LocatorInfo(method="offline", option="l", a_new_note=3)
    assert info.option == "l" and info.details == {"a_new_note": 3}
    again = LocatorInfo(**{**info.model_dump(), "another": "x"})
    assert again.details == {"a_new_note": 3, "another": "x"}
    sandbox = SandboxRecord(blocked_requests=2, a_new_count=1)
    assert sandbox.blocked_requests == 2 and sandbox.details == {"a_new_count": 1}
