"""The set-up contract: pins agree between pyproject.toml and environment.yml."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pins_in_sync():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = [m.group(1) for m in re.finditer(r"^\s*-\s+([A-Za-z0-9_.\-]+==\S+)\s*$",
                                           (ROOT / "environment.yml").read_text(), re.M)]
    assert sorted(d.lower() for d in deps) == sorted(e.lower() for e in env)
    assert "torch==2.13.0" in deps
    assert all("==" in d for d in deps), "every dependency is pinned"
