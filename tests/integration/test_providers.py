"""Providers through the real openai / anthropic / google-genai SDKs against the fake server on loopback:
wire format, retries (Retry-After, 5xx, timeouts, garbage), refusals and truncation, parameter
adaptation, the response cache, names and keys, settings precedence, pricing. Gemini's own parts
(video inline and through the Files API, RetryInfo) are in tests/integration/test_gemini.py."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from iwrbench.errors import UserError
from iwrbench.models.base import ImagePart, ModelError, ModelRequest, TextPart
from iwrbench.models.builtin import BuiltinModel
from iwrbench.models.client import RemoteModel
from iwrbench.models.pricing import estimate_cost, price_of
from iwrbench.models.registry import get_model, parse_model_name
from iwrbench.models.retry import RetryPolicy, parse_retry_after
from iwrbench.models.settings import ModelSettings, resolve_settings
from tests.fakes.llm_server import Fault

PNG = b"\x89PNG\r\n\x1a\n-fake-image-bytes-1"
JPEG = b"\xff\xd8\xff-fake-jpeg-bytes-2"


def request(text: str = "Rebuild this page.", *, timeout: float = 10.0, images=(PNG, JPEG)) -> ModelRequest:
    parts = [TextPart(text)] + [ImagePart(d, "image/png" if d.startswith(b"\x89") else "image/jpeg") for d in images]
    return ModelRequest(parts=tuple(parts), system="You write HTML.", max_tokens=321, temperature=0.0,
                        timeout=timeout)


def model_for(name: str, tmp_path, **over) -> RemoteModel:
    settings = ModelSettings(cache_dir=tmp_path / "cache", base_delay=0.01, max_delay=3.0,
                             **{"max_attempts": 3, **over})
    model = get_model(name, settings)
    assert isinstance(model, RemoteModel)
    return model


def run(model: RemoteModel, req: ModelRequest):
    async def go():
        try:
            return await model.complete(req)
        finally:
            await model.aclose()

    return asyncio.run(go())


# ---------------------------------------------------------------- wire formats


def test_openai_wire_format(llm_env, tmp_path):
    llm_env.set_responder(lambda r: "<html>ok</html>")
    resp = run(model_for("openai/gpt-4o", tmp_path), request())
    assert resp.text == "<html>ok</html>" and resp.stop_reason == "stop"
    assert resp.input_tokens and resp.output_tokens and resp.attempts == 1 and not resp.cached
    [req] = llm_env.requests
    assert req.path == "/v1/chat/completions" and req.model == "gpt-4o"
    body = req.body
    assert body["temperature"] == 0.0 and body["max_tokens"] == 321
    assert body["messages"][0] == {"role": "system", "content": "You write HTML."}
    urls = [b["image_url"]["url"] for b in body["messages"][1]["content"] if b["type"] == "image_url"]
    assert urls[0].startswith("data:image/png;base64,") and urls[1].startswith("data:image/jpeg;base64,")
    assert req.images == [PNG, JPEG]
    assert req.headers["authorization"] == "<redacted>"
    assert req.headers.get("x-stainless-retry-count") == "0"  # the SDK's own retries are off


def test_anthropic_wire_format(llm_env, tmp_path):
    llm_env.set_responder(lambda r: "hello")
    resp = run(model_for("anthropic/claude-sonnet-4-20250514", tmp_path), request())
    assert resp.text == "hello" and resp.stop_reason == "stop" and resp.extra["temperature_sent"] is True
    [req] = llm_env.requests
    assert req.path == "/v1/messages" and req.body["max_tokens"] == 321 and req.body["temperature"] == 0.0
    assert req.body["system"] == "You write HTML."
    blocks = req.body["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["text", "image", "image"]
    assert blocks[1]["source"]["type"] == "base64" and blocks[1]["source"]["media_type"] == "image/png"
    assert req.images == [PNG, JPEG]
    assert req.headers["x-api-key"] == "<redacted>"


def test_bare_names_go_to_their_provider(llm_env, tmp_path):
    run(model_for("claude-3-5-sonnet-20241022", tmp_path), request())
    run(model_for("gpt-4o-mini", tmp_path), request())
    assert [r.api for r in llm_env.requests] == ["anthropic", "openai"]


def test_reasoning_models_use_completion_tokens_and_no_temperature(llm_env, tmp_path):
    run(model_for("gpt-5-2025-08-07", tmp_path), request())
    body = llm_env.requests[0].body
    assert body["max_completion_tokens"] == 321 and "max_tokens" not in body and "temperature" not in body


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize("name", ["openai/gpt-4o", "google/gemini-2.5-flash"])
def test_rate_limit_with_retry_after_is_honoured(llm_env, tmp_path, name):
    llm_env.script([Fault.rate_limit(retry_after=1)])
    start = time.monotonic()
    resp = run(model_for(name, tmp_path), request())
    waited = llm_env.requests[1].received_at - llm_env.requests[0].received_at
    assert resp.attempts == 2 and resp.text == "fake reply"
    # At least the server's 1 s; the upper bounds only catch a wait of its own (a default backoff of
    # many seconds) and leave room for a loaded machine.
    assert 1.0 <= waited < 4.0, waited
    assert time.monotonic() - start < 15


def test_rate_limit_with_http_date(llm_env, tmp_path):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    llm_env.script([Fault.rate_limit(retry_after=when)])
    resp = run(model_for("anthropic/claude-x", tmp_path), request())
    waited = llm_env.requests[1].received_at - llm_env.requests[0].received_at
    assert resp.attempts == 2 and 0.9 <= waited < 3.0, waited


@pytest.mark.parametrize("fault", [Fault.server_error(500), Fault.server_error(503), Fault.overloaded(),
                                   Fault.garbage()], ids=["500", "503", "529", "garbage"])
@pytest.mark.parametrize("name", ["openai/gpt-4o", "anthropic/claude-x", "google/gemini-2.5-flash"])
def test_transient_faults_are_retried(llm_env, tmp_path, fault, name):
    llm_env.script([fault])
    resp = run(model_for(name, tmp_path), request())
    assert resp.attempts == 2 and resp.text == "fake reply"


@pytest.mark.parametrize("name", ["openai/gpt-4o", "google/gemini-2.5-flash"])
def test_hang_longer_than_timeout_is_retried(llm_env, tmp_path, name):
    llm_env.script([Fault.hang(30)])
    start = time.monotonic()
    resp = run(model_for(name, tmp_path), request(timeout=1.0))
    assert resp.attempts == 2 and time.monotonic() - start < 5


@pytest.mark.parametrize("name", ["anthropic/claude-x", "google/gemini-2.5-flash"])
def test_server_that_always_fails_gives_up_after_max_attempts(llm_env, tmp_path, name):
    llm_env.set_responder(lambda r: Fault.server_error(500))
    with pytest.raises(ModelError) as info:
        run(model_for(name, tmp_path, max_attempts=3), request())
    assert len(llm_env.requests) == 3
    assert info.value.retryable and info.value.attempts == 3 and info.value.kind == "server_error"
    assert "HTTP 500" in str(info.value)


@pytest.mark.parametrize("name", ["openai/gpt-4o", "google/gemini-2.5-flash"])
@pytest.mark.parametrize("code,kind", [(400, "client_error"), (401, "auth"), (403, "auth"), (404, "client_error")])
def test_client_errors_are_not_retried(llm_env, tmp_path, code, kind, name):
    llm_env.set_responder(lambda r: Fault.status(code, "nope"))
    with pytest.raises(ModelError) as info:
        run(model_for(name, tmp_path), request())
    assert len(llm_env.requests) == 1 and not info.value.retryable and info.value.kind == kind


@pytest.mark.parametrize("name", ["openai/gpt-4o", "anthropic/claude-x", "google/gemini-2.5-flash"])
def test_a_wrong_key_is_an_auth_error_and_not_retried(llm_env, tmp_path, name):
    """Each API's own answer to a wrong key (Gemini's is a 400 INVALID_ARGUMENT, reason API_KEY_INVALID)."""
    llm_env.set_responder(lambda r: Fault.bad_key())
    with pytest.raises(ModelError) as info:
        run(model_for(name, tmp_path), request())
    assert len(llm_env.requests) == 1 and not info.value.retryable and info.value.kind == "auth", str(info.value)


def test_truncated_and_refused_replies_are_reported(llm_env, tmp_path):
    # Gemini refuses by stopping the candidate for SAFETY, with no text: generation calls both a refusal.
    for name, refusal in (("openai/gpt-4o", ("refusal", "I can't help with that.")),
                          ("anthropic/claude-x", ("refusal", "I can't help with that.")),
                          ("google/gemini-2.5-flash", ("content_filter", ""))):
        llm_env.script([Fault.truncated("<html><body>cut"), Fault.refusal("I can't help with that.")])
        model = model_for(name, tmp_path, cache=False)
        cut = run(model, request("one"))
        refused = run(model, request("two"))
        assert (cut.stop_reason, cut.text) == ("length", "<html><body>cut")
        assert (refused.stop_reason, refused.text) == refusal, name


@pytest.mark.parametrize("name", ["openai/some-local-model", "anthropic/claude-opus-9"])
def test_rejected_temperature_is_dropped_once(llm_env, tmp_path, name):
    def strict(req):
        if "temperature" in req.body:
            return Fault.status(400, "`temperature` is deprecated for this model.")
        return "fine"

    llm_env.set_responder(strict)
    model = model_for(name, tmp_path, cache=False)

    async def two_calls():
        try:
            return [await model.complete(request("a")), await model.complete(request("b"))]
        finally:
            await model.aclose()

    first, second = asyncio.run(two_calls())
    assert first.text == second.text == "fine" and first.attempts == 1
    assert first.extra["temperature_sent"] is False
    assert len(llm_env.requests) == 3  # one rejected, then two without temperature


def test_openai_max_tokens_adapts_to_max_completion_tokens(llm_env, tmp_path):
    llm_env.set_responder(lambda r: Fault.status(400, "Unsupported parameter: 'max_tokens' is not supported with "
                                                      "this model. Use 'max_completion_tokens' instead.")
                          if "max_tokens" in r.body else "ok")
    resp = run(model_for("openai/o-like-model", tmp_path), request())
    assert resp.text == "ok" and resp.extra["max_tokens_param"] == "max_completion_tokens"


# ---------------------------------------------------------------- cache


def test_cache_hits_and_misses(llm_env, tmp_path):
    model = model_for("openai/gpt-4o", tmp_path)
    first = run(model, request())
    again = run(model_for("openai/gpt-4o", tmp_path), request())
    assert len(llm_env.requests) == 1
    assert again.cached and again.attempts == 0 and again.text == first.text
    assert again.input_tokens == first.input_tokens
    run(model_for("openai/gpt-4o", tmp_path), request(images=(PNG, JPEG + b"x")))  # other image -> miss
    run(model_for("anthropic/gpt-4o", tmp_path), request())  # other provider -> miss
    run(model_for("openai/gpt-4o", tmp_path, refresh=True), request())  # --force: not read
    run(model_for("openai/gpt-4o", tmp_path, cache=False), request())
    assert len(llm_env.requests) == 5
    files = list((tmp_path / "cache").rglob("*.json"))
    assert len(files) == 3
    assert all("base64" not in f.read_text() and "sk-test" not in f.read_text() for f in files)


def test_refusals_and_failures_are_not_cached(llm_env, tmp_path):
    llm_env.script([Fault.refusal()])
    run(model_for("openai/gpt-4o", tmp_path), request())
    llm_env.set_responder(lambda r: Fault.status(400, "bad"))
    with pytest.raises(ModelError):
        run(model_for("openai/gpt-4o", tmp_path), request("other"))
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_cache_key_ignores_timeout_but_not_settings(tmp_path):
    m = RemoteModel("openai/gpt-4o", _Transport(), ModelSettings(cache_dir=tmp_path))
    base = request()
    assert m.key_for(base) == m.key_for(request(timeout=99.0))
    assert m.key_for(base) != m.key_for(ModelRequest(parts=base.parts, system=base.system, max_tokens=322))
    assert m.key_for(base) != m.key_for(request("Rebuild this page!"))


class _Transport:
    provider, model, base_url = "openai", "gpt-4o", "http://user:secret@127.0.0.1:9/v1"

    async def send(self, request):  # pragma: no cover - never called
        raise AssertionError

    async def aclose(self):  # pragma: no cover
        return None


# ---------------------------------------------------------------- names, keys, settings


def test_model_names():
    assert parse_model_name("openai/gpt-4o").provider == "openai"
    assert parse_model_name("anthropic/claude-x").model_id == "claude-x"
    assert parse_model_name("gpt-5-2025-08-07").provider == "openai"
    assert parse_model_name("o3-mini").provider == "openai"
    assert parse_model_name("claude-sonnet-4-20250514").provider == "anthropic"
    for bad in ("", "llama3", "gemini/pro", "openai/", "builtin/magic"):
        with pytest.raises(UserError):
            parse_model_name(bad)


def test_missing_key_is_a_user_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        get_model("openai/gpt-4o")
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        get_model("claude-x", env={})


def test_builtins_answer_no_prompts():
    model = get_model("builtin/oracle")
    assert isinstance(model, BuiltinModel) and model.provider == "builtin"
    with pytest.raises(UserError):
        get_model("builtin/blank", allow_builtin=False)
    with pytest.raises(ModelError):
        asyncio.run(model.complete(request()))


def test_settings_precedence_flags_then_env_then_defaults():
    env = {"IWRBENCH_MAX_TOKENS": "2048", "IWRBENCH_TIMEOUT": "90", "IWRBENCH_MAX_IMAGES": "20"}
    s = resolve_settings("openai", {"max_tokens": 1000, "image_side": None}, env=env)
    assert (s.max_tokens, s.timeout, s.max_images, s.image_side, s.temperature) == (1000, 90.0, 20, 1280, 0.0)
    assert resolve_settings("openai", env={"IWRBENCH_NO_CACHE": "1"}).cache is False
    with pytest.raises(UserError, match="IWRBENCH_TIMEOUT"):
        resolve_settings("openai", env={"IWRBENCH_TIMEOUT": "soon"})
    with pytest.raises(UserError, match="--max-images"):
        resolve_settings("openai", {"max_images": -1}, env={})


# ---------------------------------------------------------------- retry policy, pricing


def test_parse_retry_after():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after({"Retry-After": future}) <= 31
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": past}) == 0.0
    assert parse_retry_after({"Retry-After": "whenever"}) is None
    assert parse_retry_after({}) is None


def test_backoff_grows_is_capped_and_honours_retry_after():
    import random

    p = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.25)
    rng = random.Random(1)
    waits = [p.delay(n, None, rng) for n in range(1, 7)]
    assert 0.75 <= waits[0] <= 1.0 and 1.5 <= waits[1] <= 2.0 and 3.0 <= waits[2] <= 4.0
    assert all(w <= 10.0 for w in waits) and waits[-1] >= 7.5
    assert 5.0 <= p.delay(1, 5.0, rng) <= 10.0
    assert p.delay(1, 3600.0, rng) == 10.0  # a huge Retry-After is capped


def test_pricing():
    assert price_of("openai", "gpt-4o-2024-08-06", env={}) == (2.50, 10.00)
    assert price_of("openai", "gpt-4o-mini", env={}) == (0.15, 0.60)
    assert price_of("anthropic", "claude-sonnet-4-20250514", env={}) == (3.00, 15.00)
    assert price_of("openai", "llama3", env={}) is None
    assert estimate_cost("openai", "gpt-4o", 1_000_000, 100_000, env={}) == 3.5
    assert price_of("openai", "llama3", env={"IWRBENCH_PRICE_INPUT": "1", "IWRBENCH_PRICE_OUTPUT": "2"}) == (1, 2)


# ---------------------------------------------------------------- the fake server itself (shared by other areas)


def test_fake_server_validates_and_records(fake_llm):
    import httpx

    with httpx.Client(timeout=5) as http:
        bad = http.post(fake_llm.base_url_anthropic + "/v1/messages", json={"model": "m", "messages": [{}]},
                        headers={"x-api-key": "secret"})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        assert http.post(fake_llm.base_url_openai + "/chat/completions", content=b"{nope").status_code == 400
        assert http.post(fake_llm.base_url_openai + "/embeddings", json={}).status_code == 404
        ok = http.post(fake_llm.base_url_openai + "/chat/completions",
                       json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert ok.json()["choices"][0]["message"]["content"] == "fake reply"
    req = fake_llm.requests[0]
    assert req.headers["x-api-key"] == "<redacted>" and req["model"] == "m" and "messages" in req
    assert fake_llm.requests[-1].text == "hi" and fake_llm.requests[-1].get("model") == "m"
    fake_llm.script(["queued"])
    fake_llm.clear()
    assert fake_llm.requests == []
