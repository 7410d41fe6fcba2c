// Times Host.feed per event inside a module worker, on the bundle's own runtime and wheels.
self.onmessage = async (event) => {
  const { runtime, wheels, playbook, streams } = event.data;
  const { loadPyodide } = await import(runtime + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: runtime });
  for (const url of wheels) {
    pyodide.unpackArchive(new Uint8Array(await (await fetch(url)).arrayBuffer()), "wheel");
  }
  const module = pyodide.pyimport("tactful.core");
  const costs = [];
  let interventions = 0;
  const start = performance.now();
  for (const [visitor, events] of streams) {
    const host = module.Host(playbook, visitor, "");
    const feed = host.feed;
    for (const e of events) {
      const t0 = performance.now();
      const out = feed(JSON.stringify([e]), e.t);
      costs.push(performance.now() - t0);
      if (out.includes('"intervene"')) interventions++;
    }
    feed.destroy();
    host.destroy();
  }
  const total = performance.now() - start;
  module.destroy();
  self.postMessage({ total, costs, interventions });
};
