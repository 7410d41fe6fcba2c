"""``tactful build``: assemble a self-contained ``dist/`` for any static host.

Layout of the output (served by the site under one prefix, e.g. ``/tactful/``)::

    tactful.js                      the loader: the only file without a content hash
    assets/worker.<hash>.js         the module worker that hosts Pyodide
    assets/widget.<hash>.js         the widget, loaded lazily on the first intervention
    assets/playbook.<hash>.json     the playbook, validated and compiled to JSON
    assets/engine.<hash>.zip        tactful.core and msgpack (pure Python), imported from the zip
    runtime-<hash>/…                Pyodide's runtime under its own names, with our trimmed standard library
    manifest.json                   every file: bytes, gzip, brotli, sha256 and SRI; the first visit's files
    *.br, *.gz                      precompressed siblings of every file that compresses

With ``packages="lock"`` the engine travels as two wheels (``wheels-<hash>/``) that Pyodide's
own loader fetches and checks against a lock file frozen by micropip, instead of the zip.
Nothing is fetched from a third party at run time; a bad playbook fails the build with the
field named.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tactful import __version__, resources
from tactful.core import Playbook, inventory, inventory_html

from ._inputs import (
    BuildError,
    compile_playbook,
    engine_archive,
    engine_wheel,
    fetch_wheels,
    pyodide_runtime,
    read_lock,
    sha256_hex,
    stored_zip,
)
from ._javascript import ASSET_PLACEHOLDER, JavaScriptError, bundle_javascript
from ._node import run_node

PYODIDE_VERSION = "314.0.7"
PACKAGE_MODES = ("zip", "lock")
DEFAULT_PACKAGES = "zip"  # the faster start (bench/bench_browser.py measures both; see docs/ARCHITECTURE.md)
SHIPPED_RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
COMPRESSIBLE = (".js", ".mjs", ".json", ".wasm", ".zip", ".html", ".css", ".svg")


@dataclass
class BuildReport:
    out: Path
    files: dict[str, dict] = field(default_factory=dict)
    first_visit: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("bytes", "gzip", "brotli")
        return {k: sum(f[k] for f in self.files.values()) for k in keys}

    @property
    def first_visit_totals(self) -> dict[str, int]:
        keys = ("bytes", "gzip", "brotli")
        return {k: sum(self.files[name][k] for name in self.first_visit) for k in keys}

    def table(self) -> str:
        lines = [f"{'file':<58} {'bytes':>10} {'gzip':>10} {'brotli':>10}"]
        for name, info in sorted(self.files.items()):
            lines.append(f"{name:<58} {info['bytes']:>10,} {info['gzip']:>10,} {info['brotli']:>10,}")
        t, f = self.totals, self.first_visit_totals
        lines.append(f"{'total':<58} {t['bytes']:>10,} {t['gzip']:>10,} {t['brotli']:>10,}")
        lines.append(f"{f'first visit ({len(self.first_visit)} files)':<58} {f['bytes']:>10,} {f['gzip']:>10,} {f['brotli']:>10,}")
        return "\n".join(lines)


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def brotli_bytes(data: bytes) -> bytes:
    import brotli  # build-only dependency

    return bytes(brotli.compress(data, quality=11))


def _hashed(name: str, data: bytes) -> str:
    stem, _, ext = name.rpartition(".")
    return f"{stem}.{sha256_hex(data)[:12]}.{ext}"


def _dir_hash(blobs: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(blobs):
        digest.update(name.encode() + b"\0" + hashlib.sha256(blobs[name]).digest())
    return digest.hexdigest()[:12]


# -- the parts ----------------------------------------------------------------


def javascript(browser: Path | None, test: bool = False) -> dict[str, bytes]:
    """The bundled loader, worker and widget: prebuilt in an installed wheel, else esbuild from sources."""
    root = resources.checkout()
    if browser is None and root is None:
        folder = "test/" if test else ""
        files = {name: resources.prebuilt(folder + name) for name in ("tactful.js", "worker.js", "widget.js")}
        missing = [name for name, path in files.items() if path is None]
        if missing:
            raise BuildError(f"this install has no prebuilt {', '.join(missing)} (a broken wheel?)")
        return {name: path.read_bytes() for name, path in files.items() if path is not None}
    try:
        return bundle_javascript(browser or root / "browser", root or Path.cwd(), test)  # type: ignore[operator]
    except JavaScriptError as err:
        raise BuildError(str(err)) from err


ENGINE_PATH = "/lib/tactful-engine.zip/"  # where the worker mounts the engine (browser/worker/engine.js)
# Brotli bytes the standard library's bytecode may add to the first visit. Bytecode starts faster
# (nothing to compile in the browser) but compresses worse than stripped source: the build compiles
# the modules that buy the most start-up per byte (source size per byte added) until this is spent,
# and ships the rest as source. The engine itself always travels as bytecode (see bytecode.py).
# 60 KB: paid for by the engine no longer importing urllib.parse and ipaddress (12 KB brotli less
# in the archive); the first visit stays under its 3.4 MB budget (80 KB would pass it).
BYTECODE_ALLOWANCE = 60_000
# `tactful build --bytecode`: "budget" (the allowance above) or "all": every module as bytecode, for
# a site that would rather spend about 220 KB more brotli on a first visit than wait for the browser
# to compile Python (the benchmark measures both: the cold start about halves).
BYTECODE_CHOICES = {"budget": BYTECODE_ALLOWANCE, "all": 10**9}


@dataclass
class PythonArchives:
    stdlib: bytes  # the trimmed standard library: bytecode and stripped source
    engine: bytes  # the engine zip, compiled
    modules: list[str]  # the standard library files it holds, as sources are named
    compiled: list[str]  # those of them that travel as bytecode


def python_archives(runtime: Path, archive: bytes, playbook_json: bytes, cache: Path, lock: dict | None = None,
                    wheels_dir: Path | None = None, allowance: int = BYTECODE_ALLOWANCE) -> PythonArchives:  # fmt: skip
    """The standard library archive holding only what Pyodide's start-up and the engine import
    (through Pyodide's package loader too, when the engine comes as wheels with ``lock``), and the
    engine compiled to bytecode."""
    pinned = {name: resources.prebuilt(name) for name in ("python_stdlib.zip", "python_stdlib.json", "engine.zip")}
    if all(pinned.values()) and resources.checkout() is None and allowance == BYTECODE_ALLOWANCE:
        listed = json.loads(pinned["python_stdlib.json"].read_text())  # type: ignore[union-attr]
        return PythonArchives(pinned["python_stdlib.zip"].read_bytes(), pinned["engine.zip"].read_bytes(),  # type: ignore[union-attr]
                              listed["modules"], listed["compiled"])  # fmt: skip
    stdlib = (runtime / "python_stdlib.zip").read_bytes()
    engine = cache / "engine-for-trace.zip"
    engine.write_bytes(archive)
    playbook = cache / "playbook-for-trace.json"
    playbook.write_bytes(playbook_json)
    here = Path(__file__).resolve().parent
    config: dict[str, Any] = {"runtime": str(runtime), "stdlib": str(runtime / "python_stdlib.zip"),
                              "wheels": [str(engine)], "playbook": str(playbook), "enginePath": ENGINE_PATH,
                              "strip": str(here / "strip_source.py"), "bytecode": str(here / "bytecode.py")}  # fmt: skip
    if lock is not None and wheels_dir is not None:
        config.update(lock=lock, wheelsDir=str(wheels_dir))
    inputs = [stdlib, archive, *((here / n).read_bytes() for n in ("strip_source.py", "bytecode.py")),
              json.dumps(lock).encode(), ENGINE_PATH.encode()]  # fmt: skip
    data, said = run_node("stdlib.mjs", config, "python-parts.zip", cache, inputs)
    parts = zipfile.ZipFile(io.BytesIO(data))
    modules = json.loads(said)["modules"]
    sources = {name: parts.read("source/" + name) for name in modules}
    bytecode = {name: parts.read("bytecode/" + name + "c") for name in modules}
    choice = cache / f"bytecode-choice.{sha256_hex(data)[:16]}.{allowance}.json"  # brotli on every module: seconds
    if not choice.is_file():
        choice.write_text(json.dumps(worth_compiling(sources, bytecode, allowance)))
    compiled = json.loads(choice.read_text())
    files = {name + "c": bytecode[name] for name in compiled}
    files.update({name: sources[name] for name in modules if name not in compiled})
    engine_files = {name[len("engine/"):]: parts.read(name) for name in parts.namelist() if name.startswith("engine/")}
    return PythonArchives(stored_zip(files), stored_zip(engine_files), modules, compiled)


def worth_compiling(sources: dict[str, bytes], bytecode: dict[str, bytes], allowance: int) -> list[str]:
    """The modules to ship as bytecode: the most compile work (source bytes) per brotli byte added
    first, while the bytes added stay within ``allowance``. Deterministic: sizes, not timings."""
    added = {name: max(1, len(brotli_bytes(bytecode[name])) - len(brotli_bytes(sources[name]))) for name in sources}
    ranked = sorted(sources, key=lambda name: (-len(sources[name]) / added[name], name))
    chosen, spent = [], 0
    for name in ranked:
        if spent + added[name] <= allowance:
            chosen.append(name)
            spent += added[name]
    return sorted(chosen)


def frozen_lock(runtime: Path, wheels: dict[str, Path], engine: tuple[str, bytes], cache: Path) -> dict:
    """micropip's lock file for our two wheels (``packages="lock"``)."""
    engine_path = cache / engine[0]
    engine_path.write_bytes(engine[1])
    paths = {"msgpack": wheels["msgpack"], "tactful": engine_path}
    config = {"runtime": str(runtime), "micropip": str(wheels["micropip"]),
              "wheels": {name: str(path) for name, path in paths.items()}}  # fmt: skip
    inputs = [path.read_bytes() for path in (wheels["micropip"], *paths.values())]
    data, _ = run_node("freeze.mjs", config, "tactful-lock.json", cache, inputs)
    return json.loads(data)


# -- assembly -----------------------------------------------------------------


def build(out: Path, playbook: Path, *, packages: str = DEFAULT_PACKAGES, browser: Path | None = None,
          test: bool = False, bytecode: int = BYTECODE_ALLOWANCE) -> BuildReport:  # fmt: skip
    """Build the bundle into ``out`` (emptied first) and return the size report.

    ``bytecode``: brotli bytes the standard library's bytecode may add (``BYTECODE_ALLOWANCE``; the
    benchmark builds a whole-library variant to measure what the allowance leaves on the table).

    ``test``: a bundle for site owners' end-to-end suites (see ``tactful.testing``): it accepts
    automated browsers and a chosen arm, says so loudly in the console, and must never be deployed.
    """
    if packages not in PACKAGE_MODES:
        raise BuildError(f"packages must be one of {', '.join(PACKAGE_MODES)}")
    playbook_json = compile_playbook(playbook)
    pins = read_lock()  # our lock: the wheels and the Pyodide runtime, pinned
    cache = resources.cache_dir()
    wheels = fetch_wheels(pins, cache)
    runtime = pyodide_runtime(pins, cache)
    archive = engine_archive(wheels["msgpack"])
    scripts = javascript(browser, test)
    blobs: dict[str, bytes] = {}
    assets: dict[str, Any] = {"version": __version__, "packages": packages, "test": test}
    if packages == "zip":  # the engine travels as bytecode, compiled by the trace's Pyodide
        python = python_archives(runtime, archive, playbook_json, cache, allowance=bytecode)
        engine_hash = _add_engine(blobs, assets, packages, python.engine, wheels, runtime, cache)
    else:
        engine_hash = _add_engine(blobs, assets, packages, archive, wheels, runtime, cache)
        python = _traced_through_lock(blobs, assets, runtime, archive, playbook_json, cache)

    shipped = {name: (runtime / name).read_bytes() for name in SHIPPED_RUNTIME}
    shipped["python_stdlib.zip"] = python.stdlib
    runtime_dir = f"runtime-{_dir_hash(shipped)}"
    blobs.update({f"{runtime_dir}/{name}": data for name, data in shipped.items()})
    assets["runtime"] = f"{runtime_dir}/"
    for key in ("worker", "widget"):
        data = scripts[f"{key}.js"]
        assets[key] = f"assets/{_hashed(f'{key}.js', data)}"
        blobs[str(assets[key])] = data
    assets["playbook"] = f"assets/{_hashed('playbook.json', playbook_json)}"
    blobs[str(assets["playbook"])] = playbook_json
    # A warm start restores a memory snapshot made by this very runtime and engine (and worker).
    assets["snapshot"] = hashlib.sha256(f"{runtime_dir}|{engine_hash}|{assets['worker']}".encode()).hexdigest()[:16]
    # The asset map goes in as a JS string literal holding JSON (the loader JSON.parses it).
    literal = json.dumps(json.dumps(assets, separators=(",", ":")))
    blobs["tactful.js"] = scripts["tactful.js"].replace(ASSET_PLACEHOLDER.encode(), literal.encode())
    first_visit = ["tactful.js", str(assets["worker"]), str(assets["playbook"]),
                   *(f"{runtime_dir}/{name}" for name in shipped), *_engine_files(assets)]  # fmt: skip
    blobs.update(privacy_files(playbook_json))
    blobs["testing/tactful-playwright.mjs"] = playwright_helper()
    return _write(out, blobs, assets, first_visit)


def privacy_files(playbook_json: bytes) -> dict[str, bytes]:
    """The data inventory for this playbook, what the bundle stores and sends: ``privacy.json`` and a
    page for reviewers and visitors, ``privacy.html``."""
    shipped = Playbook.from_dict(json.loads(playbook_json))
    listed = inventory(shipped.privacy, shipped.honor_gpc)
    return {"privacy.json": (json.dumps(listed, indent=1) + "\n").encode(), "privacy.html": inventory_html(listed).encode()}


def _add_engine(blobs, assets, packages, archive, wheels, runtime, cache) -> str:
    """The engine, as one zip (``zip``) or as two wheels with micropip's lock (``lock``); its hash."""
    if packages == "zip":
        name = f"assets/{_hashed('engine.zip', archive)}"
        blobs[name] = archive
        assets["engine"] = {"url": name, "integrity": sri(archive)}
        # Pyodide wants a lock file; an empty one (its own header) means it fetches none.
        info = json.loads((runtime / "pyodide-lock.json").read_text())["info"]
        assets["lock"] = {"info": info, "packages": {}}
        return sha256_hex(archive)
    engine = engine_wheel()
    files = {wheels["msgpack"].name: wheels["msgpack"].read_bytes(), engine[0]: engine[1]}
    wheels_dir = f"wheels-{_dir_hash(files)}"
    blobs.update({f"{wheels_dir}/{name}": data for name, data in files.items()})
    assets["wheels"] = f"{wheels_dir}/"
    assets["lock"] = frozen_lock(runtime, wheels, engine, cache)
    return _dir_hash(files)


def _traced_through_lock(blobs, assets, runtime, archive, playbook_json, cache) -> PythonArchives:
    """The trace for ``packages="lock"``: it installs the very wheels the browser will, through the lock."""
    wheels_dir = cache / f"traced-{assets['wheels']}".rstrip("/")
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        if name.startswith(str(assets["wheels"])):
            (wheels_dir / name.split("/", 1)[1]).write_bytes(data)
    return python_archives(runtime, archive, playbook_json, cache, assets["lock"], wheels_dir)


def _engine_files(assets: dict) -> list[str]:
    if "engine" in assets:
        return [assets["engine"]["url"]]
    return [f"{assets['wheels']}{entry['file_name']}" for entry in assets["lock"]["packages"].values()]


def _write(out: Path, blobs: dict[str, bytes], assets: dict, first_visit: list[str]) -> BuildReport:
    if out.exists():
        shutil.rmtree(out)
    report = BuildReport(out, first_visit=first_visit)
    for name, data in sorted(blobs.items()):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        squeezed = {"gzip": gzip.compress(data, 9, mtime=0), "brotli": brotli_bytes(data)}
        if name.endswith(COMPRESSIBLE):  # precompressed siblings for servers that send them as they are
            for suffix, blob in ((".gz", squeezed["gzip"]), (".br", squeezed["brotli"])):
                if len(blob) < 0.95 * len(data):
                    Path(f"{target}{suffix}").write_bytes(blob)
        report.files[name] = {
            "bytes": len(data),
            "gzip": min(len(squeezed["gzip"]), len(data)),
            "brotli": min(len(squeezed["brotli"]), len(data)),
            "sha256": sha256_hex(data),
            "integrity": sri(data),
        }
    manifest = {"version": __version__, "pyodide": PYODIDE_VERSION, "assets": assets, "files": report.files,
                "test": bool(assets.get("test")),
                "first_visit": first_visit, "totals": report.totals,
                "first_visit_totals": report.first_visit_totals}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return report


def playwright_helper() -> bytes:
    """The helper module for site owners' @playwright/test suites (``dist/testing/``)."""
    root = resources.checkout()
    path = root / "browser" / "testing" / "tactful-playwright.mjs" if root else resources.prebuilt(HELPER)
    if path is None or not path.is_file():
        raise BuildError(f"{HELPER} is missing from this install")
    return path.read_bytes()


HELPER = "testing/tactful-playwright.mjs"


def ensure_built(out: Path, playbook: Path | None = None, packages: str = DEFAULT_PACKAGES, test: bool = False,
                 bytecode: int = BYTECODE_ALLOWANCE) -> Path:  # fmt: skip
    """Build unless ``out`` already holds a bundle built from the current sources."""
    playbook = playbook or resources.demo_playbook()
    stamp = out / ".sources"
    package = resources.PACKAGE
    sources = [*sorted((package / "core").glob("*.py")), *sorted((package / "bundle").glob("*.*")), playbook]
    root = resources.checkout()
    if root is not None:
        sources += [p for p in sorted((root / "browser").rglob("*.*js")) if "generated" not in p.parts]
        sources.append(root / "build" / "wheels.lock.json")
    digest = _dir_hash({str(p): p.read_bytes() for p in sources}) + packages + ("-test" if test else "") + f"-{bytecode}"
    if not (stamp.exists() and stamp.read_text() == digest and (out / "manifest.json").exists()):
        build(out, playbook, packages=packages, test=test, bytecode=bytecode)
        stamp.write_text(digest)
    return out
