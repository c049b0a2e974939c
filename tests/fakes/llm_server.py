"""A fake LLM server on loopback that speaks the OpenAI and Anthropic wire formats, for tests that drive
the real `openai` / `anthropic` SDKs end to end.

Start it with the pytest fixture `fake_llm` (tests/fixtures_generation.py) or by hand::

    with FakeLLMServer() as fake:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url_openai)       # .../v1
        client = anthropic.AsyncAnthropic(api_key="test", base_url=fake.base_url_anthropic)

Endpoints (real request and reply shapes, including usage fields and stop reasons):

    POST /v1/chat/completions   OpenAI Chat Completions (non-streaming; `stream: true` gets a 400)
    POST /v1/messages           Anthropic Messages (non-streaming; `stream: true` gets a 400)

Every request is recorded in `fake.requests` (a list of `RecordedRequest`: `.path`, `.api` ("openai" or
"anthropic"), `.headers` with secret headers replaced by "<redacted>", `.body` (decoded JSON), and the
helpers `.model`, `.text` (all text parts, system included, joined by newlines), `.images` (decoded
image bytes, in order), `.image_media_types`). Requests that are not valid JSON or lack the fields the
real API requires (`model`, `messages`; Anthropic also `max_tokens`) get the real 400 error shape.

What the server answers:

1. Scripted entries first: `fake.script([...])` queues entries consumed one per request, in order,
   across both endpoints. An entry is a reply text (str) or a `Fault`.
2. Otherwise the responder: `fake.set_responder(fn)` where `fn(request)` returns a reply text or a
   `Fault` (return a Fault to build a server that always fails). `request` is the RecordedRequest,
   which also reads like the request's JSON body: `request["messages"]`, `request.get("model")`,
   `"temperature" in request`. The default responder answers "fake reply".

Faults (class methods of `Fault`):

    Fault.rate_limit(retry_after=None)   429; retry_after: seconds (int/float/str) or an HTTP-date str,
                                         None = no Retry-After header
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

Token usage is deterministic: input = ceil(chars of text / 4) + 85 per image, output = ceil(chars of
reply / 4) (at least 1). `fake.clear()` forgets recorded requests and the script.
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

SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"}
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

    @classmethod
    def rate_limit(cls, retry_after: float | int | str | None = None) -> Fault:
        value = None if retry_after is None else (retry_after if isinstance(retry_after, str)
                                                  else f"{retry_after:g}")
        return cls("status", 429, "Rate limit reached", retry_after=value)

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
    api: str  # "openai" | "anthropic" | "unknown"
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.time)

    # The request reads like its JSON body too: req["messages"], req.get("model"), "temperature" in req.
    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def __contains__(self, key: object) -> bool:
        return isinstance(self.body, dict) and key in self.body

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    def _blocks(self) -> list[dict]:
        """Every content block of every message (strings become text blocks), system first."""
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

    def _image_blocks(self) -> list[tuple[str, bytes]]:
        images: list[tuple[str, bytes]] = []
        for b in self._blocks():
            if b.get("type") == "image_url":  # OpenAI: data URL
                url = str((b.get("image_url") or {}).get("url", ""))
                if url.startswith("data:") and "," in url:
                    head, data = url.split(",", 1)
                    images.append((head[5:].split(";")[0], base64.b64decode(data)))
            elif b.get("type") == "image":  # Anthropic: base64 source
                src = b.get("source") or {}
                if src.get("type") == "base64":
                    images.append((str(src.get("media_type", "")), base64.b64decode(src.get("data", ""))))
        return images

    @property
    def images(self) -> list[bytes]:
        return [data for _, data in self._image_blocks()]

    @property
    def image_media_types(self) -> list[str]:
        return [mt for mt, _ in self._image_blocks()]


def _usage(req: RecordedRequest, reply: str) -> tuple[int, int]:
    return math.ceil(len(req.text) / 4) + 85 * len(req.images), max(1, math.ceil(len(reply) / 4))


class FakeLLMServer:
    """See the module docstring. Thread-safe; one instance serves both APIs on one port."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
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

    def set_responder(self, fn: Responder) -> None:
        with self._lock:
            self._responder = fn

    def script(self, entries: list[Reply]) -> None:
        with self._lock:
            self._script.extend(entries)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()

    # ------------------------------------------------------------ serving

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0].rstrip("/")
        api = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path, "unknown")
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        headers = {k.lower(): ("<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in h.headers.items()}
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        req = RecordedRequest(path=path, api=api, headers=headers, body=body)
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

    @staticmethod
    def _invalid(req: RecordedRequest) -> str | None:
        body = req.body
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
            self._send_error(h, req.api, reply.code, reply.message, kind, extra)
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
                    headers: dict[str, str] | None = None) -> None:
        if api == "anthropic":
            payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
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
