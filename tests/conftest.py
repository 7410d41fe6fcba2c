from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "spec"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "bundle"))

HUMAN_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def demo_source() -> dict:
    with open(ROOT / "demo" / "playbook.toml", "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="session")
def demo_playbook(demo_source):
    from tactful.core import Playbook

    return Playbook.from_dict(demo_source)


@pytest.fixture(scope="session")
def built_dist():
    """The browser bundle, built once per source change into build/cache/dist."""
    from tactful.bundle import ensure_built

    return ensure_built(ROOT / "build" / "cache" / "dist")
