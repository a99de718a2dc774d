"""Delivery beside the probes: retries with backoff, order per channel, a dead receiver told once
and recorded, a bounded queue."""

from __future__ import annotations

import asyncio

from rollcall.watch.channels import DeliveryError
from rollcall.watch.delivery import Delivery


def _run(coro):
    return asyncio.run(coro)


def test_retries_then_succeeds_and_keeps_order():
    sent, outcomes, warnings = [], [], []

    async def go():
        delivery = Delivery(on_outcome=outcomes.append, warn=warnings.append, attempts=3, backoff_s=0.01)
        failures = {"a": 2}

        def job(name):
            async def send():
                if failures.get(name, 0) > 0:
                    failures[name] -= 1
                    raise DeliveryError(f"hook: HTTP 503 ({name})")
                sent.append(name)
            return send

        for name in ("a", "b", "c"):
            delivery.submit("hook", "webhook http://x/…", job(name), row_id=name)
        left = await delivery.close(grace_s=5)
        return left, delivery

    left, delivery = _run(go())
    assert left == 0 and sent == ["a", "b", "c"]  # one channel, one order: a's retries hold b back
    assert [(o.row_id, o.ok, o.attempts) for o in outcomes] == [("a", True, 3), ("b", True, 1), ("c", True, 1)]
    assert len(warnings) == 2 and "HTTP 503 (a)" in warnings[0] and "works again" in warnings[1]
    assert (delivery.sent, delivery.failed) == (3, 0)


def test_a_dead_receiver_is_told_once_recorded_and_never_blocks_other_channels():
    outcomes, warnings, good = [], [], []

    async def go():
        delivery = Delivery(on_outcome=outcomes.append, warn=warnings.append, attempts=2, backoff_s=0.01)

        async def dead():
            raise DeliveryError("webhook http://127.0.0.1:9/…: cannot connect (Connection refused)")

        async def fine():
            good.append(1)

        for n in range(5):
            delivery.submit("dead", "webhook dead", dead, row_id=f"d{n}")
            delivery.submit("good", "webhook good", fine, row_id=f"g{n}")
        return await delivery.close(grace_s=5)

    assert _run(go()) == 0
    assert len(good) == 5
    failed = [o for o in outcomes if not o.ok]
    assert [o.row_id for o in failed] == [f"d{n}" for n in range(5)]
    assert all(o.attempts == 2 and "Connection refused" in o.error for o in failed)
    assert len(warnings) == 1 and "further failures of this channel are not shown" in warnings[0]


def test_a_broken_channel_raising_anything_is_contained():
    outcomes = []

    async def go():
        delivery = Delivery(on_outcome=outcomes.append, attempts=1)

        async def broken():
            raise RuntimeError("secret sk-abcdefghijklmnopqrstuvwx in a bug")

        delivery.submit("x", "webhook x", broken, row_id="r")
        return await delivery.close(grace_s=5)

    assert _run(go()) == 0
    (outcome,) = outcomes
    assert not outcome.ok and outcome.error == "webhook x: RuntimeError"


def test_the_queue_is_bounded_and_close_leaves_what_did_not_fit_in_the_grace():
    outcomes = []

    async def go():
        delivery = Delivery(on_outcome=outcomes.append, queue_limit=3, attempts=1)
        release = asyncio.Event()

        async def slow():
            await release.wait()

        for n in range(6):
            delivery.submit("x", "webhook x", slow, row_id=str(n))
        await asyncio.sleep(0)
        return await delivery.close(grace_s=0.05)

    left = _run(go())
    dropped = [o for o in outcomes if not o.ok]
    assert len(dropped) == 3 and all("dropped" in o.error for o in dropped)
    assert left == 3  # still queued or in flight at the end: stored alerts go out at the next start
