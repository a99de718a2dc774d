"""The simulator changes its mind while serving: POST /_sim/models/{name}, /_sim/reload."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread


def _post(url, body=None):
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _chat(base_url, model):
    return _post(f"{base_url}/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}]})


def test_a_model_goes_down_and_comes_back(tmp_path):
    with run_sim_in_thread(Fleet({"steady": Behaviour(ttft_s=0.0, answer_tokens=2)})) as base_url:
        root = base_url.rsplit("/v1", 1)[0]
        assert _chat(base_url, "steady")[0] == 200
        status, doc = _post(f"{root}/_sim/models/steady", {"status": 503})
        assert status == 200 and doc == {"model": "steady", "behaviour": "status 503 after 0.1 s"}
        assert _chat(base_url, "steady")[0] == 503
        assert _post(f"{root}/_sim/models/steady", {"ttft": 0})[0] == 200
        assert _chat(base_url, "steady")[0] == 200
        # A new model can be added; bad settings are refused and change nothing.
        assert _post(f"{root}/_sim/models/fresh", {})[0] == 200 and _chat(base_url, "fresh")[0] == 200
        status, doc = _post(f"{root}/_sim/models/steady", {"status": "soon"})
        assert status == 400 and "status" in doc["error"]["message"]
        assert _chat(base_url, "steady")[0] == 200
        assert _post(f"{root}/_sim/reload")[0] == 400  # not started from a file


def test_reload_reads_the_fleet_file_again(tmp_path):
    from rollcall.sim import load_fleet

    path = tmp_path / "fleet.toml"
    path.write_text("[steady]\nttft = 0\ntokens = 2\n")
    with run_sim_in_thread(load_fleet(path), fleet_path=str(path)) as base_url:
        root = base_url.rsplit("/v1", 1)[0]
        assert _chat(base_url, "steady")[0] == 200
        path.write_text("[steady]\nstatus = 500\n")
        status, doc = _post(f"{root}/_sim/reload")
        assert status == 200 and doc["models"] == {"steady": "status 500 after 0.1 s"}
        assert _chat(base_url, "steady")[0] == 500
        path.write_text("[steady]\nnot_a_key = 1\n")
        status, doc = _post(f"{root}/_sim/reload")
        assert status == 400 and "not_a_key" in doc["error"]["message"]
        assert _chat(base_url, "steady")[0] == 500  # the old fleet stays


@pytest.mark.parametrize("body", [b"[1]", b"not json"])
def test_bodies_that_are_not_objects_are_refused(body):
    with run_sim_in_thread(Fleet({"a": Behaviour()})) as base_url:
        root = base_url.rsplit("/v1", 1)[0]
        request = urllib.request.Request(f"{root}/_sim/models/a", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 400
        caught.value.close()
