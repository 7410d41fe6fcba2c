// Tactful worker: hosts the Python engine (tactful.core) in Pyodide, off the main thread.
//
// It never reads a clock for decisions: every batch carries the main thread's `now`.
// Python returns only strings (JSON, base64), so no PyProxy crosses into JavaScript
// except the long-lived host and its bound methods, created once.
// Message contract: see the header of tactful.js.

const MESSAGE_TIMEOUT_MS = 2500;
let host = null;       // the Python Host
let call = null;       // bound Python methods, created once
let cfg = null;
let queue = Promise.resolve();
let token = null;      // { token, expires } from POST /v1/token

function post(msg) { self.postMessage(msg); }

function b64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function bytesToB64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function wasmAllowed() {
  // A CSP without 'wasm-unsafe-eval' makes Pyodide hang after logging an error: ask first.
  try {
    await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    return true;
  } catch (e) {
    return false;
  }
}

async function start(msg) {
  cfg = msg;
  if (!(await wasmAllowed())) {
    post({ type: "disabled", reason: "WebAssembly is blocked (Content-Security-Policy needs 'wasm-unsafe-eval')" });
    return;
  }
  const runtime = new URL(msg.assets.runtime, msg.base).href;
  const { loadPyodide } = await import(runtime + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: runtime, stdout: () => {}, stderr: () => {} });
  for (const wheel of msg.assets.wheels) {
    const response = await fetch(new URL(wheel.url, msg.base).href, { integrity: wheel.integrity });
    if (!response.ok) throw new Error(`wheel ${wheel.url}: HTTP ${response.status}`);
    pyodide.unpackArchive(new Uint8Array(await response.arrayBuffer()), "wheel");
  }
  const playbook = await fetch(msg.playbookUrl, { credentials: "same-origin" });
  if (!playbook.ok) throw new Error(`playbook: HTTP ${playbook.status}`);
  const playbookText = await playbook.text();
  const module = pyodide.pyimport("tactful.core");
  const Host = module.Host;
  try {
    host = Host(playbookText, msg.visitor, msg.stored || "");
  } finally {
    Host.destroy();
    module.destroy();
  }
  call = {
    feed: host.feed, state: host.state_b64, outcome: host.outcome_b64,
    request: host.message_request_b64, readMessage: host.read_message_reply, readToken: host.read_token_reply,
    replyRequest: host.reply_request_b64, readReply: host.read_reply_reply, leadRequest: host.lead_request_b64,
  };
  const notes = host.notes_json;
  post({ type: "ready", arm: host.arm, notes: JSON.parse(notes()) });
  notes.destroy();
}

async function visitorToken() {
  // A short-lived signed token from the proxy; renewed a minute before it expires.
  if (!token || token.expires - 60 < Date.now() / 1000) {
    token = JSON.parse(call.readToken(await proxyPost("/v1/token", "")));
  }
  return token.token;
}

async function proxyPost(path, bodyB64) {
  if (!cfg.proxy) throw new Error("no proxy configured");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), MESSAGE_TIMEOUT_MS);
  try {
    const response = await fetch(cfg.proxy + path, {
      method: "POST",
      body: b64ToBytes(bodyB64),
      headers: { "content-type": "application/msgpack", accept: "application/msgpack" },
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return bytesToB64(new Uint8Array(await response.arrayBuffer()));
  } finally {
    clearTimeout(timer);
  }
}

async function words(decision) {
  // The words around the offer: the model's via the proxy, else the playbook's template.
  try {
    const body = call.request(decision.trigger, cfg.locale, await visitorToken());
    const reply = JSON.parse(call.readMessage(await proxyPost("/v1/message", body)));
    return { ...decision, message: reply.text, source: reply.source };
  } catch (e) {
    return { ...decision, source: "template" };
  }
}

function batch(msg) {
  const decisions = JSON.parse(call.feed(JSON.stringify(msg.events || []), msg.now));
  post({ type: "decisions", decisions, state: call.state(), outcome: call.outcome() });
  for (const decision of decisions) {
    if (decision.action === "intervene") {
      words(decision).then((d) => post({ type: "words", decision: d }));
    }
  }
}

async function reply(msg) {
  try {
    const body = call.replyRequest(msg.trigger, msg.text, JSON.stringify(msg.history || []), cfg.locale,
      await visitorToken());
    const answer = JSON.parse(call.readReply(await proxyPost("/v1/reply", body)));
    post({ type: "replied", trigger: msg.trigger, ...answer });
  } catch (e) {
    post({ type: "replied", trigger: msg.trigger, text: "", route: "unavailable", source: "none" });
  }
}

async function lead(msg) {
  try {
    const body = call.leadRequest(msg.trigger, msg.email, cfg.locale, await visitorToken());
    await proxyPost("/v1/lead", body);
    post({ type: "lead_done", trigger: msg.trigger, ok: true });
  } catch (e) {
    post({ type: "lead_done", trigger: msg.trigger, ok: false });
  }
}

async function handle(msg) {
  switch (msg && msg.type) {
    case "init":
      return start(msg);
    case "batch":
      if (call) batch(msg);
      return;
    case "reply":
      if (call) reply(msg); // answered whenever the proxy replies; batches keep flowing
      return;
    case "lead":
      if (call) lead(msg);
      return;
    default:
      console.warn("[tactful] worker: unknown message", msg && msg.type);
  }
}

self.onmessage = (event) => {
  // One message at a time, in order: the engine sees events exactly as the page sent them.
  queue = queue
    .then(() => handle(event.data))
    .catch((e) => post({ type: "disabled", reason: String((e && e.message) || e).slice(0, 300) }));
};
