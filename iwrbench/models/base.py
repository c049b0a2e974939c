"""The one interface every text-producing model speaks: a request of text and images in, text out.

Generation, the replay agent (with --judge) and the judges all call `Model.complete`. Providers
(openai, anthropic, google) implement it; retries, caching and usage accounting live around it, once.
A request may carry one recording as a VideoPart (generate.py --video-input native); a provider
whose transport does not take video fails such a request at once, as a client error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    media_type: str = "image/png"  # image/png or image/jpeg
    label: str = ""  # for logs and cache keys only; never the bytes


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class VideoPart:
    """A whole recording, sent as the provider's native video input (never as frames)."""

    data: bytes
    media_type: str = "video/webm"  # video/webm or video/mp4
    fps: float | None = None  # frames per second of `data`, when known (Gemini samples at this rate)
    label: str = ""  # for logs and cache keys only; never the bytes


Part = TextPart | ImagePart | VideoPart


@dataclass(frozen=True)
class ModelRequest:
    parts: tuple[Part, ...]
    system: str | None = None
    max_tokens: int = 4096
    temperature: float = 0.0
    timeout: float = 300.0
    purpose: str = "generate"  # generate | locate | assert | rubric (for logs and usage)
    epoch: int = 1  # which independent generation of the same request (generate.py --epochs); >= 2: own cache key

    @property
    def image_count(self) -> int:
        return sum(isinstance(p, ImagePart) for p in self.parts)

    @property
    def video_count(self) -> int:
        return sum(isinstance(p, VideoPart) for p in self.parts)


@dataclass
class ModelResponse:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    attempts: int = 1
    cached: bool = False
    seconds: float = 0.0
    stop_reason: str | None = None
    extra: dict = field(default_factory=dict)


class ModelError(Exception):
    """A call that failed after every retry. `retryable` says whether a later rerun may succeed."""

    def __init__(self, message: str, *, retryable: bool = True, attempts: int = 0, kind: str = "error"):
        super().__init__(message)
        self.retryable = retryable
        self.attempts = attempts
        self.kind = kind  # short, stable cause: rate_limit, server_error, timeout, auth, client_error ...


@runtime_checkable
class Model(Protocol):
    name: str  # full name as given, e.g. "openai/gpt-4o"
    provider: str  # openai | anthropic | google | builtin

    async def complete(self, request: ModelRequest) -> ModelResponse: ...
