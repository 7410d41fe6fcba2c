"""The golden spec and the demo log inside Pyodide (Python 3.14 in WebAssembly, under Node).

Loads what the browser loads from a built bundle, in both ways a bundle can carry the engine: the
trimmed standard library, msgpack in pure Python, and the engine zip (or the two wheels through
Pyodide's loader and micropip's lock). So this also proves the trimmed library is enough.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import pytest
from golden import replay_log

from tactful.core import Playbook

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


@pytest.fixture(scope="module", params=["zip", "lock", "bytecode-all"])
def pyodide_run(request, root, built_dist):
    from tactful.bundle import BYTECODE_CHOICES, ensure_built

    dist = built_dist
    if request.param == "lock":
        dist = ensure_built(root / "build" / "cache" / "dist-lock", packages="lock")
    if request.param == "bytecode-all":  # tactful build --bytecode all
        dist = ensure_built(root / "build" / "cache" / "dist-bytecode", bytecode=BYTECODE_CHOICES["all"])
    result = subprocess.run(
        ["node", str(root / "tests" / "bundle" / "run_golden.mjs"), str(dist), str(root)],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    runtime = json.loads((dist / "manifest.json").read_text())["assets"]["runtime"]
    archive = zipfile.ZipFile(dist / runtime / "python_stdlib.zip").namelist()
    return {**json.loads(result.stdout), "archive": archive}


def test_msgpack_runs_as_pure_python(pyodide_run):
    assert pyodide_run["msgpack"] == "msgpack.fallback"  # the snapshot cannot carry its C extension


def test_the_engine_and_part_of_the_standard_library_run_as_bytecode(pyodide_run, request):
    # The zip carries the engine compiled ahead of time (nothing to compile in the browser); the wheels
    # carry sources. Either way some standard-library modules come from bytecode, the rest from source
    # (with --bytecode all, every one from bytecode).
    mode = request.node.callspec.params["pyodide_run"]
    compiled = pyodide_run["engine_file"].endswith("/tactful/core/_engine.pyc")
    assert compiled == (mode != "lock"), pyodide_run["engine_file"]
    stdlib = [f for f in pyodide_run["loaded_from"] if ".zip/" in f and "tactful-engine.zip/" not in f]
    assert any(f.endswith(".pyc") for f in stdlib), stdlib
    in_archive = {f.split(".zip/", 1)[1] for f in stdlib} & set(pyodide_run["archive"])  # not the frozen ones
    assert any(f.endswith(".py") for f in in_archive) == (mode != "bytecode-all"), in_archive  # all: no source


def test_runs_on_pyodide_python(pyodide_run):
    assert pyodide_run["python"].startswith("3.14")


def test_golden_spec_passes_in_pyodide(pyodide_run):
    assert pyodide_run["failures"] == []


def test_pyodide_decisions_equal_cpython(pyodide_run, root, demo_source):
    rows = replay_log(Playbook.from_dict(demo_source), (root / "demo" / "events.jsonl").read_text().splitlines())
    assert rows and pyodide_run["replay"] == rows
