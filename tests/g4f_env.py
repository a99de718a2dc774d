"""An environment in which g4f (and anything else in a test subprocess) cannot reach the internet.

G4FSpace fetches https://g4f.dev/dist/js/providers.json at import unless the day's copy is cached
under $G4F_CONFIG_DIR; seeding that cache with a loopback URL keeps the test on this machine.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

SEED = {"providers": {"default": {"baseUrl": "http://127.0.0.1:9/v1"}}, "defaultModels": {}}


def seed_g4f_config(root: Path) -> Path:
    """A g4f config dir under `root` with today's providers.json cached; returns it."""
    config_dir = root / "g4f-config"
    cache = config_dir / "cache" / ".models" / datetime.datetime.today().strftime("%Y-%m-%d")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "providers.json").write_text(json.dumps(SEED))
    return config_dir


def offline_g4f_env(tmp_path: Path) -> dict[str, str]:
    config_dir = seed_g4f_config(tmp_path)
    tests_dir = Path(__file__).parent
    path = [str(tests_dir / "netguard_site"), str(tests_dir), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "G4F_CONFIG_DIR": str(config_dir),
        # Runs in tests record into (and read config from) the test's own folders, never $HOME.
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "PYTHONPATH": os.pathsep.join(filter(None, path)),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
