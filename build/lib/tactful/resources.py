"""Where Tactful's own files are: in a source checkout, or inside an installed wheel.

A checkout has the sources (``browser/``, ``demo/``, ``build/``) and builds the JavaScript and
the trimmed standard library itself (with Node). An installed wheel carries them prebuilt in
``tactful/_data/`` (the in-tree build backend writes it when the wheel is made), so
``tactful build``, ``tactful demo`` and ``tactful serve`` need neither the checkout nor Node.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "checkout", "data_dir", "demo_dir", "demo_playbook", "prebuilt", "wheels_lock"]

PACKAGE = Path(__file__).resolve().parent


def checkout() -> Path | None:
    """The source checkout this package runs from, or None for an installed wheel."""
    root = PACKAGE.parents[1]
    if (root / "pyproject.toml").is_file() and (root / "browser").is_dir() and (root / "engine").is_dir():
        return root
    return None


def data_dir() -> Path | None:
    """The wheel's prebuilt files (``tactful/_data``), or None in a checkout without them."""
    data = PACKAGE / "_data"
    return data if (data / "prebuilt.json").is_file() else None


def prebuilt(name: str) -> Path | None:
    """A prebuilt file of the wheel (``tactful.js``, ``python_stdlib.zip``, ...), if there is one."""
    data = data_dir()
    path = data / "prebuilt" / name if data else None
    return path if path is not None and path.is_file() else None


def _located(relative: str) -> Path:
    data, root = data_dir(), checkout()
    if data is not None and (data / relative).exists():
        return data / relative
    if root is not None:
        return root / relative
    raise FileNotFoundError(f"{relative}: neither in the installed package nor in a source checkout")


def demo_dir() -> Path:
    """The demo shop: its site (``site/``), playbook and sample event log."""
    return _located("demo")


def demo_playbook() -> Path:
    return demo_dir() / "playbook.toml"


def wheels_lock() -> Path:
    """Our lock of the wheels the browser loads (and the Pyodide runtime's pin)."""
    return _located("build/wheels.lock.json")


def cache_dir() -> Path:
    """Downloads and build products worth keeping: ``build/cache`` in a checkout, else the user's cache."""
    root = checkout()
    if root is not None:
        return root / "build" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tactful"
