"""What a wheel carries so that ``tactful build`` works where it is installed (no checkout, no Node).

Run by the in-tree build backend (``build/backend.py``) before setuptools packs the wheel: it writes
``tactful/_data/`` with the bundled JavaScript, the trimmed standard library (traced for the
default ``zip`` packaging) with the engine compiled, our lock of pins and the demo shop. ``tactful.resources`` finds them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tactful import __version__, resources

from ._build import python_archives
from ._inputs import compile_playbook, engine_archive, fetch_wheels, pyodide_runtime, read_lock
from ._javascript import bundle_javascript


def prebuild(target: Path) -> dict:
    """Write the prebuilt files into ``target`` (``tactful/_data``); returns what it wrote."""
    root = resources.checkout()
    if root is None:
        raise RuntimeError("prebuilding needs the source checkout (browser/, demo/, build/, node_modules/)")
    if target.exists():
        shutil.rmtree(target)
    (target / "prebuilt").mkdir(parents=True)
    for name, data in bundle_javascript(root / "browser", root).items():
        (target / "prebuilt" / name).write_bytes(data)
    (target / "prebuilt" / "test").mkdir()
    for name, data in bundle_javascript(root / "browser", root, test=True).items():
        (target / "prebuilt" / "test" / name).write_bytes(data)
    (target / "prebuilt" / "testing").mkdir()
    shutil.copy2(root / "browser" / "testing" / "tactful-playwright.mjs", target / "prebuilt" / "testing")
    pins = read_lock(root / "build" / "wheels.lock.json")
    cache = resources.cache_dir()
    wheels = fetch_wheels(pins, cache)
    runtime = pyodide_runtime(pins, cache)
    playbook = compile_playbook(root / "demo" / "playbook.toml")
    python = python_archives(runtime, engine_archive(wheels["msgpack"]), playbook, cache)
    (target / "prebuilt" / "python_stdlib.zip").write_bytes(python.stdlib)
    listed = {"modules": python.modules, "compiled": python.compiled}
    (target / "prebuilt" / "python_stdlib.json").write_text(json.dumps(listed, indent=1))
    (target / "prebuilt" / "engine.zip").write_bytes(python.engine)
    shutil.copytree(root / "demo", target / "demo")
    (target / "build").mkdir()
    shutil.copy2(root / "build" / "wheels.lock.json", target / "build" / "wheels.lock.json")
    summary = {"version": __version__, "pyodide": pins["pyodide"]["version"],
               "files": sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())}  # fmt: skip
    (target / "prebuilt.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    import sys

    print(json.dumps(prebuild(Path(sys.argv[1])), indent=1)[:400])
