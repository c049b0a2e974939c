"""Keeping API keys out of every file, log line and report.

Keys only ever come from the environment (or `.env`), but a provider may echo one back in an error
message ("Incorrect API key provided: sk-…"), and that message becomes a record's `error`, a log line
and a report row. So every key the harness reads is registered here, and three places replace it
with `<redacted>`: provider error messages (at the source), every log record (a log-record factory),
and every text file the harness writes (fsutil.atomic_write_text).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping

REDACTED = "<redacted>"
# What makes a name (an environment variable, a settings or header key) name a secret: one of these words
# anywhere in it, or "key" as its last word (OPENAI_API_KEY, x-api-key, secret_key; not key_frames).
SECRET_WORDS = frozenset({"apikey", "token", "secret", "password", "passwd", "pwd", "authorization", "cookie",
                          "credential", "credentials"})
MIN_LENGTH = 8  # shorter values ("x" for a local server) would mangle ordinary text and protect nothing

_secrets: set[str] = set()
_lock = threading.Lock()
_factory_installed = False


def is_secret_name(name: str) -> bool:
    """Whether a variable or key called `name` holds a secret (the one rule for the environment, the run
    manifest's settings and anything else filtered by name). `max_tokens` and `input_tokens` do not."""
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).lower()) if w]
    return bool(words) and (words[-1] == "key" or any(w in SECRET_WORDS for w in words))


def register(secret: str | None) -> None:
    """Remember a secret so it is redacted wherever it shows up."""
    value = (secret or "").strip()
    if len(value) >= MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def register_environment(env: Mapping[str, str] | None = None) -> None:
    """Register the value of every variable that names a key, token, secret or password."""
    env = os.environ if env is None else env
    for name, value in env.items():
        if is_secret_name(name):
            register(value)


def known() -> int:
    return len(_secrets)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `<redacted>`."""
    if not text or not _secrets:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def contains_secret(text: str) -> bool:
    return bool(text) and any(secret in text for secret in _secrets)


def install_log_redaction() -> None:
    """Redact every log record of every logger (ours and third-party), message and traceback alike.

    A record factory rather than a handler filter: handlers get replaced (tqdm's redirect does), the
    factory sees every record once, when it is made."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003 (logging's own signature)
        record = previous(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: let logging report it as usual
                return record
            if contains_secret(message):
                record.msg, record.args = redact(message), None
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                if contains_secret(text):
                    record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
