"""tactful.bundle: ``tactful build``, the self-contained browser bundle.

Above ``tactful.core`` (whose wheel it ships), beside the proxy and the lift tools,
independent of both::

    from tactful.bundle import build
    report = build(Path("dist"), Path("my-playbook.toml"))
    print(report.table())
"""

from ._build import (
    PYODIDE_VERSION,
    BuildError,
    BuildReport,
    build,
    compile_playbook,
    engine_wheel,
    ensure_built,
    fetch_wheels,
    read_lock,
)
from ._contract import render_contract_js

__all__ = [
    "PYODIDE_VERSION",
    "BuildError",
    "BuildReport",
    "build",
    "compile_playbook",
    "engine_wheel",
    "ensure_built",
    "fetch_wheels",
    "read_lock",
    "render_contract_js",
]
