"""The Gemini REST API's shapes for tests/fakes/llm_server.py: what the real `google-genai` SDK sends
and expects, over loopback.

    POST   /v1beta/models/<model>:generateContent   a generation (JSON in camelCase or snake_case)
    POST   /upload/v1beta/files                     Files API, resumable upload: `start` answers with an
                                                    `x-goog-upload-url`; the bytes go to that URL with
                                                    `upload, finalize` and get the File back
    GET    /v1beta/files/<id>                       the File (state PROCESSING for the first
                                                    `FileStore.processing_polls` reads, then ACTIVE)
    DELETE /v1beta/files/<id>                       forget it

Errors have Google's shape, `{"error": {"code", "message", "status", "details"}}`; a rate limit
carries a `google.rpc.RetryInfo` detail when a delay is scripted, and a bad key is Google's own 400
INVALID_ARGUMENT with an ErrorInfo of reason API_KEY_INVALID.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

GENERATE_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")
UPLOAD_PATH = "/upload/v1beta/files"
FILE_PATH = re.compile(r"^/v1beta/files/(?P<id>[\w.-]+)$")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
TOKENS_PER_VIDEO = 1000  # the fake's flat charge for one video (the real API: ~258 per sampled second)


def _get(d: dict, *names: str) -> Any:
    """A field under its camelCase or snake_case name (the API accepts both)."""
    for name in names:
        if name in d:
            return d[name]
    return None


def b64(text: str) -> bytes:
    """Base64 in either alphabet, padded or not (the SDK sends the URL-safe one; the API takes both)."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def blocks(body: Any, files: dict[str, tuple[str, bytes]]) -> list[dict]:
    """System instruction and user parts as uniform blocks: {"type": "text", "text"} or
    {"type": "media", "media_type", "data", "via": "inline"|"file", "fps"}."""
    if not isinstance(body, dict):
        return []
    out: list[dict] = []
    system = _get(body, "systemInstruction", "system_instruction")
    contents = list(body.get("contents") or [])
    if isinstance(system, dict):
        contents.insert(0, system)
    for content in contents:
        for part in (content.get("parts") or []) if isinstance(content, dict) else []:
            if not isinstance(part, dict):
                continue
            meta = _get(part, "videoMetadata", "video_metadata") or {}
            fps = meta.get("fps") if isinstance(meta, dict) else None
            if "text" in part:
                out.append({"type": "text", "text": part["text"]})
            elif (inline := _get(part, "inlineData", "inline_data")) is not None:
                out.append({"type": "media", "media_type": _get(inline, "mimeType", "mime_type") or "",
                            "data": b64(inline.get("data") or ""), "via": "inline", "fps": fps})
            elif (ref := _get(part, "fileData", "file_data")) is not None:
                uri = _get(ref, "fileUri", "file_uri") or ""
                mime, data = files.get(uri, (_get(ref, "mimeType", "mime_type") or "", b""))
                out.append({"type": "media", "media_type": mime, "data": data, "via": "file", "fps": fps,
                            "uri": uri})
    return out


def invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body is not a JSON object"
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "contents is not specified"
    return None


def completion(text: str, how: str, model: str, tokens_in: int, tokens_out: int) -> dict[str, Any]:
    """A generateContent reply: how = normal | length | refusal."""
    usage = {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out,
             "totalTokenCount": tokens_in + tokens_out}
    if how == "refusal":  # the real API: a candidate stopped for safety, with no content parts
        candidate: dict[str, Any] = {"finishReason": "SAFETY", "index": 0,
                                     "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                                        "probability": "HIGH", "blocked": True}]}
        usage = {"promptTokenCount": tokens_in, "totalTokenCount": tokens_in}
    else:
        candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0,
                     "finishReason": "MAX_TOKENS" if how == "length" else "STOP"}
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
            "responseId": "fake-gemini"}


def error(status: int, message: str, *, retry_delay: float | None = None, reason: str | None = None) -> dict:
    details: list[dict[str, Any]] = []
    if reason:
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                        "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}})
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:g}s"})
    payload: dict[str, Any] = {"code": status, "message": message,
                               "status": STATUS_NAMES.get(status, "UNKNOWN" if status >= 500 else "FAILED_PRECONDITION")}
    if details:
        payload["details"] = details
    return {"error": payload}


@dataclass
class FakeFile:
    name: str  # files/<id>
    mime_type: str
    display_name: str
    size: int
    uri: str = ""
    data: bytes = b""
    state: str = "PROCESSING"
    reads: int = 0

    def resource(self) -> dict[str, Any]:
        return {"name": self.name, "displayName": self.display_name, "mimeType": self.mime_type,
                "sizeBytes": str(self.size), "createTime": "2025-01-01T00:00:00Z",
                "updateTime": "2025-01-01T00:00:00Z", "expirationTime": "2025-01-03T00:00:00Z",
                "sha256Hash": "", "uri": self.uri, "state": self.state,
                "source": "UPLOADED"}


@dataclass
class FileStore:
    """Uploaded files, by name. `processing_polls` reads answer PROCESSING before a file is ACTIVE;
    `fail_processing` makes every file end FAILED instead."""

    processing_polls: int = 1
    fail_processing: bool = False
    files: dict[str, FakeFile] = field(default_factory=dict)
    pending: dict[str, FakeFile] = field(default_factory=dict)  # upload id -> file being uploaded
    deleted: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def by_uri(self) -> dict[str, tuple[str, bytes]]:
        with self._lock:
            return {f.uri: (f.mime_type, f.data) for f in self.files.values()}

    def start(self, headers: dict[str, str], body: Any, base_url: str) -> tuple[int, dict[str, str], dict]:
        if headers.get("x-goog-upload-protocol") != "resumable" or headers.get("x-goog-upload-command") != "start":
            return 400, {}, error(400, "expected a resumable upload start")
        meta = (body or {}).get("file") or {} if isinstance(body, dict) else {}
        size = int(headers.get("x-goog-upload-header-content-length") or 0)
        mime = headers.get("x-goog-upload-header-content-type") or _get(meta, "mimeType", "mime_type") or ""
        with self._lock:
            n = next(self._ids)
            upload_id = f"up{n}"
            self.pending[upload_id] = FakeFile(name=f"files/fake{n}", mime_type=mime, size=size,
                                               uri=f"{base_url}/v1beta/files/fake{n}",
                                               display_name=_get(meta, "displayName", "display_name") or "")
        return 200, {"x-goog-upload-url": f"{base_url}{UPLOAD_PATH}?upload_id={upload_id}",
                     "x-goog-upload-status": "active"}, {}

    def chunk(self, upload_id: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, dict]:
        with self._lock:
            f = self.pending.get(upload_id)
            if f is None:
                return 404, {"x-goog-upload-status": "final"}, error(404, f"no upload {upload_id}")
            offset = int(headers.get("x-goog-upload-offset") or 0)
            if offset != len(f.data):
                return 400, {"x-goog-upload-status": "final"}, error(400, "offset does not match what was received")
            f.data += raw
            if "finalize" not in (headers.get("x-goog-upload-command") or ""):
                return 200, {"x-goog-upload-status": "active"}, {}
            del self.pending[upload_id]
            if len(f.data) != f.size:
                return 400, {"x-goog-upload-status": "final"}, error(400, "size does not match the upload start")
            self.files[f.name] = f
            return 200, {"x-goog-upload-status": "final"}, {"file": f.resource()}

    def get(self, file_id: str) -> tuple[int, dict]:
        with self._lock:
            f = self.files.get(f"files/{file_id}")
            if f is None:
                return 404, error(404, f"File files/{file_id} not found")
            f.reads += 1
            if f.state == "PROCESSING" and f.reads > self.processing_polls:
                f.state = "FAILED" if self.fail_processing else "ACTIVE"
            res = f.resource()
            if f.state == "FAILED":
                res["error"] = {"code": 400, "message": "the video could not be processed"}
            return 200, res

    def delete(self, file_id: str) -> tuple[int, dict]:
        with self._lock:
            f = self.files.pop(f"files/{file_id}", None)
            if f is None:
                return 404, error(404, f"File files/{file_id} not found")
            self.deleted.append(f.name)
            return 200, {}
