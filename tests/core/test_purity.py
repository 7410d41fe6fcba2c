"""tactful.core is pure: no I/O modules, no clock, no randomness, and a pinned public surface."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import tactful.core

FORBIDDEN_MODULES = {
    "socket", "ssl", "http", "http.client", "http.server", "urllib.request", "asyncio", "sqlite3",
    "subprocess", "threading", "multiprocessing", "random", "secrets", "starlette", "uvicorn",
    "httpx", "anyio", "tactful.proxy", "js", "pyodide", "playwright",
}  # fmt: skip
FORBIDDEN_IMPORTS = {"time", "datetime", "random", "secrets", "os", "io", "pathlib", "socket", "uuid"}


def test_importing_core_pulls_in_no_io_module(root):
    code = "import json, sys, tactful.core; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": str(root / "engine")},
    )  # fmt: skip
    loaded = set(json.loads(out.stdout))
    assert not (loaded & FORBIDDEN_MODULES), loaded & FORBIDDEN_MODULES


def test_core_sources_import_no_clock_or_io(root):
    for path in (root / "engine" / "tactful" / "core").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [(node.module or "").split(".")[0]]
            bad = set(names) & FORBIDDEN_IMPORTS
            assert not bad, f"{path.name} imports {bad}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "input", "print"}, f"{path.name} calls {node.func.id}"


def test_public_surface_is_what_the_package_defines():
    # httpx's way: __all__ is every public name the package itself binds, no hand-copied list.
    public = sorted(name for name, value in vars(tactful.core).items()
                    if not name.startswith("_") and not isinstance(value, type(tactful)))  # fmt: skip
    assert sorted(tactful.core.__all__) == public
