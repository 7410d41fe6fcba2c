// Build step, run by `tactful build` under Node: Pyodide's own package loading for our wheels.
//
//   node freeze.mjs CONFIG.json
//
// CONFIG: {runtime, micropip, wheels: {name: path}, out}. Installs our wheels with micropip into a
// Pyodide started from `runtime` and writes micropip.freeze()'s lock file to `out`, keeping only our
// packages (the rest of Pyodide's catalogue is never loaded): the browser can then hand it to
// loadPyodide({lockFileContents, packages}), which fetches each wheel and checks its sha256.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(new URL("pyodide.mjs", "file://" + config.runtime + "/").href);
const pyodide = await loadPyodide({ indexURL: config.runtime + "/", stdout: () => {}, stderr: (s) => process.stderr.write(s + "\n") });
pyodide.unpackArchive(new Uint8Array(readFileSync(config.micropip)), "wheel");
const wheels = {};
for (const [name, path] of Object.entries(config.wheels)) {
  const file = "/tmp/" + basename(path);
  pyodide.FS.writeFile(file, readFileSync(path));
  wheels[name] = file;
}
pyodide.globals.set("wheels", pyodide.toPy(wheels));
const lock = await pyodide.runPythonAsync(`
import json, micropip
for name, path in wheels.items():
    await micropip.install("emfs:" + path, deps=False)
frozen = json.loads(micropip.freeze())
ours = {name: frozen["packages"][name] for name in wheels}
for name, entry in ours.items():
    entry["file_name"] = entry["file_name"].rsplit("/", 1)[-1]  # relative to the wheels' directory
json.dumps({"info": frozen["info"], "packages": ours}, sort_keys=True)
`);
writeFileSync(config.out, lock);
