"""The runs every report-writer test feeds its writer (imported by tests/reports/ and tests/load/).

`hostile_run()` holds every ErrorKind, unicode from several scripts, text built to break
each format (markup, quotes, commas, newlines, CDATA ends, NUL and control characters) and
one 100 kB answer.
"""

from __future__ import annotations

from rollcall.models import ErrorKind, ProbeResult, RunResult, Skipped

SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '<img src=x onerror="window.__pwned = 2">'
HOSTILE = (
    f'{SCRIPT} {IMG} "quoted", \'single\', comma, semi; pipe | tab\there\r\nCRLF\nLF ]]> '
    "<!-- comment --> &amp; \x00NUL \x01\x07\x1b[31mANSI \x7f\x85 \u2028\u2029 end"
)
UNICODE = "Привет 👋🏽 你好，世界 مرحبا بالعالم שלום עולם 🇺🇦 e\u0301 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
BIG = ("0123456789abcdef" * 6400)[:100_000]


def _ok(target: str, ttft: float, total: float, text: str, **extra: object) -> ProbeResult:
    fields = dict(
        target=target, kind="g4f", model="gpt-4o-mini", ok=True, status=200, queue_s=0.001,
        headers_s=ttft * 0.6, ttft_s=ttft, total_s=total, output_chars=len(text), output_tokens=42,
        tokens_per_s=41 / (total - ttft), text=text, started_at="2024-05-01T12:00:00.250000+00:00",
    )
    fields.update(extra)
    return ProbeResult(**fields)  # type: ignore[arg-type]


def _failed(target: str, error_kind: ErrorKind, error: str, **extra: object) -> ProbeResult:
    fields = dict(
        target=target, kind="openai", model="", ok=False, error_kind=error_kind, error=error,
        started_at="2024-05-01T12:00:00.250000+00:00",
    )
    fields.update(extra)
    return ProbeResult(**fields)  # type: ignore[arg-type]


def hostile_results() -> list[ProbeResult]:
    results = [
        _ok("Fast.Provider", 0.21, 0.93, "Hello! I am a helpful assistant."),
        _ok("Unicode💬", 0.35, 1.4, UNICODE, model="模型-ü"),
        _ok(f"Evil{SCRIPT}", 0.5, 2.0, HOSTILE, model=f"m{IMG}", reasoning=f"thinking {SCRIPT}",
            output_tokens=None, output_tokens_estimated=True),
        _ok("BigAnswer", 0.8, 6.5, BIG, output_chars=len(BIG), output_tokens=25_000),
    ]
    errors = {
        ErrorKind.TIMEOUT: "Timeout: no first token within 30 s",
        ErrorKind.CONNECT: "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 9)",
        ErrorKind.AUTH: "MissingAuthError: Add a \"api_key\", please",
        ErrorKind.RATE_LIMIT: "HTTP 429: slow down, retry in 7 s",
        ErrorKind.HTTP_STATUS: "HTTP 502: <html><body>Bad gateway</body></html>",
        ErrorKind.BAD_RESPONSE: f"bad_response: invalid JSON {HOSTILE}",
        ErrorKind.EMPTY: "The provider answered with no content",
        ErrorKind.MISSING_DEPENDENCY: "ModuleNotFoundError: No module named 'nodriver'",
        ErrorKind.PROVIDER_ERROR: f"ValueError: {UNICODE} | a,b \"c\"",
        ErrorKind.CHECK_FAILED: "answer does not match /GPT/",
        ErrorKind.CANCELLED: "Cancelled: the run was interrupted before this probe finished",
    }
    for kind, error in errors.items():
        extra: dict[str, object] = {}
        if kind in (ErrorKind.RATE_LIMIT, ErrorKind.HTTP_STATUS):
            extra["status"] = 429 if kind is ErrorKind.RATE_LIMIT else 502
        if kind is ErrorKind.RATE_LIMIT:
            extra["retry_after_s"] = 7.0
        if kind is ErrorKind.TIMEOUT:
            extra["total_s"] = 30.0
        results.append(_failed(f"Failing-{kind.value}", kind, error, **extra))
    return results


def hostile_run(**changes: object) -> RunResult:
    fields = dict(
        id="run0123abcd",
        started_at="2024-05-01T12:00:00.123456+00:00",
        ended_at="2024-05-01T12:00:31.000000+00:00",
        wall_s=30.88,
        prompt=f"Hello, are you GPT 3.5? {SCRIPT}",
        results=tuple(hostile_results()),
        skipped=(Skipped(name="Broken.Import", reason=f"ImportError: cannot import {SCRIPT}"),),
        complete=False,
        settings={"timeout_s": 30.0, "concurrency": 64, "repeat": 1, "model": None, "providers": ["a", "b"]},
        loop_lag_max_s=0.01,
        version="0.1.0",
    )
    fields.update(changes)
    return RunResult(**fields)  # type: ignore[arg-type]


def repeat_run() -> RunResult:
    """Three attempts per target: one steady, one flaky, one down."""
    results = []
    for attempt, (a, b) in enumerate([(0.9, 1.1), (1.0, None), (1.3, 2.5)], start=1):
        results.append(_ok("Steady", 0.2 * attempt, a, "yes", attempt=attempt))
        if b is None:
            timeout = dict(total_s=5.0, attempt=attempt, kind="g4f", model="gpt-4o-mini")
            results.append(_failed("Flaky", ErrorKind.TIMEOUT, "Timeout", **timeout))
        else:
            results.append(_ok("Flaky", 0.4, b, "maybe", attempt=attempt))
        results.append(_failed("Down", ErrorKind.CONNECT, "refused", attempt=attempt, model="gpt-4o-mini"))
    settings = {"timeout_s": 5.0, "concurrency": 8, "repeat": 3}
    return hostile_run(results=tuple(results), settings=settings, complete=True, skipped=())


def test_hostile_run_covers_every_error_kind() -> None:
    kinds = {r.error_kind for r in hostile_run().results if not r.ok}
    assert kinds == set(ErrorKind)


def test_hostile_run_carries_the_hostile_and_big_texts() -> None:
    texts = [r.text for r in hostile_run().results]
    assert HOSTILE in texts and UNICODE in texts and BIG in texts
    assert len(BIG) == 100_000
