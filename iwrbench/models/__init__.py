"""Models behind one interface (base.Model): `get_model("openai/gpt-4o")` (iwrbench.models.registry)
returns an object whose `await complete(ModelRequest)` retries, caches and counts usage; builtins make
pages offline. Nothing is imported here eagerly: base.py must stay importable on its own."""

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("get_model", "parse_model_name"):
        from iwrbench.models import registry

        return getattr(registry, name)
    raise AttributeError(name)
