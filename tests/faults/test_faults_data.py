"""Fault injection: bad data, through both entry points.

A bad task file (the jsonl) is a one-line error naming file, line and field, exit 2, before any
work, in generate.py and evaluate.py alike. A bad task folder (video, assets, checkpoints, reference
page) is a recorded error of that task only: the other tasks of the run are generated, evaluated and
reported as usual, and the broken ones are listed, never scored and never a traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from iwrbench import cli
from iwrbench.cli import evaluate, generate
from iwrbench.data.tasks import load_tasks
from tests.fixtures_data import data_record
from tests.fixtures_faults import (
    assert_no_traceback,
    assert_one_line_error,
    cli_env,
    run_cli,
)
from tests.fixtures_generation import make_tiny_task, write_dataset

pytestmark = pytest.mark.faults

GOOD = json.dumps(data_record(1, 2))


def _line(**changes) -> str:
    rec = data_record(2, 2)
    for key, value in changes.items():
        rec[key] = value
    return json.dumps(rec)


def _action(**changes) -> str:
    rec = data_record(2, 2)
    rec["action_sequence"][1].update(changes)
    return json.dumps(rec)


# name -> (bytes of the jsonl, what the one error line must name)
BAD_FILES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "malformed JSON": (f"{GOOD}\n{{\"id\": 2, \"action_sequence\": [\n".encode(), (":2:", "invalid JSON")),
    "truncated last line": (f"{GOOD}\n{GOOD[:40]}".encode(), (":2:", "invalid JSON")),
    "line is a JSON array": (f"{GOOD}\n[1, 2]\n".encode(), (":2:", "expected a JSON object")),
    "missing id": (f"{GOOD}\n{json.dumps({'action_sequence': []})}\n".encode(), (":2:", "'id'", "missing")),
    "missing action_sequence": (f"{GOOD}\n{json.dumps({'id': 2})}\n".encode(), (":2:", "action_sequence")),
    "id of the wrong type": (f"{GOOD}\n{_line(id=[2])}\n".encode(), (":2:", "'id'", "expected int or str")),
    "action of the wrong type": (f"{GOOD}\n{_line(action_sequence=[7])}\n".encode(),
                                 (":2:", "action_sequence[0]")),
    "action type is not a string": (f"{GOOD}\n{_action(type=7)}\n".encode(), (":2:", "action_sequence[1].type")),
    "flag is not a boolean": (f"{GOOD}\n{_action(visual_evaluation_flag='yes')}\n".encode(),
                              (":2:", "visual_evaluation_flag")),
    "id is a relative path": (f"{GOOD}\n{_line(id='../../etc')}\n".encode(), (":2:", "'id'", "plain name")),
    "id is an absolute path": (f"{GOOD}\n{_line(id='/etc/passwd')}\n".encode(), (":2:", "'id'")),
    "duplicate id": (f"{GOOD}\n{GOOD}\n".encode(), (":2:", "duplicate id '1'", "line 1")),
    "not UTF-8": (GOOD.encode() + b"\n" + _line().encode().replace(b"Button", b"B\xe9tton") + b"\n",
                  (":2:", "not valid UTF-8")),
    "empty file": (b"\n  \n", ("holds no tasks",)),
}


def _call(main, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run an entry point's main() in this process exactly as its __main__ does; (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(main)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_task_file_is_one_line_exit_2_in_both_commands(case, tmp_path, monkeypatch, capsys):
    content, needles = BAD_FILES[case]
    data = tmp_path / "bad.jsonl"
    data.write_bytes(content)
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    out = tmp_path / "out"
    for name, main, argv in (
            ("generate", lambda: generate.main(["--data", str(data), "--result", str(out), "--model", "builtin/blank"]),
             ["generate.py"]),
            ("evaluate", evaluate.main, ["evaluate.py", "--data", str(data), "--result", str(out),
                                         "--model", "builtin/blank"])):
        code, err = _call(main, argv, monkeypatch, capsys)
        assert code == 2, (name, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, (name, err)
        assert str(data) in lines[0], (name, lines[0])
        for needle in needles:
            assert needle in lines[0], (name, needle, lines[0])
    assert not out.exists()  # nothing was written before the data was checked


def test_bad_task_file_through_the_real_entry_point(tmp_path):
    """The same through a real process: no traceback reaches the terminal."""
    data = tmp_path / "bad.jsonl"
    data.write_bytes(BAD_FILES["id is a relative path"][0])
    proc = run_cli("generate.py", "--data", str(data), "--result", str(tmp_path / "o"), "--model", "builtin/blank",
                   env=cli_env(tmp_path), cwd=tmp_path)
    assert_one_line_error(proc, f"{data}:2:", "'id'")
    data_dir = tmp_path / "dir.jsonl"
    data_dir.mkdir()
    proc = run_cli("evaluate.py", "--data", str(data_dir), "--result", str(tmp_path / "o"), "--model",
                   "builtin/blank", env=cli_env(tmp_path), cwd=tmp_path)
    assert_one_line_error(proc, "data file not found")


def test_byte_order_mark_crlf_and_blank_lines_are_accepted(tmp_path):
    """Hand-edited files: a UTF-8 byte-order mark, Windows line ends, blank lines between records."""
    data = tmp_path / "edited.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + json.dumps(data_record(1, 1)).encode() + b"\r\n\r\n   \r\n"
                     + json.dumps(data_record(2, 1)).encode() + b"\r\n")
    assert [t.id for t in load_tasks(data)] == ["1", "2"]


# ---------------------------------------------------------------- broken task folders


def _broken_dataset(root: Path) -> Path:
    """One good tiny task and one task per folder fault."""
    d = root / "data" / "tiny"
    names = ["good", "corrupt_video", "empty_video", "no_video", "no_assets", "empty_asset", "corrupt_sheet",
             "latin1_reference", "no_folder", "corrupt_checkpoint", "truncated_checkpoint", "empty_checkpoint",
             "no_checkpoints", "unknown_action"]
    records = [make_tiny_task(d, n, shade=17 * i, sheets=n not in ("no_assets", "empty_asset"))
               for i, n in enumerate(names)]
    records[-1]["action_sequence"][1]["type"] = "Teleport"  # a type the harness cannot perform
    (d / "corrupt_video" / "video.mp4").write_bytes(b"this is not a video " * 50)
    (d / "empty_video" / "video.mp4").write_bytes(b"")
    (d / "no_video" / "video.mp4").unlink()
    shutil.rmtree(d / "no_assets" / "assets")
    (d / "no_assets" / "reference" / "index.html").write_text(
        "<!DOCTYPE html><html><body><h1>No assets</h1><button>Add</button></body></html>", encoding="utf-8")
    (d / "empty_asset" / "assets" / "001.png").write_bytes(b"")
    (d / "corrupt_sheet" / "stitched_assets" / "stitched_image1.png").write_bytes(b"GIF89a but not really")
    (d / "latin1_reference" / "reference" / "index.html").write_bytes(b"<html><body>Caf\xe9</body></html>")
    shutil.rmtree(d / "no_folder")
    (d / "corrupt_checkpoint" / "checkpoints" / "step_0.png").write_bytes(b"not a png")
    good_png = (d / "good" / "checkpoints" / "step_1.png").read_bytes()
    (d / "truncated_checkpoint" / "checkpoints" / "step_1.png").write_bytes(good_png[: len(good_png) // 2])
    (d / "empty_checkpoint" / "checkpoints" / "step_2.png").write_bytes(b"")
    shutil.rmtree(d / "no_checkpoints" / "checkpoints")
    return write_dataset(root / "data" / "tiny.jsonl", records)


def _gen(out: Path, task: str, model: str) -> dict:
    return json.loads((out / task / model / "generation.json").read_text())


def _eval(out: Path, task: str, model: str) -> dict:
    return json.loads((out / task / model / "eval" / "offline" / "eval.json").read_text())


@pytest.mark.browser
def test_broken_task_folders_are_task_errors_and_the_run_goes_on(tmp_path, fake_llm):
    """Every folder fault ends as its own task's recorded error (generation: `data`; evaluation: a
    `data` error, not scored, listed in the report); the good tasks are generated and scored."""
    data = _broken_dataset(tmp_path)
    out = tmp_path / "out"
    page = "<!DOCTYPE html><html><body><h1>Tiny shop</h1><button onclick=\"c.textContent='1'\">Add</button>" \
           "<span id=c>0</span></body></html>"
    fake_llm.set_responder(lambda _req: f"Here you go:\n```html\n{page}\n```")
    env = cli_env(tmp_path, OPENAI_API_KEY="sk-test-key-for-faults", OPENAI_BASE_URL=fake_llm.base_url_openai)

    gen = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "openai/m", "-q",
                  env=env, cwd=tmp_path)
    assert_no_traceback(gen)
    assert gen.returncode == 1, gen.stderr
    expect_failed = {"corrupt_video": "cannot be opened", "empty_video": "cannot be opened",
                     "no_video": "has no video", "corrupt_sheet": "cannot be read", "no_folder": "is missing"}
    for task, why in expect_failed.items():
        rec = _gen(out, task, "openai__m")
        assert rec["status"] == "failed" and rec["error_kind"] == "data" and why in rec["error"], (task, rec)
        assert not (out / task / "openai__m" / "index.html").exists()
    for task in ("good", "no_assets", "empty_asset", "latin1_reference", "corrupt_checkpoint",
                 "truncated_checkpoint", "empty_checkpoint", "no_checkpoints", "unknown_action"):
        assert _gen(out, task, "openai__m")["status"] == "done", task
    assert len(fake_llm.requests) == 9  # no request was sent for a task whose inputs were broken
    for line in gen.stderr.splitlines():  # one line per failed task, no library noise
        assert line.startswith("W task ") or not line.strip(), line

    oracle = run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle",
                     "--task", "latin1_reference,good", "-q", env=env, cwd=tmp_path)
    assert_no_traceback(oracle)
    rec = _gen(out, "latin1_reference", "builtin__oracle")
    assert rec["status"] == "failed" and rec["error_kind"] == "data" and "cannot be read" in rec["error"]

    picked = ["good", "corrupt_video", "no_folder", "corrupt_checkpoint", "truncated_checkpoint",
              "empty_checkpoint", "no_checkpoints", "unknown_action"]
    ev = run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", "openai/m", "--no-visual",
                 "--task", ",".join(picked), "-q", env=env, cwd=tmp_path)
    assert_no_traceback(ev)
    assert ev.returncode == 1, ev.stderr
    good = _eval(out, "good", "openai__m")
    assert good["status"] == "scored" and good["scores"]["IFS"] is not None
    for task, why in {"corrupt_video": "generation failed (data)", "no_folder": "is missing",
                      "corrupt_checkpoint": "not a readable image", "truncated_checkpoint": "not a readable image",
                      "empty_checkpoint": "the file is empty", "no_checkpoints": "no checkpoints",
                      "unknown_action": "action_sequence[1].type: the harness cannot perform action type 'Teleport'",
                      }.items():
        rec = _eval(out, task, "openai__m")
        assert rec["status"] == "error" and rec["error_kind"] == "data" and why in rec["error"], (task, rec)
        assert rec["scores"]["final"] is None and rec["steps"] == []
    report = json.loads((out / "reports" / "offline" / "openai__m.json").read_text())
    errors = {e["task_id"] for e in report["errors"]}
    assert errors == set(picked) - {"good"}
    assert report["counts"]["scored"] == 1 and report["mean"]["IFS"] == good["scores"]["IFS"]
    assert report["complete"] is False


@pytest.mark.parametrize(("var", "value", "judge"), [
    ("IWRBENCH_JUDGE_MAX_TOKENS", "lots", True),
    ("IWRBENCH_JUDGE_TIMEOUT", "0", True),
    ("IWRBENCH_WORKERS", "0", False),
    ("IWRBENCH_MAX_ATTEMPTS", "x", False),
    ("IWRBENCH_TIMEOUT", "-1", False),
])
def test_bad_setting_in_the_environment_is_one_line_exit_2(var, value, judge, tmp_path, monkeypatch, capsys):
    """A setting from the environment (or .env) is checked like a flag: one line naming the variable."""
    data = tmp_path / "ok.jsonl"
    data.write_text(GOOD + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-for-faults")
    if judge:
        main, argv = evaluate.main, ["evaluate.py", "--data", str(data), "--result", str(tmp_path / "o"),
                                     "--model", "builtin/blank", "--judge", "openai/judge"]
    else:
        main, argv = (lambda: generate.main(["--data", str(data), "--result", str(tmp_path / "o"),
                                             "--model", "openai/gpt-4o"])), ["generate.py"]
    code, err = _call(main, argv, monkeypatch, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: {var}") and repr(value) in lines[0], lines[0]
