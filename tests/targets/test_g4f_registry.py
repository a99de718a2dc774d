"""Enumerating the real installed g4f registry, offline, one provider at a time under a deadline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env

from rollcall.targets.g4f import LoadError, ProviderInfo, SelectionError, load_provider, registry_names, select_providers


def test_registry_loads_without_touching_dunder_providers(tmp_path):
    code = (
        "import json, time, sys\n"
        "from rollcall.targets.g4f import select_providers\n"
        "t = time.perf_counter()\n"
        "s = select_providers(all_providers=True, include_auth=True)\n"
        "print(json.dumps({'loaded': len(s.providers), 'skipped': [k.name for k in s.skipped],\n"
        "  'working': sum(1 for p in s.providers if p.working), 'seconds': time.perf_counter() - t}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=offline_g4f_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    assert found["loaded"] > 30 and found["working"] > 20
    assert found["seconds"] < 60  # bounded: each name has its own load deadline


def test_default_selection_is_working_and_keyless():
    selection = select_providers()
    assert selection.providers
    for provider in selection.providers:
        info = ProviderInfo.of(provider)
        assert info.working and not info.needs_auth
    assert selection.filtered.get("needs auth", 0) > 0


def test_names_are_case_insensitive_and_exclude_works():
    names = registry_names()
    first = names[0]
    selection = select_providers([first.upper()])
    assert [p.__name__ for p in selection.providers] == [load_provider(first).__name__]
    swept = select_providers(exclude=[first.lower()], all_providers=True, include_auth=True)
    assert first not in {p.__name__ for p in swept.providers}
    assert swept.filtered["excluded"] == 1


def test_unknown_names_suggest_close_matches():
    with pytest.raises(SelectionError, match="did you mean"):
        select_providers(["Yqclod"])


def test_a_hanging_import_is_skipped_at_its_deadline(tmp_path, monkeypatch):
    (tmp_path / "slow_provider_module.py").write_text("import time\ntime.sleep(30)\nclass P: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(LoadError, match="TimeoutError: loading took longer than 0.5 s"):
        load_provider("slow_provider_module:P", timeout_s=0.5)


def test_import_path_must_name_a_provider_class():
    with pytest.raises(LoadError, match="TypeError: json:JSONDecoder has none of create_async_generator"):
        load_provider("json:JSONDecoder")
