"""Model names to model objects: `openai/<id>`, `anthropic/<id>`, `google/<id>` (Gemini), bare names as
in the original README (`gpt-…`, `o3…`, `claude-…`, `gemini-…`), and the offline
`builtin/oracle|screenshot|blank`.

Keys come only from the environment (or `.env`): a missing key is a one-line UserError raised by
`get_model`, i.e. before any work starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from iwrbench.errors import UserError
from iwrbench.models.builtin import BUILTIN_KINDS, BuiltinModel
from iwrbench.models.client import RemoteModel
from iwrbench.models.settings import ModelSettings, resolve_settings
from iwrbench.redaction import register

PROVIDERS = ("openai", "anthropic", "google", "builtin")
BARE_OPENAI = re.compile(r"^(gpt-|chatgpt-|o\d(\b|-|$)|ft:gpt-)", re.I)
BARE_ANTHROPIC = re.compile(r"^claude-", re.I)
BARE_GOOGLE = re.compile(r"^gemini-", re.I)
# The first variable that is set wins. Gemini's key goes by either name (the SDK reads both).
KEY_VARS = {"openai": ("OPENAI_API_KEY",), "anthropic": ("ANTHROPIC_API_KEY",),
            "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
URL_VARS = {"openai": ("OPENAI_BASE_URL",), "anthropic": ("ANTHROPIC_BASE_URL",),
            "google": ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")}
NAME_HELP = ("use openai/<model> (also any OpenAI-compatible server via OPENAI_BASE_URL), "
             "anthropic/<model>, google/<model> (Gemini), or builtin/oracle, builtin/screenshot, builtin/blank")


@dataclass(frozen=True)
class ModelSpec:
    name: str  # as the user wrote it (this names the output folder)
    provider: str
    model_id: str  # what the provider calls it


def parse_model_name(name: str) -> ModelSpec:
    raw = (name or "").strip()
    if not raw:
        raise UserError(f"--model is empty: {NAME_HELP}")
    if "/" in raw:
        provider, _, model_id = raw.partition("/")
        provider = provider.lower()
        if provider not in PROVIDERS:
            raise UserError(f"model {raw!r}: unknown provider {provider!r}: {NAME_HELP}")
        if not model_id.strip():
            raise UserError(f"model {raw!r} names no model: {NAME_HELP}")
        if provider == "builtin" and model_id not in BUILTIN_KINDS:
            raise UserError(f"model {raw!r}: builtins are {', '.join('builtin/' + k for k in BUILTIN_KINDS)}")
        return ModelSpec(raw, provider, model_id.strip())
    if BARE_OPENAI.match(raw):
        return ModelSpec(raw, "openai", raw)
    if BARE_ANTHROPIC.match(raw):
        return ModelSpec(raw, "anthropic", raw)
    if BARE_GOOGLE.match(raw):
        return ModelSpec(raw, "google", raw)
    raise UserError(f"model {raw!r}: cannot tell its provider from a bare name: {NAME_HELP}")


def credentials(spec: ModelSpec, env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """(api key, base URL or None for the provider's own). UserError when the key is missing."""
    env = os.environ if env is None else env
    names = KEY_VARS[spec.provider]
    key = next((v for v in ((env.get(n) or "").strip() for n in names) if v), "")
    if not key:
        hint = " (any non-empty value will do for a local server that checks no key)" \
            if spec.provider == "openai" else ""
        raise UserError(f"{spec.name} needs {' or '.join(names)} in the environment or .env{hint}")
    base = next((v for v in ((env.get(n) or "").strip() for n in URL_VARS[spec.provider]) if v), None)
    register(key)  # a provider may echo the key in an error message: it is redacted everywhere
    return key, base


def get_model(name: str, settings: ModelSettings | None = None, *, env: Mapping[str, str] | None = None,
              allow_builtin: bool = True) -> RemoteModel | BuiltinModel:
    """The model object for `name`, with retries and the response cache around every call.

    `settings` default to the provider's defaults overridden by the environment. Judges and the
    replay agent pass allow_builtin=False: a builtin cannot answer prompts.
    """
    spec = parse_model_name(name)
    if spec.provider == "builtin":
        if not allow_builtin:
            raise UserError(f"{spec.name} builds pages; it cannot answer prompts: pick an openai/, anthropic/ "
                            "or google/ model")
        return BuiltinModel(spec.name, spec.model_id)
    settings = settings or resolve_settings(spec.provider, env=env)
    key, base_url = credentials(spec, env)
    if spec.provider == "openai":
        from iwrbench.models.openai_provider import OpenAITransport

        transport = OpenAITransport(spec.model_id, api_key=key, base_url=base_url)
    elif spec.provider == "google":
        from iwrbench.models.gemini_provider import GeminiTransport

        transport = GeminiTransport(spec.model_id, api_key=key, base_url=base_url)
    else:
        from iwrbench.models.anthropic_provider import AnthropicTransport

        transport = AnthropicTransport(spec.model_id, api_key=key, base_url=base_url)
    return RemoteModel(spec.name, transport, settings)
