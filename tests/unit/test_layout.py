"""Run slugs: the default run keeps the contract path; variants and epochs get their own folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from iwrbench import layout


def test_default_run_is_the_contract_path():
    assert layout.page_dir(Path("out"), "17", "openai/gpt-4o") == Path("out/17/openai__gpt-4o")
    assert layout.eval_path(Path("out"), "17", "openai/gpt-4o", None) == \
        Path("out/17/openai__gpt-4o/eval/offline/eval.json")


def test_variants_and_epochs_are_told_apart_by_the_folder_name():
    assert layout.run_slug("openai/gpt-4o", ("paper",)) == "openai__gpt-4o--paper"
    assert layout.run_slug("openai/gpt-4o", ("paper", "video"), epoch=3) == "openai__gpt-4o--paper--video@epoch-3"
    assert layout.page_dir(Path("o"), "1", "builtin/blank", epoch=2) == Path("o/1/builtin__blank@epoch-2")


@pytest.mark.parametrize("name", ["openai__gpt-4o", "openai__gpt-4o--paper", "a--b--prompt-1a2b3c4d@epoch-12",
                                  "builtin__oracle@epoch-2"])
def test_parse_run_slug_round_trips(name):
    assert str(layout.parse_run_slug(name)) == name


def test_parse_run_slug_parts():
    parsed = layout.parse_run_slug("openai__gpt-4o--paper--video@epoch-3")
    assert (parsed.model, parsed.variant, parsed.epoch) == ("openai__gpt-4o", ("paper", "video"), 3)


@pytest.mark.parametrize("variant,epoch", [(("Paper",), 1), (("a b",), 1), (("x--y",), 1), ((), 0)])
def test_bad_tags_and_epochs_are_refused(variant, epoch):
    with pytest.raises(ValueError):
        layout.run_slug("m", variant, epoch)


def test_variant_tags_in_their_fixed_order():
    assert layout.variant_tags() == ()
    assert layout.variant_tags(protocol="paper") == ("paper",)
    assert layout.variant_tags(protocol="paper", video_input="native", prompt_sha256="ABCDEF0123456789") == (
        "paper", "video", "prompt-abcdef01")
    assert layout.run_slug("openai/gpt-4o", layout.variant_tags(prompt_sha256="0" * 64)) == \
        "openai__gpt-4o--prompt-00000000"


def test_judge_folder_shows_the_agent_only_when_it_differs():
    assert layout.evaluator_slug(None) == layout.evaluator_slug(None, None) == "offline"
    assert layout.evaluator_slug("openai/gpt-4o") == layout.evaluator_slug("openai/gpt-4o", "openai/gpt-4o") == \
        "openai__gpt-4o"
    assert layout.evaluator_slug("openai/j", None) == "openai__j+agent-offline"
    assert layout.evaluator_slug(None, "openai/a") == "offline+agent-openai__a"
    assert layout.eval_dir(Path("o"), "1", "m/x", "openai/j", agent=None) == Path("o/1/m__x/eval/openai__j+agent-offline")
def test_epochs_found_keeps_variants_apart(tmp_path):
    for name in ("m", "m@epoch-2", "m--paper@epoch-5", "m@epoch-x", "mm@epoch-4"):
        (tmp_path / "1" / name).mkdir(parents=True)
    (tmp_path / "2" / "m@epoch-3").mkdir(parents=True)
    (tmp_path / "2" / "m@epoch-7").write_text("a file, not a page folder")
    assert layout.epochs_found(tmp_path, ["1", "2", "9"], "m") == [1, 2, 3]
    assert layout.epochs_found(tmp_path, ["1"], "m", ("paper",)) == [5]
    assert layout.epochs_found(tmp_path, ["2"], "mm") == []
