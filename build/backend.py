"""Tactful's build backend: setuptools, plus the files a wheel needs to build bundles anywhere.

``pip wheel .`` (and ``python -m build``) call ``build_wheel`` here. Before setuptools packs the
wheel, ``tactful.bundle._prebuild`` writes ``engine/tactful/_data/`` (the bundled JavaScript, the
trimmed standard library, the demo shop, our pins) from this checkout; it needs ``npm ci`` to have
run (esbuild, Pyodide). Editable installs read the checkout itself and skip all this.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401 - the rest of the PEP 517/660 interface, unchanged
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "engine" / "tactful" / "_data"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    # The build environment has msgpack and brotli (pyproject's build-system requires them): the engine
    # imports, the build weighs bytecode against source.
    code = "import sys; sys.path.insert(0, 'engine'); from tactful.bundle._prebuild import prebuild; prebuild(__import__('pathlib').Path(sys.argv[1]))"
    result = subprocess.run([sys.executable, "-c", code, str(DATA)], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("prebuilding the browser files failed (has `npm ci` run?):\n" + result.stderr[-3000:])
    try:
        return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    finally:
        shutil.rmtree(DATA, ignore_errors=True)  # the checkout reads its sources; only the wheel keeps these
        # setuptools stages the wheel in ./build/lib and ./build/bdist.*, which is our own build/ folder.
        for staged in [ROOT / "build" / "lib", *(ROOT / "build").glob("bdist.*")]:
            shutil.rmtree(staged, ignore_errors=True)
