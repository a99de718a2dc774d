"""rollcall.wire against raw loopback servers, side by side with aiohttp: the HTTP/1.1 cases the
kinds' fault catalogue does not reach (HTTP/1.0 bodies, 1xx, gzip, stale keep-alive connections,
TLS, broken framing, the pool's limit), each classified the same way by both transports.

The reader and kind tests (tests/test_http_stream.py, tests/targets/) run over both transports
too (tests/transports.py); this module is what only a hand-written server can play.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import ssl
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiohttp import web
from raw_http import Request, serve_raw

from rollcall.http import HttpClient
from rollcall.models import ErrorKind, ProbeResult
from rollcall.probe import run_probe
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.targets.base import ProbeRequest
from rollcall.targets.openai import OpenAITarget
from rollcall.wire import WireClient, make_client

CLIENTS = ("aiohttp", "wire")


def events(*words: str) -> bytes:
    chunks = [{"choices": [{"delta": {"content": w}, "finish_reason": None}]} for w in words]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


@pytest.fixture
def serve() -> Iterator:
    with ExitStack() as stack:
        yield lambda handler: stack.enter_context(serve_raw(handler))


async def probe(client: HttpClient, url: str, timeout_s: float = 10) -> ProbeResult:
    target = OpenAITarget("t", url, models=("m",), client=client)
    try:
        return await run_probe(target, ProbeRequest(prompt="hi", model="m"), timeout_s=timeout_s)
    finally:
        await client.aclose()


def writes(data: bytes, close: bool = False):
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        if close:
            await writer.drain()
            writer.close()
    return handler


@pytest.mark.parametrize("name", CLIENTS)
async def test_an_http_1_0_body_ends_with_the_connection(serve, name: str) -> None:
    server = serve(writes(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + events("old", " server"),
                          close=True))
    result = await probe(make_client(name, 4), server.url())
    assert result.ok, result.error
    assert result.text == "old server"


@pytest.mark.parametrize("name", CLIENTS)
async def test_interim_100_continue_and_gzip(serve, name: str) -> None:
    body = gzip.compress(events("packed"))
    head = (b"HTTP/1.1 100 Continue\r\n\r\n" + SSE_HEAD
            + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body))
    server = serve(writes(head + body))
    result = await probe(make_client(name, 4), server.url())
    assert result.ok, result.error
    assert result.text == "packed"


@pytest.mark.parametrize("name", CLIENTS)
@pytest.mark.parametrize(("reply", "kind", "words"), [
    (SSE_HEAD + b"Content-Length: 5000\r\n\r\n" + events("cut")[:60], ErrorKind.CONNECT, "closed mid-stream after"),
    (SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + events("x"), ErrorKind.BAD_RESPONSE, ""),
    (b"HTTP/1.1 abc nonsense\r\n\r\n", ErrorKind.BAD_RESPONSE, "invalid HTTP response"),
    (b"", ErrorKind.CONNECT, ""),
], ids=["closed-mid-body", "bad-chunk-size", "bad-status-line", "closed-before-responding"])
async def test_broken_framing_is_classified_alike(serve, name: str, reply: bytes, kind: ErrorKind, words: str) -> None:
    server = serve(writes(reply, close=True))
    result = await probe(make_client(name, 4), server.url())
    assert result.error_kind is kind, result.error
    assert words in (result.error or "")


def closing_the_second_request():
    """Answers the first request on each connection with keep-alive; the second request on a
    connection is read, then the connection closed without a byte: a keep-alive connection the
    server dropped just as it was reused (it may have processed the request)."""
    served: dict[int, int] = {}

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        served[request.connection] = served.get(request.connection, 0) + 1
        if served[request.connection] == 2:
            writer.transport.abort()
            return
        if request.method == "GET":
            body = b'{"data": [{"id": "m"}]}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
        else:
            writer.write(SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(events("fine")))
    return handler


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_post_on_a_stale_connection_is_never_sent_twice(serve, name: str) -> None:
    server = serve(closing_the_second_request())
    client = make_client(name, 1)
    target = OpenAITarget("t", server.url(), models=("m",), client=client)
    try:
        first = await run_probe(target, ProbeRequest(model="m"), timeout_s=10)
        second = await run_probe(target, ProbeRequest(model="m"), timeout_s=10)
    finally:
        await client.aclose()
    assert first.ok, first.error
    assert second.error_kind is ErrorKind.CONNECT, second.error
    assert [r.method for r in server.requests] == ["POST", "POST"]  # the second was not resent


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_get_on_a_stale_connection_is_retried_once_on_a_new_one(serve, name: str) -> None:
    server = serve(closing_the_second_request())
    client = make_client(name, 1)
    target = OpenAITarget("t", server.url(), models=("m",), client=client)
    try:
        assert await target.list_models() == ["m"]
        assert await target.list_models() == ["m"]  # connection 1 dropped it; connection 2 answered
    finally:
        await client.aclose()
    assert [(r.method, r.connection) for r in server.requests] == [("GET", 1), ("GET", 1), ("GET", 2)]


async def test_the_pool_never_opens_more_than_its_limit(serve) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(events("ok")))

    server = serve(slow)
    client = WireClient(limit=2)
    targets = [OpenAITarget(f"t{i}", server.url(), models=("m",), client=client) for i in range(6)]
    run = await Runner(targets, settings=ProbeSettings(concurrency=6, timeout_s=10)).run()
    assert all(r.ok for r in run.results), [r.error for r in run.results]
    assert server.connections <= 2 and len(server.requests) == 6
    assert client.closed


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_large_body_is_read_whole_under_flow_control(serve, name: str) -> None:
    body = events(*(["x" * 1000] * 990))  # past 1 MiB: the wire client pauses the socket past 1 MiB unread
    server = serve(writes(SSE_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body))
    result = await probe(make_client(name, 4), server.url(), timeout_s=30)
    assert result.ok, result.error
    assert result.output_chars == 990_000


def test_make_client_names_the_choices() -> None:
    assert type(make_client("wire", 3)) is WireClient and make_client("wire", 3).limit == 3
    assert type(make_client("aiohttp", 3)) is HttpClient
    with pytest.raises(ValueError, match="aiohttp or wire"):
        make_client("curl", 3)


# --- TLS ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rollcall test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    where = tmp_path_factory.mktemp("tls")
    (where / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (where / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return where / "cert.pem", where / "key.pem"


@pytest.fixture
async def tls_url(certificate: tuple[Path, Path]):
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(events("secure"))
        await response.write_eof()
        return response

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}/v1"
    await runner.cleanup()


@pytest.mark.parametrize("name", CLIENTS)
async def test_an_untrusted_certificate_is_a_tls_connect_failure(tls_url: str, name: str) -> None:
    result = await probe(make_client(name, 4), tls_url)
    assert result.error_kind is ErrorKind.CONNECT, result.error
    assert "TLS failed" in (result.error or "") and "certificate verify failed" in (result.error or "")


async def test_a_trusted_certificate_streams_over_tls(tls_url: str, certificate, monkeypatch) -> None:
    # The wire client builds its verified context when it first connects, from the system's
    # trust store, which SSL_CERT_FILE names (aiohttp builds its context at import).
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    client = WireClient()
    target = OpenAITarget("t", tls_url, models=("m",), client=client)
    try:
        results = [await run_probe(target, ProbeRequest(model="m"), timeout_s=10) for _ in range(3)]
    finally:
        await client.aclose()
    assert all(r.ok and r.text == "secure" for r in results), [r.error for r in results]
