"""Secrets never reach output: one place that scrubs keys and tokens from any text we show or store,
and the one function that turns a URL into the form rollcall shows (`display_url`).

Two kinds of scrubbing, with different rules (README "Secrets"):
- In its role a credential is always hidden, whatever its length: the value of an Authorization
  or api-key header, URL userinfo (`http://TOKEN@host`), the value of a credential-named query
  parameter (`?key=`, `?token=`, `?sig=`...), and in URLs rollcall shows, every query value but a
  few harmless ones (`api-version`).
- Anywhere else (answers, error bodies, model ids) a registered secret is replaced only when it
  is at least MIN_SECRET_CHARS long and not a known placeholder: `api_key = "ollama"`, `"EMPTY"` or
  `"2024"` is a word local servers want, not a secret, and must not turn every `ollama` in every
  answer into `***`.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MIN_SECRET_CHARS = 8
# Keys that local servers (Ollama, vLLM, llama.cpp, LM Studio, LocalAI...) accept or ask for, and
# that docs tell people to type: compared case-insensitively.
PLACEHOLDER_KEYS = frozenset({
    "ollama", "empty", "none", "null", "nil", "dummy", "test", "testing", "fake", "local", "unused",
    "anything", "placeholder", "changeme", "password", "secret", "token", "key", "api-key", "api_key",
    "apikey", "your-api-key", "your_api_key", "no-key", "nokey", "no_key", "not-needed", "not_needed",
    "notneeded", "sk-no-key-required", "sk-xxx", "sk-dummy", "sk-fake", "sk-local", "sk-test",
    "lm-studio", "lmstudio", "llama.cpp", "llamacpp", "localai", "vllm", "x", "xxx", "-",
})
# Query parameters whose values are shown in a URL; every other value is `***`.
SHOWN_QUERY_NAMES = frozenset({"api-version", "api_version", "version", "format"})
# Schemes where the user part of the userinfo is a user name, not a credential (a database DSN):
# shown as `user:***@`, with these query values also shown. Anywhere else (http: `TOKEN@host`,
# Stripe-style `KEY:@host`) the whole userinfo is a credential.
_DSN_QUERY_NAMES = frozenset({"user", "dbname", "host", "port", "sslmode", "connect_timeout",
                              "application_name", "target_session_attrs", "options"})
_USER_NAME_SCHEMES = {"postgresql": _DSN_QUERY_NAMES, "postgres": _DSN_QUERY_NAMES}

_lock = threading.Lock()
_known: set[str] = set()
_sorted: list[str] = []  # _known, longest first (a secret that contains another is scrubbed whole)
_words: set[str] = set()  # registered keys too short or too common to scrub from free text
_words_in_role: re.Pattern[str] | None = None  # ...but hidden as an Authorization value
LOOKAHEAD_MIN_CHARS = 4096

_TOKEN = r"[A-Za-z0-9._~+/-]"
_CRED_NAMES = (r"api[_-]?key|apikey|key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|auth|"
               r"code|sig|signature|secret|client[_-]?secret|password|passwd|pwd|session|jwt|credential")
# Shapes of secrets that can turn up in provider error messages even when we never saw the key.
# Each is "prefix-closed": a cut-off piece of a secret still matches, so clip() can cut after it.
_PATTERNS = [
    # an Authorization / api-key header or field, in its role: hidden whatever its length
    (re.compile(r"(?i)((?:proxy-)?authorization|x-api-key|api[_-]?key)([\"']?\s*[:=]\s*[\"']?)"
                r"((?:bearer|basic|token|digest)\s+)?[^\s\"',}&]+"), r"\1\2\3***"),
    # a bearer token in prose: long, or with a digit in it (so "a bearer instrument" stays)
    (re.compile(rf"(?i)\b(bearer)\s+(?:(?={_TOKEN}*\d){_TOKEN}{{8,}}|{_TOKEN}{{16,}})=*"), r"\1 ***"),
    # provider key shapes (OpenAI sk-, Groq gsk_, xAI, Hugging Face hf_, NVIDIA nvapi-...)
    (re.compile(r"\b(?:sk|pk|rk|gsk|xai|hf|nvapi)[-_](?:(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{8,}|[A-Za-z0-9_-]{16,})"),
     "***"),
    # credentials in a URL: userinfo, and credential-named query parameters
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"'<>]+@"), r"\1***@"),
    (re.compile(rf"(?i)([?&;](?:{_CRED_NAMES})=)[^&#\s\"'<>]+"), r"\1***"),
]
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+")


def _scrubbable(value: str) -> bool:
    return len(value) >= MIN_SECRET_CHARS and value.lower() not in PLACEHOLDER_KEYS


def register_secret(value: str | None) -> None:
    """Remember a secret (an API key from config or the environment) so it is always scrubbed.

    Short values and known placeholders are not scrubbed from free text (see the module doc);
    they are still hidden wherever they appear as a credential.
    """
    global _sorted, _words_in_role
    if not value or value.isspace():
        return
    with _lock:
        if not _scrubbable(value):
            if value not in _words:
                _words.add(value)
                alternatives = "|".join(re.escape(w) for w in sorted(_words, key=len, reverse=True))
                _words_in_role = re.compile(rf"(?i)\b((?:bearer|basic|token)\s+)(?:{alternatives})(?![\w.~+/=-])")
        elif value not in _known:
            _known.add(value)
            _sorted = sorted(_known, key=len, reverse=True)


def registered(values: Iterable[str | None]) -> tuple[str, ...]:
    """Those of `values` that are registered secrets: what another process (a load worker) must
    register again to scrub what this one scrubs."""
    with _lock:
        return tuple(v for v in values if v and (v in _known or v in _words))


def _url_rules(scheme: str) -> tuple[bool, frozenset[str]]:
    """(is the userinfo's user part a user name, the query names whose values are shown)."""
    names = _USER_NAME_SCHEMES.get(scheme.lower())
    return (True, SHOWN_QUERY_NAMES | names) if names is not None else (False, SHOWN_QUERY_NAMES)


def register_url_secrets(url: str) -> None:
    """Register the credentials a URL carries (what display_url hides), so they are scrubbed
    from any text too (by the same length and placeholder rule as any secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    user_shown, shown = _url_rules(parts.scheme)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        for secret in (password,) if user_shown else (userinfo, user, password):
            register_secret(secret)
            register_secret(unquote(secret))
        # HTTP clients send the userinfo as `Authorization: Basic base64(user:password)`; a server
        # that echoes headers echoes that form.
        register_secret(base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii"))
    for name, value in _query_items(parts.query):
        if value is not None and unquote(name).lower() not in shown:
            register_secret(value)
            register_secret(unquote(value))


def lookahead() -> int:
    """How many characters past a cut a text must reach for clip() to scrub a secret that
    straddles the cut (the longest registered secret, with room to spare)."""
    return max(LOOKAHEAD_MIN_CHARS, 2 * len(_sorted[0]) if _sorted else 0)


def redact(text: str | None) -> str | None:
    """Replace every registered secret and secret-shaped string in `text` with ***."""
    if not text:
        return text
    for secret in _sorted:  # read without the lock: _sorted is replaced, never changed in place
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    if _words_in_role is not None:
        text = _words_in_role.sub(r"\1***", text)
    return text


def clip(text: str | None, limit: int) -> str | None:
    """redact(text) cut to `limit` characters: scrubbed first, so a secret across the cut leaves
    no half behind. `text` should reach lookahead() characters past `limit` when it goes on."""
    if not text:
        return text
    return (redact(text[: limit + lookahead()]) or "")[:limit]


def _query_items(query: str) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = []
    for piece in re.split(r"[&;]", query) if query else ():
        name, eq, value = piece.partition("=")
        items.append((name, value if eq else None))
    return items


def display_url(url: str | None) -> str:
    """A URL as rollcall shows it (list, errors, reprs, redirects, config errors, the store
    location): the userinfo and every query value but a few harmless ones replaced by ***, the
    fragment dropped, then redact(). In a database URL the user name stays (`user:***@`)."""
    if not url:
        return url or ""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL: scrub it as text
        return redact(url) or ""
    user_shown, shown_names = _url_rules(parts.scheme)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = (f"{user}:***@" if colon else f"{user}@") if user_shown else "***@"
        netloc += hostport
    shown = []
    for name, value in _query_items(parts.query):
        if unquote(name).lower() not in shown_names:
            name, value = (name, "***") if value is not None else ("***", None)
        shown.append(name if value is None else f"{name}={value}")
    # Known secrets elsewhere (a key in the path) are scrubbed part by part: scrubbing the whole
    # URL as text would hide a database user name with the rest of the userinfo.
    return urlunsplit((parts.scheme, netloc, redact(parts.path) or "", redact("&".join(shown)) or "", ""))


def redact_urls(text: str | None) -> str | None:
    """redact(text), with every URL in it shown as display_url() shows it (for error messages,
    which quote request URLs with their query)."""
    if not text:
        return text
    return redact(_URL.sub(lambda m: display_url(m.group(0)), text))


def redact_doc(value: Any) -> Any:
    """A JSON-like document (dicts, lists, strings) with redact() applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_doc(k): redact_doc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_doc(v) for v in value]
    return value
