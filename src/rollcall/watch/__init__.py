"""rollcall watch: keep probing, know each target's state, open incidents, alert without spam.

    state.py      the pure state machine (unknown/up/degraded/down) and round verdicts
    incidents.py  incident lifecycle        alerts.py  alert payloads and summaries
    ledger.py     states + incidents moved on by each round (no I/O)
    channels/     alert channels: notify (Apprise), webhook, alertmanager
    push.py       results pushed into Gatus / Uptime Kuma
    delivery.py   sending beside the probes: bounded retries, failures told once
    writer.py     the store writer: whole rounds, buffered while the store is away
    schedule.py   rounds per interval group, seeded jitter, no overlap
    watcher.py    the loop that ties them together; settings.py parses [watch], [[alert]], [[push]]
"""
