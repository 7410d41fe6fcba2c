"""tactful.bundle: ``tactful build``, the self-contained browser bundle.

Above ``tactful.core`` (whose code it ships), beside the proxy and the lift tools,
independent of both::

    from tactful.bundle import build
    report = build(Path("dist"), Path("my-playbook.toml"))
    print(report.table())
"""

from ._build import (
    BYTECODE_ALLOWANCE,
    BYTECODE_CHOICES,
    DEFAULT_PACKAGES,
    ENGINE_PATH,
    PACKAGE_MODES,
    PYODIDE_VERSION,
    BuildReport,
    build,
    ensure_built,
    worth_compiling,
)
from ._contract import render_contract_js
from ._inputs import BuildError, compile_playbook, engine_archive, engine_wheel, fetch_wheels, read_lock, stored_zip
from ._serve import BundleApp, BundleResponse, bundle_response

__all__ = [
    "BYTECODE_ALLOWANCE",
    "BYTECODE_CHOICES",
    "DEFAULT_PACKAGES",
    "ENGINE_PATH",
    "PACKAGE_MODES",
    "PYODIDE_VERSION",
    "BuildError",
    "BundleApp",
    "BundleResponse",
    "BuildReport",
    "build",
    "bundle_response",
    "compile_playbook",
    "engine_archive",
    "engine_wheel",
    "ensure_built",
    "fetch_wheels",
    "read_lock",
    "render_contract_js",
    "stored_zip",
    "worth_compiling",
]
