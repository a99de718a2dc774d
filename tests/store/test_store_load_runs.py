"""Load runs in the history, on every backend: started, stages as they end, finished; read back
as the same document; listed; secrets in settings scrubbed."""

from __future__ import annotations

import pytest
from load_helpers import make_doc

from rollcall.redact import register_secret
from rollcall.store import RunNotFound


def info(doc: dict) -> dict:
    keys = ("id", "target", "kind", "model", "mode", "started_at", "settings", "site")
    return {k: doc[k] for k in keys}


def test_a_load_run_round_trips(store) -> None:
    doc = make_doc((1, 8, 32), ttft=(0.1, 0.11, 0.5), rps_records=(10, 80, 82), slo={"ttft": 0.2})
    store.start_load_run(info(doc))
    (listed,) = store.list_load_runs()
    assert listed["id"] == doc["id"] and not listed["complete"] and listed["stages"] == 0
    for stage in doc["stages"][:2]:
        store.add_load_stage(doc["id"], stage)
    store.finish_load_run(doc)  # stores the third stage too
    back = store.get_load_run(doc["id"][:6])
    assert back["stages"] == doc["stages"] and back["knee"] == doc["knee"]
    for key in ("schema", "id", "target", "kind", "model", "mode", "complete", "settings", "site", "timeline",
                "totals", "wall_s"):
        assert back[key] == doc[key], key
    (listed,) = store.list_load_runs()
    assert listed["complete"] and listed["stages"] == 3 and listed["settings"]["slo"] == {"ttft": 0.2}


def test_a_cut_run_keeps_the_stages_that_ended(store) -> None:
    doc = make_doc((1, 8), interrupted="SIGINT")
    store.start_load_run(info(doc))
    store.add_load_stage(doc["id"], doc["stages"][0])
    store.add_load_stage(doc["id"], doc["stages"][0])  # the same stage twice is kept once
    back = store.get_load_run(doc["id"])
    assert len(back["stages"]) == 1 and not back["complete"]
    store.finish_load_run(doc)
    back = store.get_load_run(doc["id"])
    assert back["interrupted"] == "SIGINT" and back["stages"][-1]["partial"] and len(back["stages"]) == 2


def test_unknown_and_ambiguous_ids(store) -> None:
    for run_id in ("aaaa00000001", "aaaa00000002"):
        doc = make_doc((1,), rps_records=(3,))
        doc["id"] = run_id
        store.finish_load_run(doc)
    with pytest.raises(RunNotFound, match="ambiguous"):
        store.get_load_run("aaaa")
    with pytest.raises(RunNotFound, match="no load run"):
        store.get_load_run("bbbb")
    with pytest.raises(RunNotFound, match="not a load run id"):
        store.get_load_run("x' OR 1=1 --")
    assert [r["id"] for r in store.list_load_runs(limit=1)] == ["aaaa00000002"]  # newest first, then by id


def test_secrets_in_settings_are_not_stored(store) -> None:
    register_secret("sk-load-secret-0123456789")
    doc = make_doc((1,), rps_records=(2,))
    doc["settings"]["note"] = "key sk-load-secret-0123456789"
    store.finish_load_run(doc)
    back = store.get_load_run(doc["id"])
    assert "sk-load-secret" not in str(back) and back["settings"]["note"] == "key ***"
