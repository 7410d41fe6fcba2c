/*! Tactful loader — main thread, small, passive, silent on failure.
 *
 *   <script src="/tactful/tactful.js" data-proxy="/tactful-api" async></script>
 *
 * Queues site calls until the engine is up, watches behaviour, stamps every event with the
 * page's clock and sends one batch per tick to the worker, which runs the Python engine in
 * Pyodide. It never blocks the page and never throws into it: any failure leaves the page
 * as it was and settles `tactful.ready` with { enabled: false, reason }.
 */
import { createApi, safe, warn } from "./api.js";
import { createBridge } from "./bridge.js";
import { createBatcher, now, nowMs } from "./clock.js";
import { readConfig } from "./config.js";
import {
  RECORD, eraseAll, loadRecord, openStores, readJournal, saveRecord, sendOutcome, visitorId, withRecordLock,
  writeJournal,
} from "./persistence.js";
import { clientFacts, pageInfo, watch } from "./sensors.js";
import { createWidgetBridge } from "./widget_bridge.js";

// `tactful build` replaces this string with the bundle's asset map (JSON).
const ASSETS_JSON = "__TACTFUL_ASSETS__";
const MAX_EXPLAINED = 50;
// Time reaches the engine with events, and otherwise only when the engine says a trigger's time
// threshold is due (`due` in each answer); the heartbeat is a slow safety net, not a tick.
const HEARTBEAT_MS = 15000;
const DUE_SLACK_MS = 5; // wake just after the instant, never just before it
const LOCK_LIMIT_MS = 5000; // a worker that does not answer a batch in time gives the record lock back

function builtAssets() {
  try { return JSON.parse(ASSETS_JSON); } catch (e) { return null; }
}

/** The loader's parts, wired together; `state` is null while booting, then true or false. */
function assemble(config, prior) {
  const ctx = { config, mode: config.consent, stores: openStores(config.consent), built: builtAssets(), state: null,
    outcome: null, recent: [] };
  ctx.written = null; // the record as this tab last stored or merged it
  ctx.batcher = createBatcher((events, at) => {
    if (ctx.state !== true || !ctx.bridge.running()) return false;
    // Read-merge-write under the record lock: the worker merges what other tabs stored first.
    return withRecordLock(async () => {
      const stored = loadRecord(ctx.stores.local);
      await ctx.bridge.batch(events, at, stored !== ctx.written ? stored : null);
      return true;
    }, LOCK_LIMIT_MS);
  });
  ctx.push = (event) => { if (ctx.state !== false) ctx.batcher.push(event); };
  Object.assign(ctx, createApi(prior, ctx.push, () => ctx.recent, config, () => {
    if (ctx.state === false) return Promise.resolve(false);
    return ctx.batcher.settled();
  }));
  ctx.api.consent = safe((choice) => consent(ctx, choice));
  ctx.api.visitorId = () => ctx.visitor || null; // null until the engine starts (after consent, when required)
  // "Why didn't it show?": every trigger of the playbook, judged now (null while the engine is off).
  ctx.api.whyNot = () => (ctx.state === true ? ctx.bridge.why(now()).then((text) => JSON.parse(text)) : Promise.resolve(null));
  // The site owner's debug overlay (in the widget module, loaded only when asked for).
  ctx.api.debug = safe(() => ctx.widget.debug(ctx.api.whyNot, () => {
    ctx.disable("reset");
    eraseAll(); // this browser's Tactful data only; the next page starts as a new visitor
    location.reload();
  }));
  ctx.disable = (reason) => disable(ctx, reason);
  ctx.widget = createWidgetBridge(ctx.built ? new URL(ctx.built.widget, config.base).href : "", {
    feedback: (type, trigger) => ctx.push({ type, trigger }),
    reply: (trigger, text, history) => ctx.bridge.reply(trigger, text, history),
    lead: (trigger, email, consent) => ctx.bridge.lead(trigger, email, consent),
    cartUrl: config.cartUrl,
  });
  ctx.bridge = createBridge(ctx.built || {}, config.base, workerHandlers(ctx), ctx.disable);
  return ctx;
}

function workerHandlers(ctx) {
  return {
    ready(msg) {
      ctx.state = true;
      ctx.recent = (msg.history || []).concat(ctx.recent); // the visit's earlier pages, for explain()
      ctx.settle({ enabled: true, arm: msg.arm, bot: !!msg.bot, start: msg.start, notes: msg.notes || [],
        ms: Math.round(performance.now()), booted: ctx.booted, phases: msg.phases || {} });
      ctx.batcher.flush();
    },
    decisions(msg) {
      for (const decision of msg.decisions || []) {
        ctx.recent.push(decision);
        if (ctx.recent.length > MAX_EXPLAINED) ctx.recent.shift();
      }
      if (msg.state) {
        saveRecord(ctx.stores.local, msg.state);
        ctx.written = msg.state;
      }
      ctx.batcher.answered();
      journal(ctx);
      if (msg.outcome) ctx.outcome = msg.outcome;
      if (msg.converted) ctx.widget.close(); // bought in this or another tab: nothing stays open
      wakeAt(ctx, msg.due);
    },
    outcome: (outcome) => { if (outcome) ctx.outcome = outcome; },
    words: (card) => ctx.widget.show(card),
    answer: (msg) => ctx.widget.receive(msg),
  };
}

/**
 * Send time (an empty batch) at the page-clock instant `due`, when the engine has one to decide at.
 * (Never far: the engine names no instant past the visit's end, 30 minutes after its last event.)
 */
function wakeAt(ctx, due) {
  clearTimeout(ctx.wake);
  if (due > 0) ctx.wake = setTimeout(safe(ctx.batcher.flush), (due - now()) * 1000 + DUE_SLACK_MS);
}

function disable(ctx, reason) {
  if (ctx.state === false) return;
  ctx.state = false;
  ctx.batcher.clear();
  ctx.bridge.stop();
  ctx.settle({ enabled: false, reason });
  // An old browser or a visitor's "no" is not worth a warning.
  if (reason !== "unsupported" && reason !== "consent refused") warn("disabled: " + reason);
}

/**
 * tactful.consent(): the visitor's choice, from the site's consent manager. `true` (or "granted")
 * stores and sends what the inventory lists; "session" keeps to this tab's session; `false`
 * erases what Tactful stored and stops it. Without an argument: the current mode.
 */
function consent(ctx, choice) {
  if (choice === undefined) return ctx.mode;
  if (choice === false) {
    ctx.mode = "refused";
    ctx.disable("consent refused"); // the worker stops first: nothing it does can write after the erasure
    eraseAll();
    return ctx.mode;
  }
  if (ctx.mode !== "required") return ctx.mode; // already decided on this page
  ctx.mode = choice === "session" ? "session" : "granted";
  ctx.stores = openStores(ctx.mode);
  ctx.client.storage = ctx.clientEvent.storage = ctx.mode === "session" ? "session" : "persistent";
  if (ctx.started) ctx.startEngine();
  return ctx.mode;
}

function boot(ctx) {
  const { built, config } = ctx;
  ctx.booted = Math.round(performance.now()); // when the worker was asked to start (after load and idle)
  if (!built) return ctx.disable("the loader was not built (run tactful build)");
  if (typeof Worker !== "function" || typeof WebAssembly !== "object" || !window.crypto || !window.URL) {
    return ctx.disable("unsupported");
  }
  setTimeout(() => { if (ctx.state === null) ctx.disable("start-up timed out"); }, config.timeout);
  // The id the shop's checkout hands its server for POST /v1/conversion: tactful.visitorId(), or a
  // hidden <input data-tactful-visitor> in the checkout form, filled here.
  ctx.visitor = visitorId(ctx.stores.local);
  for (const input of document.querySelectorAll("input[data-tactful-visitor]")) input.value = ctx.visitor;
  return ctx.bridge.start({
    assets: built,
    base: config.base,
    playbookUrl: new URL(config.playbook || built.playbook, config.playbook ? location.href : config.base).href,
    proxy: config.proxy ? new URL(config.proxy, location.href).href.replace(/\/$/, "") : "",
    visitor: ctx.visitor,
    stored: loadRecord(ctx.stores.local),
    locale: config.locale,
    client: ctx.client,
    test: TACTFUL_TEST_BUILD && ctx.test ? { arm: ctx.test.arm } : undefined,
    now: now(),
  });
}

/** Keep unanswered events for the next page; touch sessionStorage only when there is news. */
function journal(ctx) {
  const unsaved = ctx.batcher.unsaved();
  if (!unsaved.length && !ctx.journaled) return;
  writeJournal(ctx.stores.session, unsaved);
  ctx.journaled = unsaved.length > 0;
}

function onHide(ctx) {
  ctx.batcher.flush();
  journal(ctx);
  sendOutcome(ctx.config.proxy, ctx.outcome);
}

/**
 * A test build only (`tactful build --test`; TACTFUL_TEST_BUILD is a compile-time constant, so a
 * production build has none of this): `window.__tactfulTest = { arm, automation }` chooses the
 * visitor's arm and lets an automated browser be a visitor. It says so, loudly, every page.
 */
function testHooks() {
  if (!TACTFUL_TEST_BUILD) return null;
  console.warn("[tactful] TEST BUILD: arms and automated browsers can be forced here. Never deploy this bundle.");
  const hooks = window.__tactfulTest;
  return hooks && typeof hooks === "object" ? { arm: hooks.arm, automation: hooks.automation === true } : {};
}

function main(script) {
  const prior = window.tactful;
  if (prior && prior.__tactful) return; // loaded twice: keep the first
  const ctx = assemble(readConfig(script), prior);
  ctx.test = testHooks();
  window.tactful = ctx.api;
  ctx.replayQueue();
  document.addEventListener("tactful:cart", safe((e) => ctx.api.cart(e.detail)));
  document.addEventListener("tactful:convert", safe((e) => ctx.api.converted(e.detail)));
  // Another tab stored the record: merge it now, not at the next heartbeat.
  window.addEventListener("storage", safe((e) => { if (e.key === RECORD) ctx.batcher.flush(); }));
  // Anything that throws while starting disables Tactful and settles `ready`: never a pending promise.
  const failed = (e) => ctx.disable("start failed: " + e);
  const start = safe(() => {
    const saved = readJournal(ctx.stores.session);
    ctx.journaled = saved.length > 0;
    ctx.batcher.prepend(saved);
    ctx.client = { ...clientFacts(ctx.test && ctx.test.automation), storage: ctx.mode === "session" ? "session" : "persistent" };
    if (TACTFUL_TEST_BUILD) ctx.client.test = true; // a test build's beacons are never counted as traffic
    ctx.clientEvent = { ...ctx.client };
    ctx.push(ctx.clientEvent);
    ctx.push(pageInfo());
    watch(ctx.push, () => onHide(ctx), nowMs());
    setInterval(safe(ctx.batcher.flush), HEARTBEAT_MS); // the safety net: time passes even when nothing is due
    const idle = window.requestIdleCallback || ((cb) => setTimeout(cb, 1));
    ctx.startEngine = () => idle(safe(() => boot(ctx), failed), { timeout: 2000 });
    if (/[?&]tactful_debug=1/.test(location.search)) ctx.api.debug();
    ctx.started = true;
    // Without consent yet, events wait in memory: nothing is stored, sent or started.
    if (ctx.mode !== "required") ctx.startEngine();
  }, failed);
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start, { once: true });
}

safe(main)(document.currentScript);
