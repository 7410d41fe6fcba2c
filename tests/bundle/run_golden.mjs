// Runs the golden spec inside real WebAssembly: Pyodide under Node, offline from node_modules,
// with the very wheels the bundle ships (dist/wheels-*/). Driven by tests/bundle/test_pyodide.py.
//
//   node tests/bundle/run_golden.mjs DIST_DIR ROOT_DIR
// prints one JSON object: {python, failures, replay, skipped}
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPyodide } from "pyodide";

const [dist, root] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
const pyodide = await loadPyodide({ stdout: () => {}, stderr: (s) => process.stderr.write(s + "\n") });
for (const wheel of manifest.assets.wheels) {
  pyodide.unpackArchive(new Uint8Array(readFileSync(join(dist, wheel.url))), "wheel");
}
pyodide.FS.mkdirTree("/spec");
pyodide.FS.writeFile("/spec/golden.py", readFileSync(join(root, "tests/spec/golden.py"), "utf8"));
pyodide.FS.writeFile("/spec/golden.json", readFileSync(join(root, "tests/spec/golden.json"), "utf8"));
pyodide.FS.writeFile("/spec/playbook.json", readFileSync(join(dist, manifest.assets.playbook), "utf8"));
pyodide.FS.writeFile("/spec/events.jsonl", readFileSync(join(root, "demo/events.jsonl"), "utf8"));

const result = pyodide.runPython(`
import json, sys
sys.path.insert(0, "/spec")
from golden import replay_log, run_spec
from tactful.core import Playbook

source = json.load(open("/spec/playbook.json"))
failures = run_spec(json.load(open("/spec/golden.json")), source)
rows = replay_log(Playbook.from_dict(source), open("/spec/events.jsonl"))  # tactful replay's way
json.dumps({"python": sys.version.split()[0], "failures": failures, "replay": rows})
`);
process.stdout.write(result);
