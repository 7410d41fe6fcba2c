// The worker bridge: starts the module worker that hosts the engine and routes its messages.
// Every message type comes from the generated contract (tactful/core/_bridge.py).
import { FROM_WORKER, TO_WORKER } from "../generated/contract.js";
import { safe, warn } from "./api.js";

function spawn(assets, base) {
  const url = new URL(assets.worker, base);
  if (url.origin === location.origin) return new Worker(url.href, { type: "module" });
  // Cross-origin bundle: a same-origin blob worker that imports ours (needs CORS on the bundle).
  const blob = new Blob(["import " + JSON.stringify(url.href) + ";"], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(blob), { type: "module" });
}

/**
 * @param {Object} assets the bundle's asset map (injected by tactful build)
 * @param {Object} handlers one function per FROM_WORKER type: ready, disabled, decisions, words, replied, leadDone
 * @param {(reason: string) => void} disable
 */
export function createBridge(assets, base, handlers, disable) {
  let worker = null;
  let batchSeq = 0;
  const waiting = new Map(); // batch seq -> resolve, until its decisions arrive
  const explaining = []; // resolvers of "why" requests, answered in order

  function route(msg) {
    switch (msg.type) {
      case FROM_WORKER.READY: return handlers.ready(msg);
      case FROM_WORKER.DISABLED: return disable(msg.reason || "engine failed");
      case FROM_WORKER.DECISIONS: {
        handlers.decisions(msg);
        const resolve = waiting.get(msg.seq);
        waiting.delete(msg.seq);
        return resolve && resolve(msg);
      }
      case FROM_WORKER.OUTCOME: return handlers.outcome(msg.outcome);
      case FROM_WORKER.WORDS: return handlers.words(msg.decision);
      case FROM_WORKER.REPLIED: return handlers.answer(msg);
      case FROM_WORKER.LEAD_DONE: return handlers.answer(msg);
      case FROM_WORKER.WHY: { const resolve = explaining.shift(); return resolve && resolve(msg.report); }
      default: return warn("unknown message from the worker: " + msg.type);
    }
  }

  return {
    /** Start the worker with the init message; false (after disabling) when it cannot start. */
    start(init) {
      try {
        worker = spawn(assets, base);
      } catch (e) {
        disable("worker blocked: " + ((e && e.message) || e));
        return false;
      }
      worker.onmessage = safe((e) => route(e.data || {}));
      worker.onerror = safe((e) => { if (e && e.preventDefault) e.preventDefault(); disable("worker error"); });
      worker.postMessage({ type: TO_WORKER.INIT, ...init });
      return true;
    },
    /** Post a batch; resolves with its decisions message once the worker has answered. */
    batch(events, now, stored) {
      const seq = batchSeq++;
      const answered = new Promise((resolve) => waiting.set(seq, resolve));
      worker.postMessage({ type: TO_WORKER.BATCH, seq, events, now, stored });
      return answered;
    },
    reply(trigger, text, history) { if (worker) worker.postMessage({ type: TO_WORKER.REPLY, trigger, text, history }); },
    lead(trigger, email, consent) { if (worker) worker.postMessage({ type: TO_WORKER.LEAD, trigger, email, consent }); },
    /** The engine's explanation of every trigger at `now` (JSON text), or null when it is not running. */
    why(now) {
      if (!worker) return Promise.resolve(null);
      const answered = new Promise((resolve) => explaining.push(resolve));
      worker.postMessage({ type: TO_WORKER.WHY, now });
      return answered;
    },
    running() { return worker !== null; },
    stop() {
      if (worker) { try { worker.terminate(); } catch (e) { /* already gone */ } worker = null; }
    },
  };
}
