"""Anthropic Messages API; images as base64 blocks.

The installed SDK no longer has a `temperature` argument, while API version 2023-06-01 (which it
sends) still accepts one for most models: it goes in the request body. A model that rejects it
(newer ones answer 400 "temperature is deprecated") gets the request again at once without it, for
the rest of the run, and the response records that.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import anthropic

from iwrbench.models.base import ImagePart, ModelRequest, ModelResponse, TextPart
from iwrbench.models.client import LoopBoundClient, mentions, translate_sdk_error
from iwrbench.models.retry import ProviderError

DEFAULT_BASE_URL = "https://api.anthropic.com"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "refusal",
                "model_context_window_exceeded": "length"}


def to_messages(request: ModelRequest) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            content.append({"type": "image", "source": {
                "type": "base64", "media_type": part.media_type,
                "data": base64.b64encode(part.data).decode("ascii")}})
    return [{"role": "user", "content": content}]


class AnthropicTransport:
    provider = "anthropic"
    accepts_video = False  # the Messages API takes images and documents, no video

    def __init__(self, model: str, *, api_key: str, base_url: str | None = None):
        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.send_temperature = True
        self._client = LoopBoundClient(lambda: anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self.base_url, max_retries=0))  # retries are ours (retry.py)

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens,
                                  "messages": to_messages(request), "timeout": request.timeout}
        if request.system:
            params["system"] = request.system
        if self.send_temperature:
            params["extra_body"] = {"temperature": request.temperature}
        return params

    async def send(self, request: ModelRequest) -> ModelResponse:
        try:
            return await self._send_once(request)
        except ProviderError as exc:
            if not (self.send_temperature and mentions(exc, "temperature")):
                raise
            self.send_temperature = False
        return await self._send_once(request)

    async def _send_once(self, request: ModelRequest) -> ModelResponse:
        client = self._client.get()
        try:
            async with asyncio.timeout(request.timeout):
                message = await client.messages.create(**self._params(request))
        except Exception as exc:
            err = translate_sdk_error(exc, anthropic, request.timeout)
            if err is None:
                raise
            raise err from None
        text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
        raw_stop = message.stop_reason
        usage = message.usage
        tokens_in = getattr(usage, "input_tokens", None)
        if tokens_in is not None:
            tokens_in += (getattr(usage, "cache_creation_input_tokens", 0) or 0) + \
                         (getattr(usage, "cache_read_input_tokens", 0) or 0)
        return ModelResponse(text=text, input_tokens=tokens_in, output_tokens=getattr(usage, "output_tokens", None),
                             stop_reason=STOP_REASONS.get(str(raw_stop), str(raw_stop)),
                             extra={"raw_stop_reason": raw_stop, "temperature_sent": self.send_temperature})

    async def aclose(self) -> None:
        await self._client.aclose()
