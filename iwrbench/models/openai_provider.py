"""OpenAI Chat Completions (also any compatible server: vLLM, Ollama, LM Studio … via OPENAI_BASE_URL).

Images travel as data URLs; a recording (--video-input native) as a `video_url` part holding a data
URL, the content part vLLM and similar servers take for video models. Reasoning models (o1/o3/o4…, gpt-5…) take `max_completion_tokens` and
only their default temperature; other servers may reject either parameter. When a server answers 400
naming one of them, the request is sent again at once adapted (not counted as a retry), and the
adaptation is kept for the rest of the run and recorded in the response.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import openai

from iwrbench.models.base import ImagePart, ModelRequest, ModelResponse, TextPart, VideoPart
from iwrbench.models.client import LoopBoundClient, mentions, translate_sdk_error
from iwrbench.models.retry import ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
REASONING = re.compile(r"^(o\d|gpt-5)", re.I)
STOP_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def to_messages(request: ModelRequest) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for part in request.parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        elif isinstance(part, VideoPart):
            url = f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"
            content.append({"type": "video_url", "video_url": {"url": url}})
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": content})
    return messages


class OpenAITransport:
    provider = "openai"
    accepts_video = True  # sent as video_url; a server whose model takes none answers 400 naming it

    def __init__(self, model: str, *, api_key: str, base_url: str | None = None):
        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        reasoning = bool(REASONING.match(model))
        self.use_completion_tokens = reasoning
        self.send_temperature = not reasoning
        self._client = LoopBoundClient(lambda: openai.AsyncOpenAI(
            api_key=api_key, base_url=self.base_url, max_retries=0))  # retries are ours (retry.py)

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": to_messages(request),
                                  "timeout": request.timeout}
        params["max_completion_tokens" if self.use_completion_tokens else "max_tokens"] = request.max_tokens
        if self.send_temperature:
            params["temperature"] = request.temperature
        return params

    async def send(self, request: ModelRequest) -> ModelResponse:
        for _ in range(3):  # at most two adaptations, then the error stands
            try:
                return await self._send_once(request)
            except ProviderError as exc:
                if self.send_temperature and mentions(exc, "temperature"):
                    self.send_temperature = False
                elif not self.use_completion_tokens and mentions(exc, "max_completion_tokens"):
                    self.use_completion_tokens = True
                else:
                    raise
        return await self._send_once(request)

    async def _send_once(self, request: ModelRequest) -> ModelResponse:
        client = self._client.get()
        try:
            async with asyncio.timeout(request.timeout):
                completion = await client.chat.completions.create(**self._params(request))
        except Exception as exc:
            err = translate_sdk_error(exc, openai, request.timeout)
            if err is None:
                raise
            raise err from None
        if not completion.choices:
            raise ProviderError("reply has no choices", kind="bad_response", retryable=True)
        choice = completion.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        raw_stop = choice.finish_reason
        stop = "refusal" if refusal else STOP_REASONS.get(str(raw_stop), str(raw_stop))
        usage = completion.usage
        return ModelResponse(
            text=(refusal or message.content or ""),
            input_tokens=getattr(usage, "prompt_tokens", None), output_tokens=getattr(usage, "completion_tokens", None),
            stop_reason=stop,
            extra={"raw_stop_reason": raw_stop, "temperature_sent": self.send_temperature,
                   "max_tokens_param": "max_completion_tokens" if self.use_completion_tokens else "max_tokens"})

    async def aclose(self) -> None:
        await self._client.aclose()
