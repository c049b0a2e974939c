"""Gemini through its own API, with the `google-genai` SDK: text, images and video (`google/<model>`).

Images and a video travel inline while the whole request stays under the API's inline limit
(20 MB; IWRBENCH_GEMINI_INLINE_MB changes it); above it the video goes through the Files API
(resumable upload, then polled until the file is ACTIVE) and the request refers to it by URI. An
upload is reused by the retries of the same video within a run, and the run deletes its uploads
when it closes. A video carries its frame rate as `video_metadata.fps`, so Gemini samples every
frame we send instead of its default 1 per second.

The SDK's own retries are off (none configured) and it is given an httpx client: with aiohttp
installed (browser-use brings it) the SDK would otherwise use aiohttp, which retries a failed
connection by itself after a random 1-10 s sleep. Retries are ours (retry.py), and they honour a
429's Retry-After header or, as Gemini sends it, the `google.rpc.RetryInfo` delay in the error body.
A wrong key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID from Gemini: classified as `auth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Any

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from iwrbench.models.base import ImagePart, ModelRequest, ModelResponse, TextPart, VideoPart
from iwrbench.models.client import LoopBoundClient, status_error
from iwrbench.models.retry import ProviderError, parse_retry_after
from iwrbench.redaction import redact

log = logging.getLogger("iwrbench.models")

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
INLINE_LIMIT_MB = 20.0
INLINE_LIMIT_VAR = "IWRBENCH_GEMINI_INLINE_MB"
MAX_VIDEO_FPS = 24.0  # the API's range for video_metadata.fps is (0, 24]
POLL_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)  # between reads of an uploaded file until it is ACTIVE (last repeats)
STOP_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
                "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
                "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
                "LANGUAGE": "content_filter"}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def inline_limit_bytes(env: dict[str, str] | None = None) -> int:
    value = (env if env is not None else os.environ).get(INLINE_LIMIT_VAR, "").strip()
    try:
        mb = float(value) if value else INLINE_LIMIT_MB
    except ValueError:
        mb = INLINE_LIMIT_MB
    return max(0, int(mb * 1024 * 1024))


def request_bytes(request: ModelRequest) -> int:
    """What the request weighs on the wire with every image and video inline (base64)."""
    total = len((request.system or "").encode("utf-8"))
    for part in request.parts:
        if isinstance(part, TextPart):
            total += len(part.text.encode("utf-8"))
        elif isinstance(part, ImagePart | VideoPart):
            total += 4 * math.ceil(len(part.data) / 3)
    return total


def _fps(part: VideoPart) -> types.VideoMetadata | None:
    return types.VideoMetadata(fps=min(part.fps, MAX_VIDEO_FPS)) if part.fps and part.fps > 0 else None


def retry_delay(details: Any) -> float | None:
    """Seconds from a `google.rpc.RetryInfo` detail of a Google error body ({"retryDelay": "37s"})."""
    error = details.get("error", details) if isinstance(details, dict) else None
    for item in (error or {}).get("details") or [] if isinstance(error, dict) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            m = DURATION.match(str(item.get("retryDelay", "")))
            if m:
                return float(m.group(1))
    return None


def _reasons(details: Any) -> set[str]:
    error = details.get("error", details) if isinstance(details, dict) else None
    items = (error or {}).get("details") or [] if isinstance(error, dict) else []
    return {str(i.get("reason")) for i in items if isinstance(i, dict) and i.get("reason")}


def translate_error(exc: BaseException, timeout: float) -> ProviderError | None:
    """A google-genai (or httpx) failure as a ProviderError; None for anything else (a bug)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | httpx.TimeoutException):
        return ProviderError(f"request timed out after {timeout:g} s", kind="timeout", retryable=True)
    if isinstance(exc, genai_errors.APIError):
        status = int(exc.code or 0)
        text = " ".join(str(exc.message or exc.status or "error").split())
        text = redact(text + (f" ({exc.status})" if exc.status else ""))[:300]
        headers = getattr(getattr(exc, "response", None), "headers", None)
        after = parse_retry_after(dict(headers) if headers is not None else None)
        if after is None:
            after = retry_delay(exc.details)
        bad_key = status == 400 and ("API_KEY_INVALID" in _reasons(exc.details) or "api key not valid" in text.lower())
        return status_error(status, text, after, auth=bad_key)
    if isinstance(exc, httpx.TransportError):
        return ProviderError(f"connection failed: {redact(str(exc) or type(exc).__name__)[:300]}",
                             kind="connection", retryable=True)
    if isinstance(exc, ValueError | KeyError):  # a body that is not JSON, or not the API's shape
        return ProviderError(f"unreadable reply: {redact(str(exc))[:300]}", kind="bad_response", retryable=True)
    return None


@dataclass(frozen=True)
class Upload:
    name: str  # files/<id>
    uri: str
    mime_type: str


class _Session:
    """One SDK client and the httpx client it talks through (made inside the running event loop)."""

    def __init__(self, api_key: str, base_url: str):
        self.http = httpx.AsyncClient(timeout=None)  # per-request timeouts come from the SDK and from us
        self.client = genai.Client(api_key=api_key, vertexai=False, http_options=types.HttpOptions(
            base_url=base_url, httpx_async_client=self.http))

    async def close(self) -> None:
        await self.http.aclose()


class GeminiTransport:
    provider = "google"
    accepts_video = True

    def __init__(self, model: str, *, api_key: str, base_url: str | None = None, inline_limit: int | None = None):
        self.model = model.removeprefix("models/")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.inline_limit = inline_limit_bytes() if inline_limit is None else inline_limit
        self._client = LoopBoundClient(lambda: _Session(api_key, self.base_url))
        self._uploads: dict[tuple[str, str], Upload] = {}  # (sha256 of the bytes, media type) -> uploaded file

    # ------------------------------------------------------------ one request

    async def send(self, request: ModelRequest) -> ModelResponse:
        session = self._client.get()
        try:
            async with asyncio.timeout(request.timeout):
                upload = request.video_count > 0 and request_bytes(request) > self.inline_limit
                contents = await self._contents(session, request, upload=upload)
                reply = await session.client.aio.models.generate_content(
                    model=self.model, contents=contents, config=self._config(request))
        except Exception as exc:
            err = translate_error(exc, request.timeout)
            if err is None:
                raise
            raise err from None
        return self._response(reply, "files_api" if upload else ("inline" if request.video_count else None))

    @staticmethod
    def _config(request: ModelRequest) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=request.system or None, temperature=request.temperature,
            max_output_tokens=request.max_tokens, candidate_count=1,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),  # no tools
            http_options=types.HttpOptions(timeout=int(request.timeout * 1000)))

    async def _contents(self, session: _Session, request: ModelRequest, *, upload: bool) -> list[types.Content]:
        parts: list[types.Part] = []
        for part in request.parts:
            if isinstance(part, TextPart):
                parts.append(types.Part(text=part.text))
            elif isinstance(part, ImagePart):
                parts.append(types.Part(inline_data=types.Blob(data=part.data, mime_type=part.media_type)))
            elif isinstance(part, VideoPart) and upload:
                up = await self._upload(session, part, request.timeout)
                parts.append(types.Part(file_data=types.FileData(file_uri=up.uri, mime_type=up.mime_type),
                                        video_metadata=_fps(part)))
            elif isinstance(part, VideoPart):
                parts.append(types.Part(inline_data=types.Blob(data=part.data, mime_type=part.media_type),
                                        video_metadata=_fps(part)))
        return [types.Content(role="user", parts=parts)]

    async def _upload(self, session: _Session, part: VideoPart, timeout: float) -> Upload:
        """The video through the Files API, once per run: retries reuse the ACTIVE file."""
        key = (hashlib.sha256(part.data).hexdigest(), part.media_type)
        if key in self._uploads:
            return self._uploads[key]
        cfg = types.UploadFileConfig(mime_type=part.media_type, display_name=part.label or "recording",
                                     http_options=types.HttpOptions(timeout=int(timeout * 1000)))
        file = await session.client.aio.files.upload(file=io.BytesIO(part.data), config=cfg)
        for n in range(10_000):  # bounded by the request's timeout around send()
            state = str(getattr(file.state, "value", file.state) or "")
            if state == "ACTIVE":
                break
            if state == "FAILED":
                why = getattr(file.error, "message", None) or "no reason given"
                raise ProviderError(f"Gemini could not process the uploaded video {file.name}: {why}",
                                    kind="client_error", retryable=False)
            await asyncio.sleep(POLL_DELAYS[min(n, len(POLL_DELAYS) - 1)])
            file = await session.client.aio.files.get(name=str(file.name))
        if not file.uri or not file.name:
            raise ProviderError("the Files API returned a file without a name or URI", kind="bad_response",
                                retryable=True)
        up = Upload(name=str(file.name), uri=str(file.uri), mime_type=str(file.mime_type or part.media_type))
        self._uploads[key] = up
        log.debug("uploaded %s (%d bytes) as %s", part.label or "video", len(part.data), up.name)
        return up

    @staticmethod
    def _response(reply: types.GenerateContentResponse, video_sent_as: str | None) -> ModelResponse:
        extra: dict[str, Any] = {"temperature_sent": True}
        if video_sent_as:
            extra["video_sent_as"] = video_sent_as
        usage = reply.usage_metadata
        tokens_in = getattr(usage, "prompt_token_count", None)
        outs = [getattr(usage, "candidates_token_count", None), getattr(usage, "thoughts_token_count", None)]
        tokens_out = None if all(x is None for x in outs) else sum(x or 0 for x in outs)
        if not reply.candidates:
            blocked = getattr(reply.prompt_feedback, "block_reason", None)
            if blocked is None:
                raise ProviderError("reply has no candidates", kind="bad_response", retryable=True)
            raw = str(getattr(blocked, "value", blocked))
            return ModelResponse(text=f"(prompt blocked: {raw})", input_tokens=tokens_in, output_tokens=tokens_out,
                                 stop_reason="content_filter", extra={**extra, "raw_stop_reason": f"blocked:{raw}"})
        candidate = reply.candidates[0]
        raw = str(getattr(candidate.finish_reason, "value", candidate.finish_reason) or "")
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        text = "".join(p.text for p in parts if p.text and not p.thought)
        return ModelResponse(text=text, input_tokens=tokens_in, output_tokens=tokens_out,
                             stop_reason=STOP_REASONS.get(raw, raw.lower() or None),
                             extra={**extra, "raw_stop_reason": raw})

    # ------------------------------------------------------------ end of the run

    async def aclose(self) -> None:
        """Delete this run's uploads (best effort: they expire on their own after 48 h), then close."""
        session = self._client.peek()
        uploads, self._uploads = list(self._uploads.values()), {}
        if session is not None:
            for up in uploads:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await session.client.aio.files.delete(name=up.name)
        await self._client.aclose()
