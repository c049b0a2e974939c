"""Gemini (`google/<model>`) through the real google-genai SDK against the fake server's Gemini API:
what is sent (text, system instruction, images and video inline, a large video through the Files
API), what comes back (text, usage, stop reasons), its own rate-limit signal (RetryInfo), its wrong-key
answer, names, keys and pricing. The faults shared with the other providers are parametrised over
all of them in tests/integration/test_providers.py."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from iwrbench.errors import UserError
from iwrbench.models.base import ImagePart, ModelError, ModelRequest, TextPart, VideoPart
from iwrbench.models.client import RemoteModel
from iwrbench.models.gemini_provider import request_bytes, retry_delay, translate_error
from iwrbench.models.pricing import estimate_cost, price_of
from iwrbench.models.registry import credentials, get_model, parse_model_name
from iwrbench.models.settings import ModelSettings
from tests.fakes.llm_server import Fault

MODEL = "google/gemini-2.5-flash"
PNG = b"\x89PNG\r\n\x1a\n-fake-image-bytes-1"
VIDEO = bytes(range(256)) * 400  # 100 KiB of "video"


def request(*parts, timeout: float = 10.0) -> ModelRequest:
    return ModelRequest(parts=tuple(parts) or (TextPart("Rebuild this page."), ImagePart(PNG)),
                        system="You write HTML.", max_tokens=321, temperature=0.0, timeout=timeout)


def video_request() -> ModelRequest:
    return request(TextPart("Watch this."), VideoPart(VIDEO, "video/webm", fps=2.0, label="rec"),
                   TextPart("Sheet:"), ImagePart(PNG), TextPart("Now write."))


def model_for(tmp_path, **over) -> RemoteModel:
    settings = ModelSettings(cache_dir=tmp_path / "cache", base_delay=0.01, max_delay=3.0,
                             **{"max_attempts": 3, **over})
    model = get_model(MODEL, settings)
    assert isinstance(model, RemoteModel) and model.provider == "google"
    return model


def run(model: RemoteModel, *reqs: ModelRequest):
    async def go():
        try:
            return [await model.complete(r) for r in reqs]
        finally:
            await model.aclose()

    out = asyncio.run(go())
    return out[0] if len(out) == 1 else out


def test_wire_format_text_images_system_and_settings(llm_env, tmp_path):
    llm_env.set_responder(lambda r: "<html>ok</html>")
    resp = run(model_for(tmp_path), request())
    assert resp.text == "<html>ok</html>" and resp.stop_reason == "stop" and resp.attempts == 1
    assert resp.input_tokens == 9 + 85 and resp.output_tokens == 4  # the fake's usageMetadata
    [req] = llm_env.requests
    assert req.api == "gemini" and req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == "<redacted>"  # the key travels in its header, never in the URL
    assert req.body["systemInstruction"]["parts"] == [{"text": "You write HTML."}]
    assert req.body["generationConfig"] == {"temperature": 0.0, "maxOutputTokens": 321, "candidateCount": 1}
    assert req.text == "You write HTML.\nRebuild this page."
    assert req.images == [PNG] and req.image_media_types == ["image/png"]
    assert not llm_env.file_requests


def test_small_video_goes_inline_with_its_frame_rate_in_order(llm_env, tmp_path):
    resp = run(model_for(tmp_path), video_request())
    assert resp.extra["video_sent_as"] == "inline"
    [req] = llm_env.requests
    kinds = [(m["type"], m["media_type"], m["via"], m["fps"]) for m in req.media]
    assert kinds == [("video", "video/webm", "inline", 2.0), ("image", "image/png", "inline", None)]
    assert hashlib.sha256(req.videos[0]).hexdigest() == hashlib.sha256(VIDEO).hexdigest()
    parts = req.body["contents"][0]["parts"]
    assert [next(iter(p.keys() - {"videoMetadata"})) for p in parts] == \
        ["text", "inlineData", "text", "inlineData", "text"]
    assert not llm_env.file_requests


def test_large_request_sends_the_video_through_the_files_api_once(llm_env, tmp_path, monkeypatch):
    """Over the inline limit: the video is uploaded (resumable), polled until ACTIVE and referred to by
    URI; a retry of the same request reuses the upload; the run deletes it when it closes."""
    monkeypatch.setenv("IWRBENCH_GEMINI_INLINE_MB", "0.05")  # the request weighs ~137 KB as base64
    llm_env.files.processing_polls = 2
    llm_env.script([Fault.server_error(503)])
    resp = run(model_for(tmp_path), video_request())
    assert resp.extra["video_sent_as"] == "files_api" and resp.attempts == 2
    uploads = [p for m, p in llm_env.file_requests if m == "POST"]
    reads = [p for m, p in llm_env.file_requests if m == "GET"]
    assert len(uploads) == 2 and len(reads) == 3  # start + bytes once; PROCESSING twice, then ACTIVE
    assert ("DELETE", "/v1beta/files/fake1") in llm_env.file_requests and llm_env.files.deleted == ["files/fake1"]
    for req in llm_env.requests:  # both attempts refer to the one upload; the image stays inline
        video, image = req.media
        assert (video["via"], video["media_type"], video["fps"]) == ("file", "video/webm", 2.0)
        assert video["uri"].endswith("/v1beta/files/fake1") and video["data"] == VIDEO
        assert (image["via"], image["data"]) == ("inline", PNG)


def test_a_video_the_files_api_cannot_process_fails_at_once(llm_env, tmp_path, monkeypatch):
    monkeypatch.setenv("IWRBENCH_GEMINI_INLINE_MB", "0.05")
    llm_env.files.fail_processing = True
    with pytest.raises(ModelError) as info:
        run(model_for(tmp_path), video_request())
    assert info.value.kind == "client_error" and not info.value.retryable and "could not process" in str(info.value)
    assert llm_env.requests == []  # no generation was asked for


def test_retry_info_in_the_error_body_is_honoured(llm_env, tmp_path):
    """Gemini names its wait in a google.rpc.RetryInfo detail ("retryDelay": "1s"), not in a header."""
    llm_env.script([Fault.rate_limit(retry_delay=1)])
    resp = run(model_for(tmp_path), request())
    waited = llm_env.requests[1].received_at - llm_env.requests[0].received_at
    assert resp.attempts == 2 and 1.0 <= waited < 2.5, waited


def test_blocked_prompt_and_empty_reply():
    from google.genai import types

    from iwrbench.models.gemini_provider import GeminiTransport

    blocked = types.GenerateContentResponse(prompt_feedback=types.GenerateContentResponsePromptFeedback(
        block_reason=types.BlockedReason.PROHIBITED_CONTENT))
    resp = GeminiTransport._response(blocked, None)
    assert resp.stop_reason == "content_filter" and "PROHIBITED_CONTENT" in resp.text
    from iwrbench.models.retry import ProviderError

    with pytest.raises(ProviderError, match="no candidates"):
        GeminiTransport._response(types.GenerateContentResponse(), None)


def test_thinking_tokens_count_as_output_and_thoughts_are_not_the_reply():
    from google.genai import types

    from iwrbench.models.gemini_provider import GeminiTransport

    reply = types.GenerateContentResponse(
        candidates=[types.Candidate(finish_reason=types.FinishReason.STOP, content=types.Content(
            role="model", parts=[types.Part(text="thinking...", thought=True), types.Part(text="<html>")]))],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=100, candidates_token_count=10, thoughts_token_count=30))
    resp = GeminiTransport._response(reply, None)
    assert (resp.text, resp.input_tokens, resp.output_tokens, resp.stop_reason) == ("<html>", 100, 40, "stop")


def test_cache_covers_the_video_bytes(llm_env, tmp_path):
    first = run(model_for(tmp_path), video_request())
    again = run(model_for(tmp_path), video_request())
    assert again.cached and again.text == first.text and len(llm_env.requests) == 1
    other = request(TextPart("Watch this."), VideoPart(VIDEO + b"x", "video/webm", fps=2.0), TextPart("Sheet:"),
                    ImagePart(PNG), TextPart("Now write."))
    assert not run(model_for(tmp_path), other).cached
    files = list((tmp_path / "cache").rglob("*.json"))
    assert len(files) == 2 and all("gm-test" not in f.read_text() for f in files)


# ---------------------------------------------------------------- pieces


def test_error_translation():
    from google.genai import errors

    body = {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]}}
    assert retry_delay(body) == 37.0 and retry_delay({"error": {"details": []}}) is None
    err = translate_error(errors.ClientError(429, body), 10)
    assert (err.kind, err.retryable, err.retry_after, err.status) == ("rate_limit", True, 37.0, 429)
    bad = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "status": "INVALID_ARGUMENT", "details": [{"reason": "API_KEY_INVALID"}]}}
    assert translate_error(errors.ClientError(400, bad), 10).kind == "auth"
    other = {"error": {"code": 400, "message": "contents is not specified", "status": "INVALID_ARGUMENT"}}
    assert translate_error(errors.ClientError(400, other), 10).kind == "client_error"
    assert translate_error(errors.ServerError(503, {"error": {"message": "x"}}), 10).kind == "server_error"
    assert translate_error(TimeoutError(), 7).kind == "timeout"
    assert translate_error(RuntimeError("a bug"), 7) is None


def test_request_weight_counts_base64():
    assert request_bytes(request(TextPart("abcd"), ImagePart(b"123"), VideoPart(b"123456"))) == \
        len("You write HTML.") + 4 + 4 + 8


def test_names_keys_and_base_url(monkeypatch):
    assert parse_model_name("google/gemini-2.5-pro").provider == "google"
    assert parse_model_name("gemini-2.5-flash").model_id == "gemini-2.5-flash"
    spec = parse_model_name(MODEL)
    with pytest.raises(UserError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        credentials(spec, {})
    assert credentials(spec, {"GOOGLE_API_KEY": "g-key-12345678"}) == ("g-key-12345678", None)
    assert credentials(spec, {"GEMINI_API_KEY": "a-key-12345678", "GOOGLE_API_KEY": "b-key-12345678",
                              "GEMINI_BASE_URL": "http://127.0.0.1:9"}) == ("a-key-12345678", "http://127.0.0.1:9")
    assert credentials(spec, {"GEMINI_API_KEY": "a-key-12345678", "GOOGLE_GEMINI_BASE_URL": "http://h:1"})[1] == \
        "http://h:1"
    monkeypatch.setenv("GEMINI_API_KEY", "gm-key-12345678")
    model = get_model(MODEL, ModelSettings(cache=False))
    assert model.base_url == "https://generativelanguage.googleapis.com" and model.accepts_video


def test_pricing():
    assert price_of("google", "gemini-2.5-flash-lite", env={}) == (0.10, 0.40)
    assert price_of("google", "gemini-2.5-flash-preview-05-20", env={}) == (0.30, 2.50)
    assert price_of("google", "gemini-2.5-pro", env={}) == (1.25, 10.00)
    assert estimate_cost("google", "gemini-2.5-pro", 1_000_000, 100_000, env={}) == 2.25


def test_no_sdk_connection_retry_of_its_own(llm_env, tmp_path, monkeypatch):
    """Nothing listening: the failure comes back at once per attempt (the SDK's aiohttp path would
    sleep 1-10 s and retry by itself; the transport gives it an httpx client so it does not)."""
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9")  # the discard port: refused
    start = time.monotonic()
    with pytest.raises(ModelError) as info:
        run(model_for(tmp_path, max_attempts=2), request())
    assert info.value.kind == "connection" and info.value.attempts == 2
    assert time.monotonic() - start < 5
