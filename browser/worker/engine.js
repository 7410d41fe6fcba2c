// Starting Pyodide with the engine imported: warm from a memory snapshot when this browser has
// one for this exact bundle, cold otherwise (and then keeping a snapshot for next time).
//
// The snapshot is Pyodide's own (`_makeSnapshot` / `_loadSnapshot`): the interpreter's memory just
// after `import tactful.core`, kept in Cache Storage under the bundle's snapshot key, without its zero
// pages (pages.js: 31 MB of memory kept as 14 MB). msgpack runs as
// its own pure-Python implementation (MSGPACK_PUREPYTHON): its C extension is a dynamic library,
// which a snapshot cannot carry. Any failure to read or restore a snapshot is silent: the worker
// drops it and starts cold, and says so in `ready` (`start`, `notes`).

import { STORAGE_NAMES } from "../generated/contract.js";
import { dense, sparse } from "./pages.js";

const SNAPSHOTS = STORAGE_NAMES.snapshots;
const ENGINE_ZIP = "/lib/tactful-engine.zip"; // bytecode compiled for this path (ENGINE_PATH in bundle/_build.py)
const ENV = { MSGPACK_PUREPYTHON: "1" };

function snapshotRequest(key) {
  return new Request(new URL(`/__tactful__/snapshot/${key}`, self.location.origin).href);
}

async function readSnapshot(key) {
  if (!self.caches || !key) return null;
  const cache = await caches.open(SNAPSHOTS);
  const hit = await cache.match(snapshotRequest(key));
  return hit ? dense(new Uint8Array(await hit.arrayBuffer())) : null;
}

/** Keep `bytes` as this bundle's snapshot (sparse), dropping any other bundle's. */
export async function keepSnapshot(key, bytes) {
  if (!self.caches || !key) return;
  const kept = sparse(bytes);
  const cache = await caches.open(SNAPSHOTS);
  for (const old of await cache.keys()) {
    if (old.url !== snapshotRequest(key).url) await cache.delete(old);
  }
  await cache.put(snapshotRequest(key), new Response(kept, { headers: { "content-type": "application/octet-stream" } }));
}

async function dropSnapshot(key) {
  try { if (self.caches) await (await caches.open(SNAPSHOTS)).delete(snapshotRequest(key)); } catch (e) { /* gone anyway */ }
}

async function fetchChecked(url, integrity) {
  const response = await fetch(url, { integrity });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Put the engine where Python imports it from (again after a restore: the snapshot holds no files). */
function mountEngine(pyodide, engineZip) {
  if (!engineZip) return;
  pyodide.FS.writeFile(ENGINE_ZIP, engineZip);
  pyodide.runPython(`import sys\nif "${ENGINE_ZIP}" not in sys.path: sys.path.insert(0, "${ENGINE_ZIP}")`);
}

function options(assets, base) {
  const runtime = new URL(assets.runtime, base).href;
  const opts = { indexURL: runtime, env: ENV, lockFileContents: assets.lock, stdout: () => {}, stderr: () => {} };
  if (assets.wheels) {
    // Pyodide's own loader: fetches each wheel named in micropip's lock and checks its sha256.
    opts.packageBaseUrl = new URL(assets.wheels, base).href;
    opts.packages = Object.keys(assets.lock.packages);
  }
  return { runtime, opts };
}

async function warm(loadPyodide, opts, key, engine, notes, marks) {
  try {
    const snapshot = await readSnapshot(key);
    if (!snapshot) return null;
    marks.read = performance.now();
    const pyodide = await loadPyodide({ ...opts, _loadSnapshot: snapshot });
    marks.pyodide = performance.now();
    mountEngine(pyodide, await engine);
    pyodide.runPython("import tactful.core");
    marks.engine = performance.now();
    return pyodide;
  } catch (e) {
    notes.push("snapshot restore failed, started cold: " + String((e && e.message) || e).slice(0, 200));
    await dropSnapshot(key);
    return null;
  }
}

/**
 * Compile Pyodide's wasm module from now on, while its runtime script loads, instead of after it:
 * Pyodide's loader asks `WebAssembly.instantiateStreaming` for it once the script has run, and is
 * handed this module (instantiated with its imports). Any failure falls back to Pyodide's own way.
 * `marks.compiled`: when the module was handed over (25 ms sooner ready on a warm start, measured).
 */
function compileEarly(url, marks) {
  const compiled = WebAssembly.compileStreaming(fetch(url, { credentials: "same-origin" }));
  compiled.catch(() => {});
  const own = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async (source, imports) => {
    WebAssembly.instantiateStreaming = own;
    const response = await source;
    let module;
    try {
      if (response.url !== url) throw new Error("another module");
      module = await compiled;
    } catch (e) {
      return own(response, imports);
    }
    if (response.body) response.body.cancel().catch(() => {}); // the loader's copy of the same bytes
    marks.compiled = performance.now();
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
}

/**
 * Start Pyodide with tactful.core imported.
 * @returns {Promise<{pyodide: Object, start: string, notes: string[], snapshot: ?Uint8Array}>}
 *   `snapshot`: a fresh one to keep (cold starts only), `start`: "snapshot" or "cold"
 */
export async function startEngine(assets, base) {
  const marks = { begin: performance.now() }; // the start-up's phases, in the worker's own time
  const { runtime, opts } = options(assets, base);
  // The engine zip downloads while Pyodide starts.
  const engine = assets.engine ? fetchChecked(new URL(assets.engine.url, base).href, assets.engine.integrity) : null;
  if (engine) engine.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
  compileEarly(runtime + "pyodide.asm.wasm", marks);
  const { loadPyodide } = await import(runtime + "pyodide.mjs");
  marks.imported = performance.now();
  const notes = [];
  const restored = await warm(loadPyodide, opts, assets.snapshot, engine, notes, marks);
  if (restored) return { pyodide: restored, start: "snapshot", notes, snapshot: null, marks };
  const pyodide = await loadPyodide({ ...opts, _makeSnapshot: Boolean(self.caches && assets.snapshot) });
  marks.pyodide = performance.now();
  mountEngine(pyodide, await engine);
  pyodide.runPython("import tactful.core");
  marks.engine = performance.now();
  let snapshot = null;
  if (self.caches && assets.snapshot) {
    try { snapshot = pyodide.makeMemorySnapshot(); } catch (e) { notes.push("no snapshot: " + e); }
  }
  marks.snapshot = performance.now();
  return { pyodide, start: "cold", notes, snapshot, marks };
}
