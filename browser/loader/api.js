// The public API, window.tactful: stub-and-queue (calls made before the loader ran are
// replayed), a `ready` promise that always settles, and silence at the host-page boundary.

let warned = false;

/** Warn once in the console, never more: the host page's console is not ours. */
export function warn(message) {
  if (!warned && window.console) {
    warned = true;
    console.warn("[tactful] " + message);
  }
}

/** Wrap an entry point so nothing ever throws into the host page. */
export function safe(fn, onError) {
  return function (...args) {
    try {
      return fn.apply(this, args);
    } catch (e) {
      if (onError) onError(e);
      else warn("disabled after an internal error: " + e);
      return undefined;
    }
  };
}

const num = (v) => (typeof v === "number" && isFinite(v) ? v : undefined);

/**
 * Build window.tactful. `push` receives the events the site reports; `explain` lists decisions;
 * `settled` resolves once the worker has decided everything up to the call.
 * @returns {{api: Function, settle: (state: Object) => void, replayQueue: () => void}}
 */
export function createApi(prior, push, explain, config, settled) {
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });
  const api = safe(function (method, ...args) {
    const fn = api[method];
    if (typeof fn === "function" && method !== "ready") fn.apply(api, args);
  });
  api.__tactful = true;
  api.ready = ready;
  api.track = safe((name) => {
    if (typeof name === "string" && name) push({ type: "track", name: name.slice(0, 64) });
  });
  api.cart = safe((cart) => {
    cart = cart || {};
    const event = { type: "cart", items: Math.max(0, Math.floor(num(cart.items) || 0)) };
    if (num(cart.value) !== undefined) event.value = Math.max(0, cart.value);
    if (typeof cart.currency === "string") event.currency = cart.currency.slice(0, 8);
    push(event);
  });
  api.converted = safe((info) => {
    const event = { type: "convert" };
    if (info && num(info.value) !== undefined) event.value = Math.max(0, info.value);
    push(event);
  });
  api.explain = () => explain().map((d) => JSON.parse(JSON.stringify(d)));
  api.settled = () => (settled ? settled() : Promise.resolve(false));
  api.config = { base: config.base, proxy: config.proxy };
  const queued = prior && prior.q ? Array.prototype.slice.call(prior.q) : [];
  return {
    api,
    settle(state) {
      if (resolveReady) { resolveReady(state); resolveReady = null; }
    },
    replayQueue() {
      for (const args of queued) api(...args);
    },
  };
}
