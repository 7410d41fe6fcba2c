// Runs the golden spec inside real WebAssembly: Pyodide under Node, offline, loading exactly what
// the browser loads from the built bundle: its runtime directory (with the trimmed standard
// library), msgpack in pure Python, and the engine from the zip (or the wheels through Pyodide's
// loader and micropip's lock). Driven by tests/bundle/test_pyodide.py.
//
//   node tests/bundle/run_golden.mjs DIST_DIR ROOT_DIR
// prints one JSON object: {python, failures, replay, msgpack, stdlib, engine_file, loaded_from}
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [dist, root] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
const assets = manifest.assets;
const runtime = join(dist, assets.runtime);
const { loadPyodide } = await import("file://" + join(runtime, "pyodide.mjs"));
const options = { indexURL: runtime + "/", env: { MSGPACK_PUREPYTHON: "1" }, lockFileContents: assets.lock,
  stdout: () => {}, stderr: (s) => process.stderr.write(s + "\n") };
if (assets.wheels) {
  options.packageBaseUrl = resolve(dist, assets.wheels) + "/"; // a plain path (a file: URL would become a directory)
  options.packages = Object.keys(assets.lock.packages);
}
const pyodide = await loadPyodide(options);
if (assets.engine) {
  pyodide.FS.writeFile("/lib/tactful-engine.zip", readFileSync(join(dist, assets.engine.url)));
  pyodide.runPython("import sys; sys.path.insert(0, '/lib/tactful-engine.zip')");
}
pyodide.FS.mkdirTree("/spec");
pyodide.FS.writeFile("/spec/golden.py", readFileSync(join(root, "tests/spec/golden.py"), "utf8"));
pyodide.FS.writeFile("/spec/golden.json", readFileSync(join(root, "tests/spec/golden.json"), "utf8"));
pyodide.FS.writeFile("/spec/playbook.json", readFileSync(join(dist, assets.playbook), "utf8"));
pyodide.FS.writeFile("/spec/events.jsonl", readFileSync(join(root, "demo/events.jsonl"), "utf8"));

const result = pyodide.runPython(`
import json, sys
sys.path.insert(0, "/spec")
from golden import replay_log, run_spec
from tactful.core import Playbook
import msgpack
import tactful.core._engine as engine_module

source = json.load(open("/spec/playbook.json"))
failures = run_spec(json.load(open("/spec/golden.json")), source)
rows = replay_log(Playbook.from_dict(source), open("/spec/events.jsonl"))  # tactful replay's way
json.dumps({"python": sys.version.split()[0], "failures": failures, "replay": rows,
            "msgpack": msgpack.Packer.__module__, "stdlib": sorted(m for m in sys.modules),
            "engine_file": engine_module.__file__,
            "loaded_from": sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})})
`);
process.stdout.write(result);
