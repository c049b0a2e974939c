"""Fault injection: API keys never reach a file under the output root, the caches, a log or a report.

Keys are planted in the environment, and the fake providers echo them back in their error messages
(as real providers do with "Incorrect API key provided: ..."). Generation, evaluation with a judge
and the reports then run at the most verbose log level, and every byte they wrote or printed is
searched for the keys.
"""

from __future__ import annotations

import re
import threading

import pytest

from tests.fakes.llm_server import Fault, RecordedRequest
from tests.fixtures_faults import (
    PLANTED_ANTHROPIC_KEY,
    PLANTED_GEMINI_KEY,
    PLANTED_KEY,
    JudgeResponder,
    assert_no_traceback,
    cli_env,
    copy_sample,
    files_containing,
    request_kind,
    run_cli,
)

pytestmark = pytest.mark.faults

BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{400,}")
PAGE = "```html\n<!DOCTYPE html><html><body><h1>Page</h1><button>Add to cart</button></body></html>\n```"


class EchoingProvider:
    """Echoes the key in its first errors: a 429 (retried), then one task's 400 (not retryable)."""

    def __init__(self, key: str, judge: JudgeResponder | None = None):
        self.key = key
        self.judge = judge
        self.seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, req: RecordedRequest) -> Fault | str:
        kind = request_kind(req) if self.judge else "generate"
        with self._lock:
            n = self.seen[kind] = self.seen.get(kind, 0) + 1
        if n == 1:
            return Fault.status(429, f"Rate limit reached for key {self.key} on requests per min")
        if n == 2 and kind in ("generate", "assert"):
            return Fault.status(400, f"Incorrect API key provided: {self.key}. You can find your key at "
                                     "https://platform.example/account/api-keys")
        return self.judge(req) if self.judge else PAGE


@pytest.mark.browser
def test_planted_keys_never_reach_outputs_caches_logs_or_reports(tmp_path, fake_llm):
    data = copy_sample(tmp_path / "data", [3, 6])
    out = tmp_path / "out"
    env = cli_env(tmp_path, OPENAI_API_KEY=PLANTED_KEY, ANTHROPIC_API_KEY=PLANTED_ANTHROPIC_KEY,
                  GEMINI_API_KEY=PLANTED_GEMINI_KEY, OPENAI_BASE_URL=fake_llm.base_url_openai,
                  ANTHROPIC_BASE_URL=fake_llm.base_url_anthropic, GEMINI_BASE_URL=fake_llm.base_url_gemini,
                  IWRBENCH_MAX_ATTEMPTS="2")
    runs = []

    fake_llm.set_responder(EchoingProvider(PLANTED_KEY))
    runs.append(run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "openai/gpt-4o",
                        "--workers", "1", "-vv", env=env, cwd=tmp_path))
    fake_llm.set_responder(EchoingProvider(PLANTED_ANTHROPIC_KEY))
    runs.append(run_cli("generate.py", "--data", str(data), "--result", str(out), "--model",
                        "anthropic/claude-x", "--workers", "1", "-vv", env=env, cwd=tmp_path))
    fake_llm.set_responder(EchoingProvider(PLANTED_GEMINI_KEY))  # Gemini, with the video itself
    runs.append(run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "google/gemini-x",
                        "--video-input", "native", "--workers", "1", "-vv", env=env, cwd=tmp_path))
    # The oracle pages get evaluated by a judge whose errors echo the key too.
    runs.append(run_cli("generate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle",
                        "-q", env=env, cwd=tmp_path))
    judge = EchoingProvider(PLANTED_KEY, JudgeResponder())
    fake_llm.set_responder(judge)
    runs.append(run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model",
                        "builtin/oracle,openai/gpt-4o", "--judge", "openai/judge", "--no-visual", "-vv",
                        env=env, cwd=tmp_path))
    gemini_judge = EchoingProvider(PLANTED_GEMINI_KEY, JudgeResponder())
    fake_llm.set_responder(gemini_judge)
    runs.append(run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--model", "builtin/oracle",
                        "--judge", "google/gemini-judge", "--no-visual", "-vv", env=env, cwd=tmp_path))
    runs.append(run_cli("evaluate.py", "--data", str(data), "--result", str(out), "--report-only", "-vv",
                        env=env, cwd=tmp_path))

    for proc in runs:
        assert_no_traceback(proc)
    # The echoes happened and were recorded, redacted: one generation failed on the 400 per provider,
    # and the judge's 400 is in an eval.json.
    assert judge.seen.get("assert", 0) >= 2 and judge.seen.get("locate", 0) >= 1
    assert gemini_judge.seen.get("assert", 0) >= 2
    redacted = files_containing([out], "<redacted>")
    assert any(p.name == "generation.json" and "openai__gpt-4o" in str(p) for p in redacted), redacted
    assert any(p.name == "generation.json" and "anthropic__claude-x" in str(p) for p in redacted), redacted
    assert any(p.name == "generation.json" and "google__gemini-x--video" in str(p) for p in redacted), redacted
    assert any(p.name == "eval.json" and "openai__judge" in str(p) for p in redacted), redacted
    assert any(p.name == "eval.json" and "google__gemini-judge" in str(p) for p in redacted), redacted
    assert any("<redacted>" in proc.stderr for proc in runs)

    for key in (PLANTED_KEY, PLANTED_ANTHROPIC_KEY, PLANTED_GEMINI_KEY):
        leaks = files_containing([out, tmp_path / "cache"], key)
        assert leaks == [], leaks
        for proc in runs:
            assert key not in proc.stdout and key not in proc.stderr
    assert list((out / "reports").rglob("*.json")), "the reports were built"
    for proc in runs:  # no image data in the logs either, even at -vv
        assert not BASE64_RUN.search(proc.stderr), BASE64_RUN.search(proc.stderr).group(0)[:80]


@pytest.mark.browser
def test_chromium_runs_without_the_keys_in_its_environment(tmp_path, monkeypatch):
    """Model-written pages run in Chromium: its processes never hold a key (in case a renderer
    exploit or a crash dump reads the environment)."""
    import asyncio
    from pathlib import Path

    from iwrbench.sandbox.browser import Browser

    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED_ANTHROPIC_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", PLANTED_GEMINI_KEY)
    monkeypatch.setenv("HF_TOKEN", "hf_planted_token_123456")

    def chromium_environments(root: Path) -> list[bytes]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and str(root).encode() in (proc / "cmdline").read_bytes():
                    found.append((proc / "environ").read_bytes())
            except OSError:
                continue
        return found

    async def go() -> list[bytes]:
        async with Browser.launch(name="secrets") as browser:
            return chromium_environments(browser.scratch)

    environments = asyncio.run(go())
    # Chromium's child processes reuse their environment block for their titles: at least the
    # browser's own must be readable as an environment.
    assert any(b"HOME=" in env for env in environments), "no Chromium environment found to inspect"
    for env in environments:
        for secret in (PLANTED_KEY, PLANTED_ANTHROPIC_KEY, PLANTED_GEMINI_KEY, "hf_planted_token_123456"):
            assert secret.encode() not in env
