"""``tactful build``: assemble a self-contained ``dist/`` for any static host.

Layout of the output (served by the site under one prefix, e.g. ``/tactful/``)::

    tactful.js                      the loader: the only file without a content hash
    assets/worker.<hash>.js         the module worker that hosts Pyodide
    assets/widget.<hash>.js         the widget, loaded lazily on the first intervention
    assets/playbook.<hash>.json     the playbook, validated and compiled to JSON
    runtime-<hash>/…                the Pyodide runtime (its own file names, so the directory is hashed)
    wheels-<hash>/…                 msgpack and the engine wheel (wheel names must stay valid)
    manifest.json                   every file: bytes, gzip, brotli, sha256 and SRI integrity

Nothing is fetched from a third party at run time. The wheels are pinned by
sha256 in ``build/wheels.lock.json``; a bad playbook fails the build with the
field named.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tactful import __version__
from tactful.core import PlaybookError, TactfulError
from tactful.playbook_file import read_playbook

from ._javascript import ASSET_PLACEHOLDER, JavaScriptError, bundle_javascript

ROOT = Path(__file__).resolve().parents[3]
PYODIDE_VERSION = "314.0.7"
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same wheel bytes


class BuildError(TactfulError):
    """The bundle cannot be built; the message says what to fix."""


@dataclass
class BuildReport:
    out: Path
    files: dict[str, dict] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("bytes", "gzip", "brotli")
        return {k: sum(f[k] for f in self.files.values()) for k in keys}

    def table(self) -> str:
        lines = [f"{'file':<58} {'bytes':>10} {'gzip':>10} {'brotli':>10}"]
        for name, info in sorted(self.files.items()):
            lines.append(f"{name:<58} {info['bytes']:>10,} {info['gzip']:>10,} {info['brotli']:>10,}")
        t = self.totals
        lines.append(f"{'total':<58} {t['bytes']:>10,} {t['gzip']:>10,} {t['brotli']:>10,}")
        return "\n".join(lines)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def brotli_size(data: bytes) -> int:
    import brotli  # build-only dependency

    return len(brotli.compress(data, quality=11))


# -- inputs -------------------------------------------------------------------


def read_lock(path: Path | None = None) -> dict:
    path = path or ROOT / "build" / "wheels.lock.json"
    lock = json.loads(path.read_text())
    if lock.get("lockVersion") != 1:
        raise BuildError(f"{path}: unknown lockVersion {lock.get('lockVersion')!r}")
    return lock


def fetch_wheels(lock: dict, cache: Path) -> list[Path]:
    """The locked wheels, from the cache or PyPI, each checked against its sha256."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
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
        paths.append(target)
    return paths


def pyodide_dir(root: Path = ROOT) -> Path:
    """node_modules/pyodide at the pinned version, installing it with ``npm ci`` if needed."""
    here = root / "node_modules" / "pyodide"

    def version() -> str | None:
        try:
            return json.loads((here / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    if version() != PYODIDE_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("npm is needed to install the Pyodide runtime (package.json pins pyodide)")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=root, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or version() != PYODIDE_VERSION:
            raise BuildError(f"npm ci failed to install pyodide@{PYODIDE_VERSION}: {result.stderr.strip()[-400:]}")
    return here


def engine_wheel() -> tuple[str, bytes]:
    """A deterministic wheel of ``tactful`` with only ``tactful.core`` (no CLI, no proxy)."""
    package = ROOT / "engine" / "tactful"
    files = {"tactful/__init__.py": (package / "__init__.py").read_bytes()}
    for path in sorted((package / "core").glob("*.py")):
        files[f"tactful/core/{path.name}"] = path.read_bytes()
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
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return f"tactful-{__version__}-py3-none-any.whl", buffer.getvalue()


def compile_playbook(path: Path) -> bytes:
    """Validate a playbook file and return its canonical JSON; a bad one fails the build."""
    try:
        playbook = read_playbook(str(path))
    except PlaybookError as err:
        details = "; ".join(f"{f or '(top level)'}: {m}" for f, m in err.problems)
        raise BuildError(f"{path}: invalid playbook — {details}") from err
    return playbook.to_json().encode()


# -- assembly -----------------------------------------------------------------


def _hashed(name: str, data: bytes) -> str:
    stem, _, ext = name.rpartition(".")
    return f"{stem}.{sha256_hex(data)[:12]}.{ext}"


def _dir_hash(blobs: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(blobs):
        digest.update(name.encode() + b"\0" + hashlib.sha256(blobs[name]).digest())
    return digest.hexdigest()[:12]


def build(out: Path, playbook: Path | None = None, *, browser: Path | None = None) -> BuildReport:
    """Build the bundle into ``out`` (emptied first) and return the size report."""
    browser = browser or ROOT / "browser"
    playbook = playbook or ROOT / "demo" / "playbook.toml"
    playbook_json = compile_playbook(playbook)
    lock = read_lock()
    wheel_paths = fetch_wheels(lock, ROOT / "build" / "cache")
    runtime_src = pyodide_dir()

    blobs: dict[str, bytes] = {}
    runtime = {name: (runtime_src / name).read_bytes() for name in RUNTIME_FILES}
    runtime_dir = f"runtime-{_dir_hash(runtime)}"
    for name, data in runtime.items():
        blobs[f"{runtime_dir}/{name}"] = data

    wheels = {p.name: p.read_bytes() for p in wheel_paths}
    engine_name, engine_bytes = engine_wheel()
    wheels[engine_name] = engine_bytes
    wheels_dir = f"wheels-{_dir_hash(wheels)}"
    wheel_list = []
    for name, data in wheels.items():
        blobs[f"{wheels_dir}/{name}"] = data
        wheel_list.append({"url": f"{wheels_dir}/{name}", "integrity": sri(data)})

    try:
        scripts = bundle_javascript(browser, ROOT)
    except JavaScriptError as err:
        raise BuildError(str(err)) from err
    assets: dict[str, object] = {"version": __version__, "runtime": f"{runtime_dir}/", "wheels": wheel_list}
    for key in ("worker", "widget"):
        data = scripts[f"{key}.js"]
        assets[key] = f"assets/{_hashed(f'{key}.js', data)}"
        blobs[str(assets[key])] = data
    assets["playbook"] = f"assets/{_hashed('playbook.json', playbook_json)}"
    blobs[str(assets["playbook"])] = playbook_json
    # The asset map goes in as a JS string literal holding JSON (the loader JSON.parses it).
    literal = json.dumps(json.dumps(assets, separators=(",", ":")))
    blobs["tactful.js"] = scripts["tactful.js"].replace(ASSET_PLACEHOLDER.encode(), literal.encode())

    if out.exists():
        shutil.rmtree(out)
    report = BuildReport(out)
    for name, data in sorted(blobs.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        report.files[name] = {
            "bytes": len(data),
            "gzip": len(gzip.compress(data, 9, mtime=0)),
            "brotli": brotli_size(data),
            "sha256": sha256_hex(data),
            "integrity": sri(data),
        }
    manifest = {"version": __version__, "pyodide": PYODIDE_VERSION, "assets": assets, "files": report.files,
                "totals": report.totals}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return report


def ensure_built(out: Path, playbook: Path | None = None) -> Path:
    """Build unless ``out`` already holds a bundle built from the current sources."""
    stamp = out / ".sources"
    sources = [p for p in sorted((ROOT / "browser").rglob("*.js")) if "generated" not in p.parts]
    sources += sorted((ROOT / "engine" / "tactful" / "core").glob("*.py"))
    sources += sorted((ROOT / "engine" / "tactful" / "bundle").glob("*.py"))
    sources.append(playbook or ROOT / "demo" / "playbook.toml")
    digest = _dir_hash({str(p): p.read_bytes() for p in sources})
    if not (stamp.exists() and stamp.read_text() == digest and (out / "manifest.json").exists()):
        build(out, playbook)
        stamp.write_text(digest)
    return out
