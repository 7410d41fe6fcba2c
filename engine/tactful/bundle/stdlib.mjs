// Build step, run by `tactful build` under Node: which standard-library modules does the browser
// need, and each of them as stripped source and as bytecode; the engine as bytecode.
//
//   node stdlib.mjs CONFIG.json
//
// CONFIG: {runtime, stdlib, wheels: [paths], playbook, strip, bytecode, out, lock?, wheelsDir?}. Pyodide
// starts from `runtime` exactly as the worker starts it (same env; the engine mounted as a zip on
// sys.path, or with `lock`, installed by Pyodide's own loader from `wheelsDir`), imports tactful.core
// and every module its sources import, drives the Host through a visit, then lists the modules that
// came from the standard library archive (frozen ones excluded: their code is in the wasm binary,
// the file would only be read for a traceback's source line). It writes `out`, an uncompressed zip of
// parts the build assembles from: `source/NAME.py` (stripped of docstrings and comments by `strip`,
// run here because the archive holds Python 3.14), `bytecode/NAME.pyc` (by `bytecode`, for this very
// Python) and `engine/…`, the first wheel with every module compiled (`python -OO`).
// Prints a JSON summary: {modules}.
import { readFileSync, writeFileSync } from "node:fs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(new URL("pyodide.mjs", "file://" + config.runtime + "/").href);
const options = { indexURL: config.runtime + "/", env: { MSGPACK_PUREPYTHON: "1" }, stdout: () => {},
  stderr: (s) => process.stderr.write(s + "\n") };
if (config.lock) {
  options.lockFileContents = config.lock;
  options.packageBaseUrl = config.wheelsDir + "/"; // a plain path: Pyodide under Node also caches packages there
  options.packages = Object.keys(config.lock.packages);
}
const pyodide = await loadPyodide(options);
config.wheels.forEach((path, i) => pyodide.FS.writeFile(`/lib/tactful-wheel-${i}.zip`, new Uint8Array(readFileSync(path))));
pyodide.FS.writeFile("/tmp/playbook.json", readFileSync(config.playbook, "utf8"));
pyodide.FS.writeFile("/tmp/strip_source.py", readFileSync(config.strip, "utf8"));
pyodide.FS.writeFile("/tmp/bytecode.py", readFileSync(config.bytecode, "utf8"));
pyodide.FS.writeFile("/tmp/stdlib-in.zip", readFileSync(config.stdlib));
pyodide.globals.set("wheel_count", config.wheels.length);
pyodide.globals.set("config_engine_path", config.enginePath);

const summary = pyodide.runPython(`
import ast, importlib, io, json, sys, zipfile
sys.path[:0] = [f"/lib/tactful-wheel-{i}.zip" for i in range(wheel_count)]

import tactful.core
from tactful.core import Host

# Every module our wheels' sources import anywhere, even inside a function (optional ones may be absent).
for wheel in (p for p in sys.path if "tactful-wheel" in p):
    archive = zipfile.ZipFile(wheel)
    for name in (n for n in archive.namelist() if n.endswith(".py")):
        for node in ast.walk(ast.parse(archive.read(name))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for module in names:
                try:
                    importlib.import_module(module)
                except ImportError:
                    pass

# A visit, as the worker drives it.
host = Host(open("/tmp/playbook.json").read(), "trace-visitor", "", json.dumps({"user_agent": "Mozilla/5.0"}))
events = [{"t": 0, "type": "page_view", "url": "/cart", "p": "a", "n": 0}, {"t": 1, "type": "activity", "p": "a", "n": 1},
          {"t": 2, "type": "cart", "items": 1, "value": 9.5, "p": "a", "n": 2}, {"t": 12, "type": "exit_intent", "p": "a", "n": 3}]
for card in json.loads(host.feed(json.dumps(events), 13.0, "")):
    if card["action"] == "intervene":
        host.message_request_b64(card["trigger"], "en-GB", "")
host.merge(host.state_b64())
host.outcome_b64()

archive = zipfile.ZipFile("/tmp/stdlib-in.zip")
inside = set(archive.namelist())
needed = set()
where = ""  # the archive's path, as tracebacks name it
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    spec = getattr(module, "__spec__", None)
    if getattr(spec, "origin", None) == "frozen":
        continue
    if ".zip/" in path and "tactful-wheel" not in path:
        where, name = path.split(".zip/", 1)
        where += ".zip/"
        if name in inside:
            needed.add(name)
            parts = name.split("/")[:-1]  # a package's __init__ travels with its modules
            for i in range(1, len(parts) + 1):
                init = "/".join(parts[:i]) + "/__init__.py"
                if init in inside:
                    needed.add(init)

sys.path.insert(0, "/tmp")
from strip_source import strip_python
from bytecode import compile_archive, pyc
stamp = (2020, 1, 1, 0, 0, 0)
with zipfile.ZipFile("/tmp/parts.zip", "w", zipfile.ZIP_STORED) as out:
    for name in sorted(needed):
        text = strip_python(archive.read(name).decode("utf-8")).encode("utf-8")
        out.writestr(zipfile.ZipInfo("source/" + name, stamp), text)
        out.writestr(zipfile.ZipInfo("bytecode/" + name + "c", stamp), pyc(text, where + name))
    engine = zipfile.ZipFile(io.BytesIO(compile_archive(open("/lib/tactful-wheel-0.zip", "rb").read(), 2, config_engine_path)))
    for name in engine.namelist():
        out.writestr(zipfile.ZipInfo("engine/" + name, stamp), engine.read(name))
json.dumps({"modules": sorted(needed)})
`);
writeFileSync(config.out, pyodide.FS.readFile("/tmp/parts.zip"));
process.stdout.write(summary);
