"""What a build is made of: our lock, the pinned wheels, the Pyodide runtime, the engine itself.

Every input is pinned: wheels by sha256 in ``build/wheels.lock.json``, the Pyodide runtime by
its npm tarball's sha512 integrity. The runtime comes from ``node_modules/pyodide`` in a
checkout (``npm ci`` installs it); elsewhere the build downloads the same tarball from the npm
registry once, checks it and keeps the five files it needs in the user's cache.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from tactful import __version__, resources
from tactful.core import PlaybookError, TactfulError
from tactful.playbook_file import read_playbook

RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same bytes
MSGPACK_PURE = ("msgpack/__init__.py", "msgpack/exceptions.py", "msgpack/ext.py", "msgpack/fallback.py")


class BuildError(TactfulError):
    """The bundle cannot be built; the message says what to fix."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_lock(path: Path | None = None) -> dict:
    path = path or resources.wheels_lock()
    lock = json.loads(path.read_text())
    if lock.get("lockVersion") != 1:
        raise BuildError(f"{path}: unknown lockVersion {lock.get('lockVersion')!r}")
    return lock


def fetch_wheels(lock: dict, cache: Path) -> dict[str, Path]:
    """The locked wheels by name, from the cache or PyPI, each checked against its sha256."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = {}
    for wheel in lock["wheels"]:
        target = cache / wheel["file"]
        if not target.exists() or sha256_hex(target.read_bytes()) != wheel["sha256"]:
            target.unlink(missing_ok=True)
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--only-binary=:all:", "--platform", wheel["platform"],
                "--python-version", lock["pyodide"]["python"], "--implementation", "cp",
                f"{wheel['name']}=={wheel['version']}", "-d", str(cache),
            ]  # fmt: skip
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0 or not target.exists():
                raise BuildError(f"cannot download {wheel['file']}: {result.stderr.strip()[-400:]}")
        digest = sha256_hex(target.read_bytes())
        if digest != wheel["sha256"]:
            raise BuildError(f"{wheel['file']}: sha256 {digest} does not match the lock ({wheel['sha256']})")
        paths[wheel["name"]] = target
    return paths


def pyodide_runtime(lock: dict, cache: Path) -> Path:
    """A directory holding the pinned Pyodide runtime's files."""
    pin = lock["pyodide"]
    root = resources.checkout()
    local = root / "node_modules" / "pyodide" if root else None
    if local is not None and _version(local) == pin["version"]:
        return local
    cached = cache / f"pyodide-{pin['version']}"
    if all((cached / name).is_file() for name in RUNTIME_FILES) and _version(cached) == pin["version"]:
        return cached
    return _download_runtime(pin, cached)


def _version(directory: Path) -> str | None:
    try:
        return json.loads((directory / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _download_runtime(pin: dict, target: Path) -> Path:
    try:
        with urllib.request.urlopen(pin["tarball"], timeout=120) as response:  # noqa: S310 - a pinned https URL
            blob = response.read()
    except OSError as exc:
        raise BuildError(f"cannot download the Pyodide runtime from {pin['tarball']}: {exc}") from exc
    algorithm, _, expected = pin["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, blob).digest()).decode()
    if actual != expected:
        raise BuildError(f"{pin['tarball']}: integrity {algorithm}-{actual} does not match the pin {pin['integrity']}")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        for name in (*RUNTIME_FILES, "package.json"):
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise BuildError(f"{pin['tarball']} has no {name}")
            (target / name).write_bytes(member.read())
    return target


def engine_sources() -> dict[str, bytes]:
    """``tactful/__init__.py`` and ``tactful/core/*.py``: all of Tactful the browser runs."""
    package = resources.PACKAGE
    files = {"tactful/__init__.py": (package / "__init__.py").read_bytes()}
    for path in sorted((package / "core").glob("*.py")):
        files[f"tactful/core/{path.name}"] = path.read_bytes()
    return files


def stored_zip(files: dict[str, bytes]) -> bytes:
    """An uncompressed zip of ``files`` in name order, with fixed timestamps: brotli compresses it whole."""
    return _zip(dict(sorted(files.items())), zipfile.ZIP_STORED)


def _zip(files: dict[str, bytes], method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def engine_wheel() -> tuple[str, bytes]:
    """A deterministic wheel of ``tactful`` with only ``tactful.core`` (no CLI, no proxy)."""
    files = engine_sources()
    dist_info = f"tactful-{__version__}.dist-info"
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: tactful\nVersion: {__version__}\n"
        "Summary: Tactful decision engine (browser build: tactful.core only)\nRequires-Dist: msgpack\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tactful-build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return f"tactful-{__version__}-py3-none-any.whl", _zip(files, zipfile.ZIP_DEFLATED)


def engine_archive(msgpack_wheel: Path) -> bytes:
    """One uncompressed zip the browser imports from: tactful.core and msgpack's own pure-Python
    implementation (its C extension cannot live in a Pyodide memory snapshot), with msgpack's
    licence. Stored, not deflated: brotli on the wire compresses it as a whole."""
    files = engine_sources()
    with zipfile.ZipFile(msgpack_wheel) as wheel:
        names = set(wheel.namelist())
        for name in MSGPACK_PURE:
            if name not in names:
                raise BuildError(f"{msgpack_wheel.name} has no {name}: not the msgpack this build expects")
            files[name] = wheel.read(name)
        licence = next((n for n in names if n.endswith((".dist-info/LICENSE", ".dist-info/licenses/COPYING",
                                                         ".dist-info/licenses/LICENSE"))), None)  # fmt: skip
        if licence:
            files["msgpack/LICENSE"] = wheel.read(licence)
    return _zip(files, zipfile.ZIP_STORED)


def compile_playbook(path: Path) -> bytes:
    """Validate a playbook file and return the canonical JSON the browser gets (no server-only fields);
    a bad one fails the build."""
    try:
        playbook = read_playbook(path)
    except PlaybookError as err:
        details = "; ".join(f"{f or '(top level)'}: {m}" for f, m in err.problems)
        raise BuildError(f"{path}: invalid playbook — {details}") from err
    return playbook.public_json().encode()
