"""Alert channels against real receivers on loopback: rollcall's webhook JSON, Apprise's json://
scheme, and a real Prometheus Alertmanager that shows the alert firing, then resolved."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from watch_helpers import run_receiver

from rollcall.redact import redact
from rollcall.watch.alerts import SCHEMA, Alert, make_alert
from rollcall.watch.channels import DeliveryError, channel_key, channel_label, make_channel
from rollcall.watch.channels.alertmanager import documents
from rollcall.watch.incidents import EventKind, Incident
from rollcall.watch.settings import AlertSpec, parse_alert
from rollcall.watch.state import Observation, State, Verdict

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def _incident(**changes):
    base = dict(id="inc123", target="groq", model="llama-3.1-8b-instant", site="eu-1", state=State.DOWN,
                opened_at="2024-05-01T14:05:00.000Z", previous_state=State.UP, first_error_kind="rate_limit",
                first_error="HTTP 429", last_error_kind="rate_limit",
                last_error="HTTPStatusError: HTTP 429 Too Many Requests\x1b[2J (key sk-live1234567890abcdef)",
                failed_rounds=3, rounds=3, first_run_id="r1", last_run_id="r3")
    base.update(changes)
    return Incident(**base)


def _alert(event=EventKind.OPENED, **changes) -> Alert:
    incident = _incident(**changes)
    return make_alert(event, incident, State.UP, Observation(Verdict.FAILED, "rate_limit", "x", None, 1.5),
                      at=incident.resolved_at or "2024-05-01T14:05:00.000Z", run_id="r3", seq=0,
                      base_url="https://status.example")


def _send(channel, alert):
    async def go():
        try:
            await channel.send(alert)
        finally:
            await channel.aclose()

    asyncio.run(go())


def test_payload_and_summary():
    alert = _alert()
    doc = alert.to_payload()
    assert doc["schema"] == SCHEMA and doc["status"] == "firing" and doc["event"] == "opened"
    assert {k: doc[k] for k in ("state", "previous_state", "target", "model", "site", "error_kind", "run_id")} == {
        "state": "down", "previous_state": "up", "target": "groq", "model": "llama-3.1-8b-instant", "site": "eu-1",
        "error_kind": "rate_limit", "run_id": "r3"}
    assert doc["incident"] == {"id": "inc123", "opened_at": "2024-05-01T14:05:00.000Z", "resolved_at": None}
    assert doc["url"] == "https://status.example/targets/groq/llama-3.1-8b-instant"
    assert doc["total_s"] == 1.5 and doc["ttft_s"] is None
    assert "sk-live1234567890abcdef" not in json.dumps(doc) and "\x1b" not in json.dumps(doc)
    assert alert.summary.startswith("groq/llama-3.1-8b-instant is DOWN at eu-1 (rate_limit: HTTPStatusError: HTTP 429")
    assert alert.summary.endswith(", 3 rounds, since 14:05 UTC)")
    assert Alert.from_payload(alert.id, doc) == alert
    resolved = _alert(EventKind.RESOLVED, resolved_at="2024-05-01T14:47:00.000Z")
    assert resolved.to_payload()["status"] == "resolved"
    assert (resolved.state, resolved.previous_state) == (State.UP, State.DOWN)
    assert resolved.summary == "groq/llama-3.1-8b-instant is UP again at eu-1 after 42 min (DOWN since 14:05 UTC)"


def test_channel_names_never_show_tokens():
    url = "https://hooks.example/services/T0AB1234/B0CD5678/abcdEFGH1234ijkl?token=sekrit-99"
    assert channel_label("webhook", url) == "webhook https://hooks.example/…"
    assert channel_label("notify", "discord://1234567890/abcDEF123tokenXYZ") == "notify discord://…"
    assert "1234567890" not in channel_key("notify", "discord://1234567890/abcDEF123tokenXYZ")
    parse_alert("test", {"webhook": url})
    parse_alert("test", {"notify": "discord://1234567890/abcDEF123tokenXYZ"})
    for secret in ("abcdEFGH1234ijkl", "sekrit-99", "abcDEF123tokenXYZ", "1234567890"):
        assert secret not in redact(f"failed: {url} discord://1234567890/abcDEF123tokenXYZ")
    assert "services" in redact("/services/ path words stay")


def test_webhook_posts_the_payload(receiver):
    channel = make_channel(AlertSpec("webhook", receiver.url + "/rollcall?token=abc123def456"))
    alert = _alert()
    _send(channel, alert)
    (got,) = receiver.wait_for(1)
    assert got.method == "POST" and got.path == "/rollcall" and got.headers["Content-Type"] == "application/json"
    assert got.json() == json.loads(json.dumps(alert.to_payload()))


def test_webhook_failures_are_delivery_errors_without_the_url(receiver):
    receiver.status = 500
    channel = make_channel(AlertSpec("webhook", receiver.url + "/hook/tok3nValue99"))
    with pytest.raises(DeliveryError) as caught:
        _send(channel, _alert())
    assert "HTTP 500" in str(caught.value) and "tok3nValue99" not in str(caught.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = make_channel(AlertSpec("webhook", f"http://127.0.0.1:{port}/hook/tok3nValue99"))
    with pytest.raises(DeliveryError, match="cannot connect") as caught:
        _send(dead, _alert())
    assert "tok3nValue99" not in str(caught.value)


def test_apprise_json_scheme_reaches_a_loopback_receiver(receiver):
    host = receiver.url.split("://", 1)[1]
    channel = make_channel(AlertSpec("notify", f"json://{host}/apprise"))
    alert = _alert()
    _send(channel, alert)
    (got,) = receiver.wait_for(1)
    body = got.json()
    assert got.path == "/apprise" and body["message"] == alert.summary
    assert body["title"] == "rollcall: groq/llama-3.1-8b-instant DOWN"


def test_apprise_failure_is_a_delivery_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = make_channel(AlertSpec("notify", f"json://127.0.0.1:{port}/x"))
    with pytest.raises(DeliveryError, match="notify json://127.0.0.1"):
        _send(channel, _alert())


def test_an_apprise_url_it_does_not_know_is_refused():
    with pytest.raises(ValueError, match="Apprise does not understand"):
        make_channel(AlertSpec("notify", "nosuchservice://x/y"))


def test_alertmanager_documents():
    firing, = documents(_alert())
    assert firing["labels"] == {"alertname": "RollcallTargetDown", "target": "groq", "model": "llama-3.1-8b-instant",
                                "site": "eu-1", "severity": "critical"}
    assert firing["startsAt"] == "2024-05-01T14:05:00.000Z" and firing["endsAt"] > firing["startsAt"]
    assert firing["annotations"]["summary"].startswith("groq/llama-3.1-8b-instant is DOWN")
    changed = make_alert(EventKind.CHANGED, _incident(state=State.DOWN), State.DEGRADED, None,
                         at="2024-05-01T14:10:00.000Z", run_id="r", seq=4)
    ended, fired = documents(changed)
    assert ended["labels"]["alertname"] == "RollcallTargetDegraded" and fired["labels"]["alertname"] == "RollcallTargetDown"
    assert ended["endsAt"] < fired["endsAt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def alertmanager(tmp_path):
    from watch_helpers import require_or_skip

    require_or_skip(os.path.exists(ALERTMANAGER), f"Prometheus Alertmanager not installed ({ALERTMANAGER}; "
                                                   "apt-get install prometheus-alertmanager)")
    with run_receiver() as forwarded:
        config = tmp_path / "am.yml"
        config.write_text(
            "route:\n  receiver: hook\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
            f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {forwarded.url}/am\n"
            "        send_resolved: true\n"
        )
        port = _free_port()
        proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                        break
                except OSError:
                    time.sleep(0.05)
            yield url, forwarded
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_real_alertmanager_shows_the_alert_firing_then_resolved(alertmanager):
    url, forwarded = alertmanager
    channel = make_channel(AlertSpec("alertmanager", url))
    opened = _alert()

    async def fire_and_refresh():
        await channel.send(opened)
        await channel.refresh([opened])
        await channel.aclose()

    asyncio.run(fire_and_refresh())
    active = _get_json(f"{url}/api/v2/alerts?active=true")
    (alert,) = active
    assert alert["status"]["state"] == "active"
    assert alert["labels"]["alertname"] == "RollcallTargetDown" and alert["labels"]["target"] == "groq"
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == opened.summary

    resolved = make_alert(EventKind.RESOLVED, _incident(resolved_at=_now()), State.DOWN, None, at=_now(),
                          run_id="r9", seq=0)

    async def resolve():
        await channel.send(resolved)
        await channel.aclose()

    asyncio.run(resolve())
    # Alertmanager's own API: no active alert left; its receiver was told firing, then resolved.
    for _ in range(100):
        if not _get_json(f"{url}/api/v2/alerts?active=true&silenced=false&inhibited=false") and \
                any(r.json()["status"] == "resolved" for r in forwarded.requests):
            break
        time.sleep(0.1)
    assert _get_json(f"{url}/api/v2/alerts?active=true") == []
    statuses = [r.json()["status"] for r in forwarded.requests]
    assert statuses[0] == "firing" and statuses[-1] == "resolved"


def _now() -> str:
    from rollcall.timing import utc_now_iso

    return utc_now_iso()
