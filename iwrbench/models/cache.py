"""Response cache on disk: a rerun after a crash (or of finished work with new post-processing) costs
nothing. The key covers everything that shapes a reply: provider, base URL, model, system and text
parts, the hash of every image's and video's bytes, and the sampling settings. Only complete replies are stored
(no failures, no refusals); entries are written atomically and hold no image data and no secrets.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from iwrbench.fsutil import atomic_write_json, read_json
from iwrbench.models.base import ImagePart, ModelRequest, ModelResponse, TextPart, VideoPart

CACHE_FORMAT = 1
CACHEABLE_STOPS = frozenset({"stop", "length"})


def public_url(url: str | None) -> str:
    """A base URL without user:password, query or fragment (safe to hash, log and record)."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def request_fingerprint(request: ModelRequest) -> list[Any]:
    """The request's content as hashable JSON: text verbatim, images and videos by sha256 and media type
    (a video also by the frame rate it is declared at)."""
    parts: list[Any] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            parts.append(["text", part.text])
        elif isinstance(part, ImagePart):
            parts.append(["image", part.media_type, hashlib.sha256(part.data).hexdigest()])
        elif isinstance(part, VideoPart):
            parts.append(["video", part.media_type, hashlib.sha256(part.data).hexdigest(), part.fps])
    return [request.system, parts]


def cache_key(*, provider: str, base_url: str | None, model: str, request: ModelRequest,
              extra: dict[str, Any] | None = None) -> str:
    payload = {"v": CACHE_FORMAT, "provider": provider, "base_url": public_url(base_url), "model": model,
               "content": request_fingerprint(request),
               "settings": {"max_tokens": request.max_tokens, "temperature": request.temperature,
                            **(extra or {})}}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """`root/<k[:2]>/<k>.json`; a missing or unreadable entry is a miss, never an error."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> ModelResponse | None:
        data = read_json(self.path(key))
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("text"), str):
            return None
        return ModelResponse(text=data["text"], input_tokens=data.get("input_tokens"),
                             output_tokens=data.get("output_tokens"), attempts=0, cached=True, seconds=0.0,
                             stop_reason=data.get("stop_reason"), extra=dict(data.get("extra") or {}))

    def forget(self, key: str) -> bool:
        """Drop an entry (a reply its caller could not use); True when there was one."""
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def put(self, key: str, response: ModelResponse, *, provider: str, model: str) -> bool:
        """Store a complete reply; returns False (stores nothing) for anything else."""
        if response.stop_reason not in CACHEABLE_STOPS:
            return False
        atomic_write_json(self.path(key), {
            "format": CACHE_FORMAT, "provider": provider, "model": model, "text": response.text,
            "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
            "stop_reason": response.stop_reason, "extra": response.extra, "stored_at": time.time(),
            "first_seconds": response.seconds, "first_attempts": response.attempts})
        return True
