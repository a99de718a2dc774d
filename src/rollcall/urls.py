"""Base URLs of HTTP targets: what a valid one is, and how endpoint paths join it.

A base URL may carry a query that every request needs (Azure OpenAI's
`.../deployments/gpt4o?api-version=2024-02-01`): endpoint paths are appended to its path and
the query is kept. A fragment is never sent to a server, so one in a base URL is a mistake.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .redact import display_url


def check_base_url(url: object) -> None:
    """ValueError with a sentence (to follow a field name) unless `url` is a usable base URL.

    Only a value that is no http(s) URL at all is quoted (as display_url shows it: a URL may hold a token).
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("must be an http:// or https:// URL, got nothing")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced [ in the host
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http:// or https:// URL, got {display_url(url)!r}")
    if not parts.hostname:
        raise ValueError("has no host name")
    if "#" in url:
        raise ValueError("must not have a #fragment (it is never sent to the server)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid port (a number from 1 to 65535 is expected)") from None
    if port == 0:
        raise ValueError("has an invalid port (a number from 1 to 65535 is expected)")


def normalize_base_url(url: str) -> str:
    """The base URL without trailing slashes on its path (the query, if any, kept as given)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/")))


def endpoint_url(base_url: str, path: str) -> str:
    """`path` (e.g. "chat/completions") appended to the base URL's path; its query kept."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{path.lstrip('/')}"))


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query (what the query already holds is kept)."""
    from urllib.parse import urlencode

    parts = urlsplit(url)
    extra = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
