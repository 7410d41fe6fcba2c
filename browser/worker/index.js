// Tactful worker: hosts the Python engine (tactful.core) in Pyodide, off the main thread.
//
// It never reads a clock for decisions: every batch carries the page's `now`. Python returns
// only strings (JSON, base64), so no PyProxy crosses into JavaScript except the long-lived
// host's bound methods, created once. Message types: the generated contract.
import { FROM_WORKER, TO_WORKER } from "../generated/contract.js";
import { keepSnapshot, startEngine } from "./engine.js";
import { createProxy } from "./proxy.js";

let call = null; // bound Python methods of the engine's Host, created once
let proxy = null;
let locale = "";
let queue = Promise.resolve();

function post(msg) {
  self.postMessage(msg);
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
  if (!(await wasmAllowed())) {
    post({ type: FROM_WORKER.DISABLED, reason: "WebAssembly is blocked (Content-Security-Policy needs 'wasm-unsafe-eval')" });
    return;
  }
  const [engine, playbook] = await Promise.all([
    startEngine(msg.assets, msg.base),
    fetch(msg.playbookUrl, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(`playbook: HTTP ${r.status}`);
      return r.text();
    }),
  ]);
  const core = engine.pyodide.pyimport("tactful.core");
  const Host = core.Host;
  let host;
  try {
    // A chosen arm reaches the engine from a test build only (compiled out of production).
    const arm = TACTFUL_TEST_BUILD && msg.test && msg.test.arm ? String(msg.test.arm) : "";
    host = Host(playbook, msg.visitor, msg.stored || "", JSON.stringify(msg.client || {}), arm);
  } finally {
    Host.destroy();
    core.destroy();
  }
  call = {
    feed: host.feed, state: host.state_b64, outcome: host.outcome_b64, converted: () => host.converted,
    request: host.message_request_b64, readMessage: host.read_message_reply, readToken: host.read_token_reply,
    replyRequest: host.reply_request_b64, readReply: host.read_reply_reply, leadRequest: host.lead_request_b64,
    tokenRequest: host.token_request_b64, whyNot: host.why_not_json, due: host.next_due,
  };
  proxy = createProxy(msg.proxy, call.readToken, call.tokenRequest);
  locale = msg.locale;
  const notes = host.notes_json;
  engine.marks.host = performance.now();
  const phases = Object.fromEntries(Object.entries(engine.marks).map(([k, v]) => [k, Math.round(v - engine.marks.begin)]));
  const history = host.history_json;
  post({ type: FROM_WORKER.READY, arm: host.arm, bot: host.bot, start: engine.start, phases,
    notes: [...engine.notes, ...JSON.parse(notes())], history: JSON.parse(history(msg.now)) });
  notes.destroy();
  history.destroy();
  if (engine.snapshot) {
    // Keep it once the page has had its first answers: idle time, for the next page's warm start.
    setTimeout(() => keepSnapshot(msg.assets.snapshot, engine.snapshot).catch(() => {}), 1000);
  }
}

let vouching = null;
let vouchAfter = 0; // after a failed attempt, the next waits a minute (no request per batch while the proxy is away)
function vouch() {
  // A beacon without a token bound to this visitor is refused: fetch one, then send the beacon again.
  if (vouching || performance.now() < vouchAfter) return;
  vouching = proxy.token()
    .then(() => { const outcome = call.outcome(proxy.known()); if (outcome) post({ type: FROM_WORKER.OUTCOME, outcome }); })
    .catch(() => { vouchAfter = performance.now() + 60000; })
    .finally(() => { vouching = null; });
}

async function words(card) {
  // The words around the offer: the model's via the proxy, else the playbook's template.
  try {
    const reply = JSON.parse(call.readMessage(await proxy.send("/v1/message", call.request(card.trigger, locale, ""))));
    return { ...card, message: reply.text, source: reply.source };
  } catch (e) {
    return { ...card, source: "template" };
  }
}

function batch(msg) {
  // `stored` is the record as another tab may have left it: the engine merges it before deciding.
  const events = msg.events || [];
  const cards = JSON.parse(call.feed(JSON.stringify(events), msg.now, msg.stored || ""));
  // A heartbeat that changed nothing but the clock leaves the stored record as it is (and the
  // page's main thread without a storage write); a merge from another tab or any event stores it.
  const changed = events.length > 0 || cards.length > 0 || Boolean(msg.stored);
  const outcome = changed ? call.outcome(proxy.known()) : null;
  post({ type: FROM_WORKER.DECISIONS, seq: msg.seq, decisions: cards, state: changed ? call.state() : null,
    outcome, converted: call.converted(), due: call.due() ?? null });
  if (outcome && !proxy.known() && proxy.configured) vouch();
  for (const card of cards) {
    if (card.action === "intervene") words(card).then((decision) => post({ type: FROM_WORKER.WORDS, decision }));
  }
}

async function reply(msg) {
  try {
    const body = call.replyRequest(msg.trigger, msg.text, JSON.stringify(msg.history || []), locale, "");
    const answer = JSON.parse(call.readReply(await proxy.send("/v1/reply", body)));
    post({ type: FROM_WORKER.REPLIED, trigger: msg.trigger, ...answer });
  } catch (e) {
    post({ type: FROM_WORKER.REPLIED, trigger: msg.trigger, text: "", route: "unavailable", source: "none" });
  }
}

async function lead(msg) {
  try {
    await proxy.sendKept("/v1/lead", call.leadRequest(msg.trigger, msg.email, locale, "", msg.consent === true));
    post({ type: FROM_WORKER.LEAD_DONE, trigger: msg.trigger, ok: true });
  } catch (e) {
    post({ type: FROM_WORKER.LEAD_DONE, trigger: msg.trigger, ok: false });
  }
}

async function handle(msg) {
  switch (msg && msg.type) {
    case TO_WORKER.INIT: return start(msg);
    case TO_WORKER.BATCH: if (call) batch(msg); return undefined;
    case TO_WORKER.REPLY: if (call) reply(msg); return undefined; // answered whenever the proxy replies
    case TO_WORKER.LEAD: if (call) lead(msg); return undefined;
    case TO_WORKER.WHY: post({ type: FROM_WORKER.WHY, report: call ? call.whyNot(msg.now) : "null" }); return undefined;
    default: console.warn("[tactful] worker: unknown message", msg && msg.type); return undefined;
  }
}

self.onmessage = (event) => {
  // One message at a time, in order: the engine sees events exactly as the page sent them.
  queue = queue
    .then(() => handle(event.data))
    .catch((e) => post({ type: FROM_WORKER.DISABLED, reason: String((e && e.message) || e).slice(0, 300) }));
};
