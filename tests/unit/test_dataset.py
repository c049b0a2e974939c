"""Loading, validation and selection of tasks (iwrbench/data/tasks.py) on small jsonl files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from iwrbench.data.tasks import load_tasks, parse_shard, parse_task_ids, select_tasks, shard_of
from iwrbench.errors import UserError
from tests.fixtures_data import data_record, write_task_folder
from utils.fetch_dataset import convert_snapshot


def _error(path) -> UserError:
    with pytest.raises(UserError) as info:
        load_tasks(path)
    return info.value


def test_valid_file_loads_with_fields(data_jsonl):
    path = data_jsonl([data_record(7, 3)], folders={"7": [0, 1, 2, 3]})
    (task,) = load_tasks(path)
    assert task.id == "7" and task.resolution == (1280, 720) and len(task.actions) == 3
    assert task.actions[0].index == 1 and task.actions[0].type == "Click"
    assert task.classification.domain == "Testing"
    assert task.checkpoint_numbering == "per-action" and sorted(task.checkpoints) == [0, 1, 2, 3]
    assert task.data_errors == []
    assert task.folder == path.parent / "tiny" / "7"


def test_malformed_json_names_file_and_line(data_jsonl):
    path = data_jsonl([data_record(1), "", '{"id": 2, "action_sequence": [', data_record(3)])
    err = _error(path)
    assert err.file == str(path) and err.line == 3
    assert str(path) in str(err) and ":3:" in str(err) and "invalid JSON" in str(err)
    assert "\n" not in str(err)


def test_missing_id(data_jsonl):
    rec = data_record(1)
    del rec["id"]
    err = _error(data_jsonl([rec]))
    assert err.line == 1 and err.field == "id" and "missing" in str(err)


def test_an_action_type_the_harness_cannot_perform_is_that_tasks_replay_error(data_jsonl):
    rec = data_record(1, 3)
    rec["action_sequence"][1]["type"] = "Teleport"
    good, bad = load_tasks(data_jsonl([data_record(0), rec]))
    assert good.replay_errors == []
    (why,) = bad.replay_errors
    assert ":2: action_sequence[1].type" in why and "'Teleport'" in why
    assert bad.actions[1].type == "Teleport" and not bad.actions[1].supported


@pytest.mark.parametrize("spelling,canon", [("DoubleClick", "DoubleClick"), ("double_click", "DoubleClick"),
                                            ("Double Click", "DoubleClick"), ("dblclick", "DoubleClick"),
                                            ("hover", "Hover"), ("Drag", "Drag"), ("select", "Select")])
def test_new_action_types_and_their_spellings_load(data_jsonl, spelling, canon):
    rec = data_record(1, 1)
    rec["action_sequence"][0]["type"] = spelling
    rec["action_sequence"][0]["parameters"].update(option="Large", target="the 'Done' column")
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.actions[0].type == canon and task.replay_errors == []


@pytest.mark.parametrize("kind,param", [("Select", "option"), ("Drag", "target")])
def test_select_and_drag_without_their_parameter_are_replay_errors(data_jsonl, kind, param):
    rec = data_record(1, 2)
    rec["action_sequence"][1]["type"] = kind
    (task,) = load_tasks(data_jsonl([rec]))
    assert len(task.replay_errors) == 1 and f"action_sequence[1].parameters.{param}" in task.replay_errors[0]
    rec["action_sequence"][1]["parameters"][param] = "Blue"
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.replay_errors == [] and getattr(task.actions[1], param) == "Blue"


@pytest.mark.parametrize("flag,meaning", [(1, True), (0, False), ("true", True), ("false", False), ("True", True),
                                          (None, False), (True, True)])
def test_published_flag_spellings(data_jsonl, flag, meaning):
    rec = data_record(1, 1)
    rec["action_sequence"][0]["visual_evaluation_flag"] = flag
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.actions[0].visual_evaluation_flag is meaning


def test_missing_or_null_assertion_is_judged_on_execution_alone(data_jsonl):
    rec = data_record(1, 2)
    rec["action_sequence"][0]["logical_assertion"] = None
    del rec["action_sequence"][1]["logical_assertion"]
    (task,) = load_tasks(data_jsonl([rec]))
    assert [a.has_assertion for a in task.actions] == [False, False]
    assert task.actions[0].logical_assertion == ""


def test_press_and_type_without_description_get_one_from_key_or_text(data_jsonl):
    rec = data_record(1, 2)
    rec["action_sequence"][0] = {"type": "Press", "parameters": {"key": "Enter"}, "logical_assertion": "x",
                                 "visual_evaluation_flag": 1}
    rec["action_sequence"][1] = {"type": "Type", "parameters": {"text": "milk", "description": None},
                                 "logical_assertion": "x", "visual_evaluation_flag": 0}
    (task,) = load_tasks(data_jsonl([rec]))
    assert [a.description for a in task.actions] == ["Press Enter", "Type 'milk'"]
    rec["action_sequence"][0] = {"type": "Click", "parameters": {}, "logical_assertion": "x"}
    err = _error(data_jsonl([rec]))
    assert err.field == "action_sequence[0].parameters.description"


def test_action_type_case_is_forgiven(data_jsonl):
    rec = data_record(1, 1)
    rec["action_sequence"][0]["type"] = "click"
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.actions[0].type == "Click"


@pytest.mark.parametrize("resolution", ["1280", "1280*720", "wide", "12x7", "99999x720", ""])
def test_resolution_not_wxh(data_jsonl, resolution):
    rec = data_record(1, recording_details={"resolution": resolution})
    err = _error(data_jsonl([rec]))
    assert err.field == "recording_details.resolution"


def test_resolution_variants_accepted(data_jsonl):
    recs = [data_record(1, recording_details={"resolution": "1920X1080"}),
            data_record(2, recording_details={"resolution": " 1280 x 720 "})]
    assert [t.resolution for t in load_tasks(data_jsonl(recs))] == [(1920, 1080), (1280, 720)]


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda r: r.update(action_sequence={"type": "Click"}), "action_sequence"),
    (lambda r: r.update(action_sequence=[]), "action_sequence"),
    (lambda r: r.update(classification=["E-commerce"]), "classification"),
    (lambda r: r.update(recording_details="1280x720"), "recording_details"),
    (lambda r: r.update(id=1.5), "id"),
    (lambda r: r.update(id=True), "id"),
    (lambda r: r["action_sequence"][0].update(visual_evaluation_flag="yes"), "action_sequence[0].visual_evaluation_flag"),
    (lambda r: r["action_sequence"][0].update(parameters=["x"]), "action_sequence[0].parameters"),
    (lambda r: r["action_sequence"][0].update(logical_assertion=5), "action_sequence[0].logical_assertion"),
    (lambda r: r["action_sequence"][0]["parameters"].update(description=""), "action_sequence[0].parameters.description"),
    (lambda r: r["action_sequence"].append("Click"), "action_sequence[2]"),
])
def test_wrong_types_name_the_field(data_jsonl, mutate, field):
    rec = data_record(1, 2)
    mutate(rec)
    err = _error(data_jsonl([rec]))
    assert err.field == field and err.line == 1


def test_scroll_parameters_checked(data_jsonl):
    rec = data_record(1, 1)
    rec["action_sequence"][0] = {"type": "Scroll", "parameters": {"description": "Scroll", "direction": "sideways"}}
    assert _error(data_jsonl([rec])).field == "action_sequence[0].parameters.direction"
    rec["action_sequence"][0]["parameters"] = {"description": "Scroll", "scroll_page": "lots"}
    assert _error(data_jsonl([rec])).field == "action_sequence[0].parameters.scroll_page"


@pytest.mark.parametrize("bad_id", ["../../etc", "/etc/passwd", "a/b", "..", ".hidden", "a b", ""])
def test_id_that_is_a_path_is_rejected(data_jsonl, bad_id):
    err = _error(data_jsonl([data_record(bad_id)]))
    assert err.field == "id"


def test_duplicate_ids(data_jsonl):
    err = _error(data_jsonl([data_record(4), data_record(5), data_record("4")]))
    assert err.line == 3 and "duplicate" in str(err) and "line 1" in str(err)


def test_empty_file_is_an_error(data_jsonl):
    assert "no tasks" in str(_error(data_jsonl(["", "  "])))


def test_missing_file_is_an_error(tmp_path):
    assert "not found" in str(_error(tmp_path / "nope.jsonl"))


def test_unknown_extra_fields_are_kept(data_jsonl):
    rec = data_record(1, 1, difficulty="hard", notes={"by": "x"})
    rec["classification"]["language"] = "en"
    rec["action_sequence"][0]["timestamp"] = 12.5
    rec["action_sequence"][0]["parameters"]["coordinates"] = [10, 20]
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.raw["difficulty"] == "hard" and task.raw["notes"] == {"by": "x"}
    assert task.classification.extra == {"language": "en"}
    assert task.actions[0].extra == {"timestamp": 12.5}
    assert task.actions[0].parameters["coordinates"] == [10, 20]


def test_missing_task_folder_is_a_data_error(data_jsonl):
    (task,) = load_tasks(data_jsonl([data_record(9)]))
    assert task.checkpoint_numbering == "missing"
    assert len(task.data_errors) == 1 and "folder" in task.data_errors[0] and ":1:" in task.data_errors[0]


def test_missing_checkpoints_and_video_are_data_errors(data_jsonl, tmp_path):
    path = data_jsonl([data_record(1, 2)], folders={"1": []})
    (tmp_path / "tiny" / "1" / "video.mp4").unlink()
    (task,) = load_tasks(path)
    assert task.checkpoint_numbering == "missing"
    assert any("video" in e for e in task.data_errors) and any("checkpoints" in e for e in task.data_errors)


def test_missing_flagged_checkpoint_is_a_data_error(data_jsonl):
    (task,) = load_tasks(data_jsonl([data_record(1, 3)], folders={"1": [0, 1, 3]}))
    assert task.checkpoint_numbering == "per-action"
    assert task.checkpoint(2) is None and task.checkpoint(3) is not None
    assert any("[2]" in e for e in task.data_errors)


def test_unflagged_steps_may_lack_checkpoints(data_jsonl):
    rec = data_record(1, 3)
    rec["action_sequence"][1]["visual_evaluation_flag"] = False
    (task,) = load_tasks(data_jsonl([rec], folders={"1": [0, 1, 3]}))
    assert task.checkpoint_numbering == "per-action" and task.data_errors == []


def test_dense_checkpoint_numbering_over_flagged_actions(data_jsonl, tmp_path):
    rec = data_record(1, 5)
    for i in (1, 3):  # actions 2 and 4 unflagged: flagged are 1, 3, 5
        rec["action_sequence"][i]["visual_evaluation_flag"] = False
    path = data_jsonl([rec], folders={"1": [0, 1, 2, 3]})
    (task,) = load_tasks(path)
    cp = tmp_path / "tiny" / "1" / "checkpoints"
    assert task.checkpoint_numbering == "dense-flagged" and task.data_errors == []
    assert task.checkpoint(0) == cp / "step_0.png"
    assert task.checkpoint(1) == cp / "step_1.png"
    assert task.checkpoint(3) == cp / "step_2.png"
    assert task.checkpoint(5) == cp / "step_3.png"
    assert task.checkpoint(2) is None and task.checkpoint(4) is None


def test_checkpoint_count_fitting_nothing_is_a_data_error(data_jsonl):
    rec = data_record(1, 5)
    for i in (1, 3):
        rec["action_sequence"][i]["visual_evaluation_flag"] = False
    (task,) = load_tasks(data_jsonl([rec], folders={"1": [0, 1]}))
    assert any("fit neither" in e for e in task.data_errors)


# ---------------------------------------------------------------- selection


@pytest.fixture
def twenty(data_jsonl):
    return load_tasks(data_jsonl([data_record(i, 1) for i in range(1, 21)]))


def test_task_ids_repeatable_and_comma(twenty):
    assert parse_task_ids(["3", "5,9", " 3 ,12", ""]) == ["3", "5", "9", "12"]
    chosen = select_tasks(twenty, ids=["9", "2,5"])
    assert [t.id for t in chosen] == ["9", "2", "5"]


def test_unknown_task_id_is_an_error(twenty):
    with pytest.raises(UserError, match="99"):
        select_tasks(twenty, ids=["1,99"])


def test_limit(twenty):
    assert [t.id for t in select_tasks(twenty, limit=3)] == ["1", "2", "3"]
    assert select_tasks(twenty, limit=0) == []
    assert len(select_tasks(twenty, ids=["4,5,6"], limit=2)) == 2
    with pytest.raises(UserError):
        select_tasks(twenty, limit=-1)


def test_shards_are_stable_disjoint_and_covering(twenty):
    n = 3
    shards = [select_tasks(twenty, shard=(k, n)) for k in range(1, n + 1)]
    ids = [t.id for s in shards for t in s]
    assert sorted(ids, key=int) == [t.id for t in twenty]          # covering
    assert len(ids) == len(set(ids))                                # disjoint
    assert sum(1 for s in shards if s) >= 2                         # actually spread
    again = [[t.id for t in select_tasks(twenty, shard=(k, n))] for k in range(1, n + 1)]
    assert again == [[t.id for t in s] for s in shards]             # stable
    assert shard_of("17", 3) == shard_of("17", 3)
    # a task's shard depends on its id only, not on which other tasks are loaded
    subset = [t for t in twenty if t.id in {"4", "17"}]
    for k in range(1, n + 1):
        assert [t.id for t in select_tasks(subset, shard=(k, n))] == \
               [t.id for t in shards[k - 1] if t.id in {"4", "17"}]


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1-3", "x", "1/0"])
def test_bad_shard(bad):
    with pytest.raises(UserError):
        parse_shard(bad)


def test_shard_parse():
    assert parse_shard("2/5") == (2, 5) and parse_shard(None) is None


# ---------------------------------------------------------------- command line exit


def test_bad_data_exits_2_with_one_line(tmp_path, root):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(data_record(1)) + "\n{not json\n", encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(root)!r})
        from iwrbench.cli import run_main
        from iwrbench.data.tasks import load_tasks
        run_main(lambda: load_tasks(sys.argv[1]) and 0)
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(bad)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert str(bad) in lines[0] and ":2:" in lines[0]


def test_scroll_null_parameters_mean_defaults(data_jsonl):
    rec = data_record(1, 1)
    rec["action_sequence"][0] = {"type": "Scroll", "visual_evaluation_flag": True, "logical_assertion": "x",
                                 "parameters": {"description": "Scroll down", "text": None, "key": None,
                                                "direction": None, "scroll_page": None}}
    (task,) = load_tasks(data_jsonl([rec]))
    assert task.actions[0].direction == "down" and task.actions[0].scroll_page == 1.0


# ---------------------------------------------------------------- utils/fetch_dataset.py


def _fake_snapshot(base, layout: str):
    snap = base / "snap"
    top = snap / "IWR-Bench" if layout == "nested" else snap
    top.mkdir(parents=True)
    (snap / "README.md").write_text("fake dataset card")
    records = [data_record(i, 2) for i in (1, 2)]
    (top / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    holder = top / ("data" if layout != "tasks" else "tasks")
    for i in (1, 2):
        write_task_folder(holder, str(i), [0, 1, 2])
    return snap


@pytest.mark.parametrize("layout", ["data", "nested", "tasks"])
def test_fetch_converts_a_snapshot_layout(tmp_path, layout):

    snap = _fake_snapshot(tmp_path, layout)
    out = tmp_path / "out"
    res = convert_snapshot(snap, out, "iwr")
    assert res.jsonl == out / "iwr.jsonl" and res.tasks == 2 and res.missing == []
    tasks = load_tasks(res.jsonl)
    assert [t.id for t in tasks] == ["1", "2"] and all(t.data_errors == [] for t in tasks)
    assert tasks[0].folder == out / "iwr" / "1" and tasks[0].video is not None
    again = convert_snapshot(snap, out, "iwr")  # a re-run replaces, it does not nest or duplicate
    assert again.tasks == 2 and len(load_tasks(again.jsonl)) == 2


def test_fetch_unpacks_archives_and_refuses_escaping_members(tmp_path):

    snap = _fake_snapshot(tmp_path, "data")
    with zipfile.ZipFile(snap / "data.zip", "w") as zf:
        for p in sorted((snap / "data").rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(snap).as_posix())
    shutil.rmtree(snap / "data")
    res = convert_snapshot(snap, tmp_path / "out", "iwr")
    assert res.missing == [] and all(t.data_errors == [] for t in load_tasks(res.jsonl))

    evil = _fake_snapshot(tmp_path / "e", "data")
    shutil.rmtree(evil / "data")
    with zipfile.ZipFile(evil / "x.zip", "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    with pytest.raises(UserError, match="outside"):
        convert_snapshot(evil, tmp_path / "out2", "iwr")
    assert not (tmp_path / "escaped.txt").exists()


def test_fetch_reports_missing_task_folders_and_bad_jsonl(tmp_path):

    snap = _fake_snapshot(tmp_path, "data")
    shutil.rmtree(snap / "data" / "2")
    res = convert_snapshot(snap, tmp_path / "out", "iwr")
    assert res.missing == ["2"]
    (snap / "data.jsonl").write_text('{"id": "../x", "action_sequence": []}\n')
    with pytest.raises(UserError, match="id"):
        convert_snapshot(snap, tmp_path / "out", "iwr")
    with pytest.raises(UserError, match="not found"):
        convert_snapshot(tmp_path / "nothing", tmp_path / "out", "iwr")


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_fetch_offline_is_one_line_exit_2(tmp_path, root, env):
    full_env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), **env}
    full_env.pop("HF_TOKEN", None)
    proc = subprocess.run([sys.executable, str(root / "utils" / "fetch_dataset.py"), "--data-dir",
                           str(tmp_path / "d")], capture_output=True, text=True, timeout=120, env=full_env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and lines[0].startswith("error: ")
    assert "IWR-Bench/IWR-Bench" in lines[0]
    assert not (tmp_path / "d" / "iwrbench.jsonl").exists()
