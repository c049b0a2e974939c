"""Per-model settings: provider defaults, overridden by the environment (and `.env`), overridden by flags.

Environment variables (all optional):

    IWRBENCH_MAX_TOKENS    reply budget in tokens              IWRBENCH_TIMEOUT       seconds per request
    IWRBENCH_MAX_IMAGES    images per request, in all          IWRBENCH_MAX_ATTEMPTS  attempts per request
    IWRBENCH_IMAGE_SIDE    longest image side in pixels        IWRBENCH_TEMPERATURE   sampling temperature
    IWRBENCH_MAX_DELAY     longest wait between attempts (s)   IWRBENCH_CACHE_DIR     response cache folder
    IWRBENCH_NO_CACHE      1 = neither read nor write the response cache

    IWRBENCH_GEMINI_INLINE_MB  largest Gemini request sent inline (MB, 20); a video in a larger
                               request goes through the Files API

API keys are never settings: they come from OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY
(or GOOGLE_API_KEY) only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from iwrbench.errors import UserError


@dataclass(frozen=True)
class ModelSettings:
    max_tokens: int = 16384
    temperature: float = 0.0
    timeout: float = 600.0  # seconds for one request, end to end
    max_attempts: int = 4
    max_delay: float = 60.0
    base_delay: float = 1.0
    max_images: int = 70  # the paper: 64 frames + contact sheets
    image_side: int = 1280
    cache: bool = True
    cache_dir: Path = Path(".cache/responses")
    refresh: bool = False  # do not read cached replies (still write new ones): --force

    def public(self) -> dict[str, Any]:
        """What generation.json records (no paths that vary by machine)."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "timeout": self.timeout,
                "max_attempts": self.max_attempts, "max_images": self.max_images,
                "image_side": self.image_side, "cache": self.cache}


# Provider defaults. Anthropic accepts at most 100 images a request and scales any side over 1568 px
# down itself; 1280 px keeps 70 images inside both providers' request-size limits as JPEG.
PROVIDER_DEFAULTS: dict[str, ModelSettings] = {
    "openai": ModelSettings(),
    "anthropic": ModelSettings(),
    "google": ModelSettings(),
    "builtin": ModelSettings(cache=False),
}

PROVIDER_MAX_IMAGES: dict[str, int] = {"anthropic": 100}

ENV_NAMES: dict[str, str] = {
    "max_tokens": "IWRBENCH_MAX_TOKENS",
    "temperature": "IWRBENCH_TEMPERATURE",
    "timeout": "IWRBENCH_TIMEOUT",
    "max_attempts": "IWRBENCH_MAX_ATTEMPTS",
    "max_delay": "IWRBENCH_MAX_DELAY",
    "max_images": "IWRBENCH_MAX_IMAGES",
    "image_side": "IWRBENCH_IMAGE_SIDE",
    "cache_dir": "IWRBENCH_CACHE_DIR",
}

LIMITS: dict[str, tuple[float, float]] = {
    "max_tokens": (1, 1_000_000), "temperature": (0.0, 2.0), "timeout": (1.0, 36_000.0),
    "max_attempts": (1, 100), "max_delay": (0.0, 3600.0), "base_delay": (0.0, 600.0),
    "max_images": (1, 1000), "image_side": (64, 8192),
}


def _convert(name: str, value: Any, source: str) -> Any:
    kind = {f.name: f.type for f in fields(ModelSettings)}[name]
    try:
        if kind in ("int", int):
            out: Any = int(str(value).strip())
        elif kind in ("float", float):
            out = float(str(value).strip())
        elif kind in ("bool", bool):
            out = value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}
        elif kind in ("Path", Path):
            out = Path(str(value))
        else:
            out = value
    except ValueError:
        raise UserError(f"{source}: {value!r} is not a valid {name.replace('_', ' ')}") from None
    if name in LIMITS:
        lo, hi = LIMITS[name]
        if not (lo <= out <= hi):
            raise UserError(f"{source}: {value!r} is out of range ({lo:g}..{hi:g})")
    return out


def convert_setting(name: str, value: Any, source: str) -> Any:
    """One setting from text, checked against its range; UserError naming `source` when it is not valid."""
    return _convert(name, value, source)


def resolve_settings(provider: str, flags: Mapping[str, Any] | None = None,
                     env: Mapping[str, str] | None = None) -> ModelSettings:
    """Defaults of `provider`, then env, then flags (a flag of None means "not given")."""
    env = os.environ if env is None else env
    settings = PROVIDER_DEFAULTS.get(provider, ModelSettings())
    changes: dict[str, Any] = {}
    for name, var in ENV_NAMES.items():
        if env.get(var, "").strip():
            changes[name] = _convert(name, env[var], var)
    if env.get("IWRBENCH_NO_CACHE", "").strip():
        changes["cache"] = not _convert("cache", env["IWRBENCH_NO_CACHE"], "IWRBENCH_NO_CACHE")
    for name, value in (flags or {}).items():
        if value is not None:
            changes[name] = _convert(name, value, "--" + name.replace("_", "-"))
    out = replace(settings, **changes)
    limit = PROVIDER_MAX_IMAGES.get(provider)
    if limit is not None and out.max_images > limit:
        raise UserError(f"{provider} accepts at most {limit} images per request; max images is {out.max_images}")
    return out
