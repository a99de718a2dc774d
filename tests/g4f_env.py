"""An environment in which importing g4f's registry cannot reach the internet.

G4FSpace fetches https://g4f.dev/dist/js/providers.json at import unless the day's copy is cached
under $G4F_CONFIG_DIR; seeding that cache with a loopback URL keeps the test on this machine.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

SEED = {"providers": {"default": {"baseUrl": "http://127.0.0.1:9/v1"}}, "defaultModels": {}}


def offline_g4f_env(tmp_path: Path) -> dict[str, str]:
    config_dir = tmp_path / "g4f-config"
    cache = config_dir / "cache" / ".models" / datetime.datetime.today().strftime("%Y-%m-%d")
    cache.mkdir(parents=True)
    (cache / "providers.json").write_text(json.dumps(SEED))
    tests_dir = str(Path(__file__).parent)
    return {
        **os.environ,
        "G4F_CONFIG_DIR": str(config_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH", "")])),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
