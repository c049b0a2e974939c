"""A fake LLM server on loopback that speaks the OpenAI, Anthropic and Gemini wire formats, for tests
that drive the real `openai` / `anthropic` / `google-genai` SDKs end to end.

Start it with the pytest fixture `fake_llm` (tests/fixtures_generation.py) or by hand::

    with FakeLLMServer() as fake:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url_openai)       # .../v1
        client = anthropic.AsyncAnthropic(api_key="test", base_url=fake.base_url_anthropic)
        client = genai.Client(api_key="test", http_options={"base_url": fake.base_url_gemini})

Endpoints (real request and reply shapes, including usage fields and stop reasons):

    POST /v1/chat/completions   OpenAI Chat Completions (non-streaming; `stream: true` gets a 400);
                                images as `image_url`, videos as `video_url` data URLs (as vLLM takes them)
    POST /v1/messages           Anthropic Messages (non-streaming; `stream: true` gets a 400)
    POST /v1beta/models/<m>:generateContent, and the Files API (upload, get, delete): Gemini, see
                                tests/fakes/gemini_api.py; uploaded files are in `fake.files.files`
                                and their HTTP requests in `fake.file_requests`

Every model request is recorded in `fake.requests` (a list of `RecordedRequest`: `.path`, `.api`
("openai", "anthropic" or "gemini"), `.headers` with secret headers replaced by "<redacted>", `.body`
(decoded JSON), and the helpers `.model`, `.text` (all text parts, system included, joined by
newlines), `.images` (decoded image bytes, in order), `.image_media_types`, `.videos`,
`.video_media_types` and `.media` (every image and video in order: type, media_type, data, and how it
came: data_url, base64, inline or file)). Requests that are not valid JSON or lack the fields the
real API requires (`model`, `messages`; Anthropic also `max_tokens`; Gemini `contents`) get the real
400 error shape.

What the server answers:

1. Scripted entries first: `fake.script([...])` queues entries consumed one per request, in order,
   across both endpoints. An entry is a reply text (str) or a `Fault`.
2. Otherwise the responder: `fake.set_responder(fn)` where `fn(request)` returns a reply text or a
   `Fault` (return a Fault to build a server that always fails). `request` is the RecordedRequest,
   which also reads like the request's JSON body: `request["messages"]`, `request.get("model")`,
   `"temperature" in request`. The default responder answers "fake reply".

Faults (class methods of `Fault`):

    Fault.rate_limit(retry_after=None)   429; retry_after: seconds (int/float/str) or an HTTP-date str,
                                         None = no Retry-After header; retry_delay=S: Gemini's own
                                         google.rpc.RetryInfo in the error body (no header)
    Fault.bad_key()                      each API's answer to a wrong key (OpenAI and Anthropic 401,
                                         Gemini 400 INVALID_ARGUMENT with reason API_KEY_INVALID)
    Fault.server_error(status=500)       5xx with the provider's error body
    Fault.overloaded()                   529 overloaded_error (Anthropic's; OpenAI clients see a 529 too)
    Fault.status(code, message)          any HTTP error status with the provider's error body
    Fault.hang(seconds=30, then=None)    accept the request and answer nothing for `seconds` (longer than
                                         the client's timeout), then reply `then` (or the responder's);
                                         stopping the server ends the wait at once
    Fault.truncated(text)                200 with finish_reason "length" / stop_reason "max_tokens"
    Fault.refusal(text)                  200 with a refusal: OpenAI `message.refusal` (content null),
                                         Anthropic stop_reason "refusal"
    Fault.garbage(body)                  200 with a body that is not JSON

Token usage is deterministic: input = ceil(chars of text / 4) + 85 per image + 1000 per video,
output = ceil(chars of reply / 4) (at least 1). `fake.clear()` forgets recorded requests and the script.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import gemini_api

SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization", "x-goog-api-key"}
DEFAULT_REPLY = "fake reply"


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build it with the class methods, not by hand."""

    kind: str  # status | hang | truncated | refusal | garbage
    code: int = 200  # HTTP status of a "status" fault
    message: str = ""
    retry_after: str | None = None
    seconds: float = 0.0
    text: str = ""
    then: str | None = None
    body: bytes = b""
    retry_delay: float | None = None  # Gemini's RetryInfo in the error body

    @classmethod
    def rate_limit(cls, retry_after: float | int | str | None = None, *, retry_delay: float | None = None) -> Fault:
        value = None if retry_after is None else (retry_after if isinstance(retry_after, str)
                                                  else f"{retry_after:g}")
        return cls("status", 429, "Rate limit reached", retry_after=value, retry_delay=retry_delay)

    @classmethod
    def bad_key(cls) -> Fault:
        return cls("bad_key")

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("status", status, "The server had an error while processing your request")

    @classmethod
    def overloaded(cls) -> Fault:
        return cls("status", 529, "Overloaded")

    @classmethod
    def status(cls, code: int, message: str = "error") -> Fault:
        return cls("status", code, message)

    @classmethod
    def hang(cls, seconds: float = 30.0, then: str | None = None) -> Fault:
        return cls("hang", seconds=seconds, then=then)

    @classmethod
    def truncated(cls, text: str = "<!DOCTYPE html><html><body><div>cut off") -> Fault:
        return cls("truncated", text=text)

    @classmethod
    def refusal(cls, text: str = "I'm sorry, but I can't help with that.") -> Fault:
        return cls("refusal", text=text)

    @classmethod
    def garbage(cls, body: bytes = b"<html>502 Bad Gateway</html> not json {") -> Fault:
        return cls("garbage", body=body)


Reply = str | Fault
Responder = Callable[["RecordedRequest"], Reply]


@dataclass
class RecordedRequest:
    path: str
    api: str  # "openai" | "anthropic" | "gemini" | "unknown"
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.time)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # Gemini: uploaded files, by uri

    # The request reads like its JSON body too: req["messages"], req.get("model"), "temperature" in req.
    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def __contains__(self, key: object) -> bool:
        return isinstance(self.body, dict) and key in self.body

    @property
    def model(self) -> str | None:
        if self.api == "gemini":
            m = gemini_api.GENERATE_PATH.match(self.path)
            return m.group("model") if m else None
        return self.body.get("model") if isinstance(self.body, dict) else None

    def _blocks(self) -> list[dict]:
        """Every content block of every message (strings become text blocks), system first."""
        if self.api == "gemini":
            return gemini_api.blocks(self.body, self.files)
        if not isinstance(self.body, dict):
            return []
        out: list[dict] = []
        system = self.body.get("system")
        if isinstance(system, str):
            out.append({"type": "text", "text": system})
        elif isinstance(system, list):
            out.extend(b for b in system if isinstance(b, dict))
        for msg in self.body.get("messages") or []:
            content = msg.get("content") if isinstance(msg, dict) else None
            if isinstance(content, str):
                out.append({"type": "text", "text": content})
            elif isinstance(content, list):
                out.extend(b for b in content if isinstance(b, dict))
        return out

    @property
    def text(self) -> str:
        return "\n".join(str(b.get("text", "")) for b in self._blocks() if b.get("type") == "text")

    @property
    def media(self) -> list[dict]:
        """Every image and video in order: {"type": "image"|"video", "media_type", "data", "via", "fps"}."""
        out: list[dict] = []
        for b in self._blocks():
            kind = b.get("type")
            if kind in ("image_url", "video_url"):  # OpenAI (and vLLM): data URL
                url = str((b.get(kind) or {}).get("url", ""))
                if url.startswith("data:") and "," in url:
                    head, data = url.split(",", 1)
                    out.append({"type": kind[:5], "media_type": head[5:].split(";")[0],
                                "data": base64.b64decode(data), "via": "data_url", "fps": None})
            elif kind == "image":  # Anthropic: base64 source
                src = b.get("source") or {}
                if src.get("type") == "base64":
                    out.append({"type": "image", "media_type": str(src.get("media_type", "")),
                                "data": base64.b64decode(src.get("data", "")), "via": "base64", "fps": None})
            elif kind == "media":  # Gemini: inline data or an uploaded file
                major = str(b["media_type"]).split("/")[0]
                out.append({**b, "type": major if major in ("image", "video") else "other"})
        return out

    @property
    def images(self) -> list[bytes]:
        return [m["data"] for m in self.media if m["type"] == "image"]

    @property
    def image_media_types(self) -> list[str]:
        return [m["media_type"] for m in self.media if m["type"] == "image"]

    @property
    def videos(self) -> list[bytes]:
        return [m["data"] for m in self.media if m["type"] == "video"]

    @property
    def video_media_types(self) -> list[str]:
        return [m["media_type"] for m in self.media if m["type"] == "video"]


def _usage(req: RecordedRequest, reply: str) -> tuple[int, int]:
    tokens_in = math.ceil(len(req.text) / 4) + 85 * len(req.images) + gemini_api.TOKENS_PER_VIDEO * len(req.videos)
    return tokens_in, max(1, math.ceil(len(reply) / 4))


class FakeLLMServer:
    """See the module docstring. Thread-safe; one instance serves both APIs on one port."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.file_requests: list[tuple[str, str]] = []  # (method, path) of Gemini Files API calls
        self.files = gemini_api.FileStore()
        self._script: deque[Reply] = deque()
        self._responder: Responder = lambda _req: DEFAULT_REPLY
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ control

    def start(self) -> FakeLLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                server._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

            def do_DELETE(self) -> None:  # noqa: N802
                server._handle(self)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url_openai(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def base_url_anthropic(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_gemini(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_responder(self, fn: Responder) -> None:
        with self._lock:
            self._responder = fn

    def script(self, entries: list[Reply]) -> None:
        with self._lock:
            self._script.extend(entries)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.file_requests.clear()
            self._script.clear()

    # ------------------------------------------------------------ serving

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0].rstrip("/")
        api = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path, "unknown")
        if gemini_api.GENERATE_PATH.match(path):
            api = "gemini"
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        headers = {k.lower(): ("<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in h.headers.items()}
        if path == gemini_api.UPLOAD_PATH or gemini_api.FILE_PATH.match(path):
            self._files(h, path, headers, raw)
            return
        if h.command != "POST":
            self._send_error(h, api, 405, f"{h.command} {path} is not allowed", "invalid_request_error")
            return
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        req = RecordedRequest(path=path, api=api, headers=headers, body=body,
                              files=self.files.by_uri() if api == "gemini" else {})
        with self._lock:
            self.requests.append(req)
        if api == "unknown":
            self._send_error(h, api, 404, f"no route {path}", "not_found_error")
            return
        problem = self._invalid(req)
        if problem:
            self._send_error(h, api, 400, problem, "invalid_request_error")
            return
        with self._lock:
            entry = self._script.popleft() if self._script else None
            responder = self._responder
        reply = entry if entry is not None else responder(req)
        self._answer(h, req, reply)

    def _files(self, h: BaseHTTPRequestHandler, path: str, headers: dict[str, str], raw: bytes) -> None:
        """The Gemini Files API (uploads are not model calls: no script entry is used)."""
        with self._lock:
            self.file_requests.append((h.command, path))
        query = parse_qs(urlsplit(h.path).query)
        extra: dict[str, str] = {}
        if path == gemini_api.UPLOAD_PATH and h.command == "POST" and "upload_id" in query:
            status, extra, payload = self.files.chunk(query["upload_id"][0], headers, raw)
        elif path == gemini_api.UPLOAD_PATH and h.command == "POST":
            try:
                body = json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
            status, extra, payload = self.files.start(headers, body, self.base_url_gemini)
        elif (m := gemini_api.FILE_PATH.match(path)) and h.command == "GET":
            status, payload = self.files.get(m.group("id"))
        elif (m := gemini_api.FILE_PATH.match(path)) and h.command == "DELETE":
            status, payload = self.files.delete(m.group("id"))
        else:
            status, payload = 405, gemini_api.error(405, f"{h.command} {path} is not allowed")
        self._send_raw(h, status, json.dumps(payload).encode("utf-8"), "application/json", extra)

    @staticmethod
    def _invalid(req: RecordedRequest) -> str | None:
        body = req.body
        if req.api == "gemini":
            return gemini_api.invalid(body)
        if not isinstance(body, dict):
            return "request body is not a JSON object"
        if not isinstance(body.get("model"), str) or not body["model"]:
            return "model: field required"
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "messages: field required"
        if req.api == "anthropic" and not isinstance(body.get("max_tokens"), int):
            return "max_tokens: field required"
        if body.get("stream"):
            return "the fake server does not stream"
        return None

    def _answer(self, h: BaseHTTPRequestHandler, req: RecordedRequest, reply: Reply) -> None:
        if isinstance(reply, str):
            self._send_completion(h, req, reply, "normal")
            return
        if reply.kind == "status":
            extra = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(
                reply.code, "api_error" if reply.code >= 500 else "invalid_request_error")
            self._send_error(h, req.api, reply.code, reply.message, kind, extra, retry_delay=reply.retry_delay)
        elif reply.kind == "bad_key":
            if req.api == "gemini":
                self._send_error(h, req.api, 400, "API key not valid. Please pass a valid API key.",
                                 "invalid_request_error", reason="API_KEY_INVALID")
            else:
                self._send_error(h, req.api, 401, "Incorrect API key provided: sk-...e7f2.", "authentication_error")
        elif reply.kind == "hang":
            if self._stop.wait(reply.seconds):
                return  # server stopping: drop the connection
            then = reply.then if reply.then is not None else self._responder(req)
            self._answer(h, req, then if isinstance(then, str) else DEFAULT_REPLY)
        elif reply.kind == "truncated":
            self._send_completion(h, req, reply.text, "length")
        elif reply.kind == "refusal":
            self._send_completion(h, req, reply.text, "refusal")
        elif reply.kind == "garbage":
            self._send_raw(h, 200, reply.body, "application/json")
        else:
            raise ValueError(f"unknown fault kind {reply.kind!r}")

    def _send_completion(self, h: BaseHTTPRequestHandler, req: RecordedRequest, text: str, how: str) -> None:
        n = next(self._ids)
        tokens_in, tokens_out = _usage(req, text)
        if req.api == "gemini":
            payload = gemini_api.completion(text, how, req.model or "", tokens_in, tokens_out)
            self._send_raw(h, 200, json.dumps(payload).encode("utf-8"), "application/json")
            return
        if req.api == "openai":
            message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
            if how == "refusal":
                message = {"role": "assistant", "content": None, "refusal": text}
            payload: dict[str, Any] = {
                "id": f"chatcmpl-fake{n}", "object": "chat.completion", "created": int(time.time()),
                "model": req.model, "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": "length" if how == "length" else "stop"}],
                "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                          "total_tokens": tokens_in + tokens_out},
            }
        else:
            stop = {"length": "max_tokens", "refusal": "refusal"}.get(how, "end_turn")
            payload = {
                "id": f"msg_fake{n}", "type": "message", "role": "assistant", "model": req.model,
                "content": [{"type": "text", "text": text}] if text else [],
                "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            }
        self._send_raw(h, 200, json.dumps(payload).encode("utf-8"), "application/json")

    def _send_error(self, h: BaseHTTPRequestHandler, api: str, status: int, message: str, kind: str,
                    headers: dict[str, str] | None = None, *, retry_delay: float | None = None,
                    reason: str | None = None) -> None:
        payload: dict[str, Any]
        if api == "gemini":
            payload = gemini_api.error(status, message, retry_delay=retry_delay, reason=reason)
        elif api == "anthropic":
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            code = {429: "rate_limit_exceeded"}.get(status)
            payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._send_raw(h, status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    @staticmethod
    def _send_raw(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str,
                  headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer
