"""rollcall.redact: secrets never leak, ordinary words are not secrets, URLs are shown without credentials."""

from __future__ import annotations

import pytest

from rollcall.redact import (
    PLACEHOLDER_KEYS,
    clip,
    display_url,
    lookahead,
    redact,
    redact_doc,
    redact_urls,
    register_secret,
    register_url_secrets,
)


@pytest.mark.parametrize("placeholder", ["ollama", "EMPTY", "2024", "sk-no-key-required", "lm-studio", "x"])
def test_placeholder_keys_are_words_in_answers_but_hidden_in_their_role(placeholder):
    register_secret(placeholder)
    answer = f"I run on {placeholder}; {placeholder} says hi"
    assert redact(answer) == answer
    assert redact(f"Authorization: Bearer {placeholder}") == "Authorization: Bearer ***"
    assert redact(f'{{"api_key": "{placeholder}"}}') == '{"api_key": "***"}'
    assert redact(f"GET /v1?api_key={placeholder}&x=1") == "GET /v1?api_key=***&x=1"


def test_placeholders_are_listed_lower_case():
    assert all(p == p.lower() for p in PLACEHOLDER_KEYS)


def test_real_keys_are_scrubbed_everywhere():
    register_secret("kq8-Zt2_real-key-4471")
    assert redact("echo: kq8-Zt2_real-key-4471!") == "echo: ***!"


@pytest.mark.parametrize("text", [
    "I have a basic understanding of tokens",
    "Each token represents a word piece",
    "a bearer instrument is payable to whoever holds it",
    "pip install hf_transfer and sk-learn",
    "see https://example.com/search?q=hello&page=2",
    "mail me at someone@example.com",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("text, hidden", [
    ("Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGciOiJIUzI1NiJ9"),
    ("Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("x-api-key: Zq1", "Zq1"),
    ("key sk-proj-ABCDEFGHIJKLMN here", "ABCDEFGHIJKLMN"),
    ("gsk_0123456789abcdef and more", "0123456789abcdef"),
    ("http://tok3n@host/v1 and https://u:pw@host/x", "tok3n"),
    ("https://u:pw@host/x", "pw"),
    ("GET /cb?code=4/0AX4XfWh&state=1", "4/0AX4XfWh"),
    ("?sig=abc&token=def&api-key=ghi", "abc"),
])
def test_secret_shapes_are_scrubbed(text, hidden):
    assert hidden not in redact(text)


def test_clip_scrubs_a_secret_across_the_cut():
    secret = "straddle-key-0123456789abcdef"
    register_secret(secret)
    for offset in range(1, len(secret)):
        text = "a" * (1000 - offset) + secret + "b" * 100
        out = clip(text, 1000)
        assert len(out) <= 1000
        assert secret[:offset] not in out[-offset - 3:], offset
    assert lookahead() >= len(secret)


@pytest.mark.parametrize("url, shown", [
    ("http://TOKEN9x7@127.0.0.1:8000/v1", "http://***@127.0.0.1:8000/v1"),
    ("https://user:pw-secret@api.example/v1", "https://***@api.example/v1"),
    ("https://sk_live_abc123:@api.example/v1", "https://***@api.example/v1"),
    ("https://h.example/v1?code=abc&key=k&token=t&sig=s&api-key=a&x=1",
     "https://h.example/v1?code=***&key=***&token=***&sig=***&api-key=***&x=***"),
    ("https://h.example/openai/deployments/gpt4o?api-version=2024-02-01",
     "https://h.example/openai/deployments/gpt4o?api-version=2024-02-01"),
    ("https://h.example/v1#frag-token", "https://h.example/v1"),
    ("/login?next=/&code=xyz", "/login?next=***&code=***"),
    ("https://h.example/v1?bare-token", "https://h.example/v1?***"),
    ("postgresql://rc:s3cret@db/rollcall?sslmode=require&password=p", "postgresql://rc:***@db/rollcall?sslmode=require&password=***"),
    ("http://[::1", "http://[::1"),
])
def test_display_url(url, shown):
    assert display_url(url) == shown


def test_url_credentials_are_registered_as_secrets():
    register_url_secrets("https://tok-in-userinfo-77@h.example/v1?code=code-in-query-88&api-version=2024-02-01")
    text = "server said tok-in-userinfo-77 and code-in-query-88 on 2024-02-01"
    assert redact(text) == "server said *** and *** on 2024-02-01"
    import base64

    assert redact(base64.b64encode(b"tok-in-userinfo-77:").decode()) == "***"


def test_urls_in_error_text_are_shown_like_display_url():
    text = "400, message='Bad status line', url='http://127.0.0.1:9/v1?code=c0de&x=1'"
    assert redact_urls(text) == "400, message='Bad status line', url='http://127.0.0.1:9/v1?code=***&x=***'"


def test_redact_doc_walks_lists_and_tables():
    register_secret("doc-secret-value-42")
    doc = {"models": ["Bearer doc-secret-value-42", "m1"], "n": 3, "doc-secret-value-42": None}
    assert redact_doc(doc) == {"models": ["Bearer ***", "m1"], "n": 3, "***": None}
