// Times Host.feed inside a module worker, loaded as the real worker loads it (the bundle's runtime
// with its trimmed standard library, pure-Python msgpack, the engine zip). Host construction and
// every event are inside the timed span, exactly as on the CPython side.
self.onmessage = async (event) => {
  const { runtime, engine, lock, playbook, streams } = event.data;
  const { loadPyodide } = await import(runtime + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: runtime, env: { MSGPACK_PUREPYTHON: "1" }, lockFileContents: lock });
  pyodide.FS.writeFile("/lib/tactful-engine.zip", new Uint8Array(await (await fetch(engine)).arrayBuffer()));
  pyodide.runPython("import sys; sys.path.insert(0, '/lib/tactful-engine.zip')");
  const core = pyodide.pyimport("tactful.core");
  const costs = [];
  const start = performance.now();
  for (const [visitor, events] of streams) {
    const host = core.Host(playbook, visitor, "");
    const feed = host.feed;
    for (const e of events) {
      const t0 = performance.now();
      feed(JSON.stringify([e]), e.t);
      costs.push(performance.now() - t0);
    }
    feed.destroy();
    host.destroy();
  }
  const total = performance.now() - start;
  core.destroy();
  self.postMessage({ total, costs });
};
