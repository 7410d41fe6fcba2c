"""Running the build's Node steps (Pyodide under Node), with their results cached by input hash."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ._inputs import BuildError

HERE = Path(__file__).resolve().parent


def run_node(script: str, config: dict, out_name: str, cache: Path, inputs: list[bytes]) -> tuple[bytes, str]:
    """Run ``script`` (beside this module) with ``config``; returns (the file it wrote, its stdout).

    The result is kept in ``cache`` under a hash of the script and ``inputs``: the same inputs
    give the same output, so a second build does not start Pyodide again.
    """
    digest = hashlib.sha256((HERE / script).read_bytes())
    for blob in inputs:
        digest.update(hashlib.sha256(blob).digest())
    key = digest.hexdigest()[:16]
    kept, said = cache / f"{out_name}.{key}", cache / f"{out_name}.{key}.out"
    if kept.is_file() and said.is_file():
        return kept.read_bytes(), said.read_text()
    node = shutil.which("node")
    if node is None:
        raise BuildError(f"Node.js is needed for this build step ({script}); an installed tactful wheel ships "
                         "its result prebuilt")  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / out_name
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps({**config, "out": str(out)}))
        result = subprocess.run([node, str(HERE / script), str(config_path)], capture_output=True, text=True,
                                check=False, timeout=600)  # fmt: skip
        if result.returncode != 0 or not out.is_file():
            raise BuildError(f"{script} failed: {(result.stderr or result.stdout).strip()[-1200:]}")
        kept.write_bytes(out.read_bytes())
        said.write_text(result.stdout)
    return kept.read_bytes(), said.read_text()
