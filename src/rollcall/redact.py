"""Secrets never reach output: one place that scrubs keys and tokens from any text we show or store."""

from __future__ import annotations

import re
import threading

_lock = threading.Lock()
_known: set[str] = set()

# Shapes of secrets that can turn up in provider error messages even when we never saw the key.
_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\b(sk|pk|rk|gsk|xai|hf|nvapi)[-_][A-Za-z0-9_-]{8,}"), "***"),
    (re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|auth|sig|signature)=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(?i)((?:api[_-]?key|authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"), r"\1***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret (an API key from config or the environment) so it is always scrubbed."""
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str | None) -> str | None:
    """Replace every known secret and secret-shaped string in `text` with ***."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
