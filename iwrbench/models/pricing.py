"""Estimated cost of a run at list prices (USD per million tokens), where the price is known.

The table holds public list prices as published by the providers in 2025; they change, so a summary
calls them estimates. IWRBENCH_PRICE_INPUT / IWRBENCH_PRICE_OUTPUT (USD per million tokens) override
the table, e.g. for a self-hosted model or a negotiated price. The longest matching prefix of the
provider's model id wins (so `gpt-4o-mini` is not priced as `gpt-4o`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PRICES: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60), "chatgpt-4o": (5.00, 15.00),
        "gpt-4.1": (2.00, 8.00), "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1-nano": (0.10, 0.40),
        "gpt-5": (1.25, 10.00), "gpt-5-mini": (0.25, 2.00), "gpt-5-nano": (0.05, 0.40),
        "o3": (2.00, 8.00), "o4-mini": (1.10, 4.40), "o1": (15.00, 60.00),
    },
    "anthropic": {
        "claude-opus-4": (15.00, 75.00), "claude-sonnet-4": (3.00, 15.00), "claude-3-7-sonnet": (3.00, 15.00),
        "claude-3-5-sonnet": (3.00, 15.00), "claude-3-5-haiku": (0.80, 4.00), "claude-haiku-4-5": (1.00, 5.00),
        "claude-opus-4-5": (5.00, 25.00),
    },
    "google": {  # prompts up to 200k tokens; thinking tokens are billed as output
        "gemini-2.5-pro": (1.25, 10.00), "gemini-2.5-flash": (0.30, 2.50), "gemini-2.5-flash-lite": (0.10, 0.40),
        "gemini-2.0-flash": (0.10, 0.40), "gemini-2.0-flash-lite": (0.075, 0.30),
        "gemini-1.5-pro": (1.25, 5.00), "gemini-1.5-flash": (0.075, 0.30), "gemini-3-pro": (2.00, 12.00),
    },
}


def price_of(provider: str, model_id: str, env: Mapping[str, str] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when unknown."""
    env = os.environ if env is None else env
    over_in, over_out = env.get("IWRBENCH_PRICE_INPUT", "").strip(), env.get("IWRBENCH_PRICE_OUTPUT", "").strip()
    if over_in and over_out:
        try:
            return float(over_in), float(over_out)
        except ValueError:
            return None
    table = PRICES.get(provider, {})
    mid = model_id.lower()
    best = max((p for p in table if mid == p or mid.startswith(p + "-") or mid.startswith(p + ".")),
               key=len, default=None)
    return table[best] if best else None


def estimate_cost(provider: str, model_id: str, input_tokens: int, output_tokens: int,
                  env: Mapping[str, str] | None = None) -> float | None:
    price = price_of(provider, model_id, env)
    if price is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 4)
