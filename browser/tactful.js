/*! Tactful loader — main thread, small, passive, silent on failure.
 *
 *   <script src="/tactful/tactful.js" data-playbook="/tactful/playbook.json"
 *           data-proxy="/tactful-api" async></script>
 *
 * It queues site calls until the engine is up, watches behaviour (page, scroll,
 * hovers on [data-tactful-hover], activity, visibility, exit intent), stamps every
 * event with the main thread's clock and sends one batch per tick to the worker,
 * which runs the Python engine in Pyodide. It never blocks the page and never
 * throws into it: any failure leaves the page as it was and settles
 * `tactful.ready` with { enabled: false, reason }.
 *
 * Page <-> worker messages (the one contract both sides follow):
 *   to worker:   init {assets, base, playbookUrl, proxy, visitor, stored, locale}
 *                batch {events, now} · reply {trigger, text, history} · lead {trigger, email}
 *   from worker: ready {arm, notes} · disabled {reason} · decisions {decisions, state, outcome}
 *                words {decision} · replied {trigger, text, route, link, source} · lead_done {trigger, ok}
 */
(function () {
  "use strict";
  var ASSETS = /*__TACTFUL_ASSETS__*/null;
  var w = window, d = document;
  var script = d.currentScript;
  var prior = w.tactful;
  if (prior && prior.__tactful) return; // loaded twice: keep the first

  var warned = false;
  function warn(msg) {
    if (!warned && w.console) { warned = true; console.warn("[tactful] " + msg); }
  }
  function safe(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { warn("disabled after an internal error: " + e); }
    };
  }

  var attr = function (name, fallback) {
    var v = script && script.getAttribute("data-" + name);
    return v == null || v === "" ? fallback : v;
  };
  var base = script && script.src ? new URL(".", script.src).href : new URL("/tactful/", location.href).href;
  var config = {
    proxy: attr("proxy", ""),
    playbook: attr("playbook", ""),
    locale: attr("locale", d.documentElement.lang || navigator.language || ""),
    timeout: +attr("timeout", 30000) || 30000,
    cartUrl: attr("cart-url", "/cart"),
  };
  var KEY = "tactful:v1:";
  var store = (function () {
    try { var s = w.localStorage; s.setItem(KEY + "probe", "1"); s.removeItem(KEY + "probe"); return s; }
    catch (e) { return null; }
  })();

  // ---- state shared by the API, sensors and worker ------------------------
  var pending = [];          // events waiting for the next tick
  var inflight = [];         // batches the worker has not answered yet (lost if the page goes now)
  var flushTimer = 0;
  var worker = null;
  var started = false;
  var enabled = null;        // null: booting; true; false
  var recent = [];           // last decisions, for tactful.explain()
  var outcome = null;        // latest outcome beacon body (Uint8Array)
  var widget = null;         // the widget module, once loaded
  var resolveReady;
  var ready = new Promise(function (r) { resolveReady = r; });
  var startedAt = Date.now();
  function now() { return Date.now() / 1000; }

  function settle(state) {
    if (resolveReady) { resolveReady(state); resolveReady = null; }
  }
  function disable(reason) {
    if (enabled === false) return;
    enabled = false;
    pending = [];
    if (worker) { try { worker.terminate(); } catch (e) { /* already gone */ } worker = null; }
    settle({ enabled: false, reason: reason });
    if (reason !== "unsupported") warn("disabled: " + reason); // an old browser is not worth a warning
  }

  function push(event) {
    if (enabled === false) return;
    event.t = now();
    pending.push(event);
    if (pending.length > 400) pending.splice(0, pending.length - 400);
    if (!flushTimer) flushTimer = setTimeout(flush, 0);
  }
  function flush() {
    flushTimer = 0;
    if (!worker || enabled !== true) return;
    var events = pending;
    pending = [];
    inflight.push(events);
    worker.postMessage({ type: "batch", events: events, now: now() });
  }
  // The journal: events not yet reflected in the stored record. A navigation can end the
  // worker mid-batch; the next page replays them first (the engine skips any it already saw).
  var session = (function () {
    try { return w.sessionStorage; } catch (e) { return null; }
  })();
  function journal() {
    if (!session) return;
    var unsaved = [].concat.apply([], inflight).concat(pending);
    try {
      if (unsaved.length) session.setItem(KEY + "journal", JSON.stringify(unsaved.slice(-200)));
      else session.removeItem(KEY + "journal");
    } catch (e) { /* storage full or blocked: best effort */ }
  }
  function replayJournal() {
    var saved = null;
    try { saved = session && JSON.parse(session.getItem(KEY + "journal") || "null"); } catch (e) { saved = null; }
    if (Array.isArray(saved) && saved.length) pending = saved.concat(pending);
  }

  // ---- the public API (stub-and-queue) -------------------------------------
  function num(v) { return typeof v === "number" && isFinite(v) ? v : undefined; }
  var api = safe(function (method) {
    var fn = api[method];
    if (typeof fn === "function" && method !== "ready") fn.apply(api, Array.prototype.slice.call(arguments, 1));
  });
  api.__tactful = true;
  api.ready = ready;
  api.track = safe(function (name, data) {
    if (typeof name === "string" && name) push({ type: "track", name: name.slice(0, 64) });
  });
  api.cart = safe(function (cart) {
    cart = cart || {};
    var e = { type: "cart", items: Math.max(0, Math.floor(num(cart.items) || 0)) };
    if (num(cart.value) !== undefined) e.value = Math.max(0, cart.value);
    if (typeof cart.currency === "string") e.currency = cart.currency.slice(0, 8);
    push(e);
  });
  api.converted = safe(function (info) {
    var e = { type: "convert" };
    if (info && num(info.value) !== undefined) e.value = Math.max(0, info.value);
    push(e);
  });
  api.explain = function () {
    return recent.map(function (x) { return JSON.parse(JSON.stringify(x)); });
  };
  api.config = { base: base, proxy: config.proxy };
  var queued = prior && prior.q ? Array.prototype.slice.call(prior.q) : [];
  w.tactful = api;
  for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);

  d.addEventListener("tactful:cart", safe(function (e) { api.cart(e.detail); }));
  d.addEventListener("tactful:convert", safe(function (e) { api.converted(e.detail); }));

  // ---- sensors ---------------------------------------------------------------
  function pageInfo() {
    var el = d.querySelector("[data-tactful-page]");
    var info = { type: "page_view", url: location.pathname + location.search };
    var kind = el && el.getAttribute("data-tactful-page");
    if (kind) info.kind = kind;
    var product = d.querySelector("[data-tactful-product]");
    if (product) info.product = product.getAttribute("data-tactful-product").slice(0, 120);
    var category = d.querySelector("[data-tactful-category]");
    if (category) info.category = category.getAttribute("data-tactful-category").slice(0, 120);
    return info;
  }
  function clientFacts() {
    var n = navigator, ua = n.userAgent || "";
    var headless = /Chrome\//.test(ua) && !w.chrome || (w.outerWidth === 0 && w.outerHeight === 0);
    return {
      type: "client", user_agent: ua.slice(0, 500), webdriver: n.webdriver === true,
      languages: Array.prototype.slice.call(n.languages || []).slice(0, 8),
      plugins: n.plugins ? n.plugins.length : 0, touch: (n.maxTouchPoints || 0) > 0,
      width: w.innerWidth | 0, height: w.innerHeight | 0, headless: !!headless,
    };
  }

  var lastActivity = 0, lastExit = 0, lastScrollEmit = 0, maxDepth = 0, hoverEl = null;
  var pointerY = null, pointerT = 0, speedY = 0, lastScrollY = w.scrollY, lastScrollT = Date.now();
  var MIN_EXIT_DWELL = 3000;

  function activity() {
    var t = Date.now();
    if (t - lastActivity >= 1000) { lastActivity = t; push({ type: "activity" }); }
  }
  function exitIntent(source) {
    var t = Date.now();
    if (t - startedAt < MIN_EXIT_DWELL || t - lastExit < 5000) return;
    lastExit = t;
    push({ type: "exit_intent", source: source });
  }
  function onScroll() {
    var t = Date.now(), y = w.scrollY, doc = d.documentElement;
    var height = Math.max(doc.scrollHeight, d.body ? d.body.scrollHeight : 0);
    var depth = height > 0 ? Math.min(1, (y + w.innerHeight) / height) : 1;
    depth = Math.round(depth * 100) / 100;
    // Mobile exit intent: a fast flick back up after having read down the page.
    var dt = t - lastScrollT;
    if (dt > 0 && dt < 400 && lastScrollY - y > 250 && maxDepth > 0.3) exitIntent("scroll_up");
    lastScrollY = y; lastScrollT = t;
    if (depth > maxDepth + 0.02 || t - lastScrollEmit > 1000) {
      maxDepth = Math.max(maxDepth, depth);
      lastScrollEmit = t;
      push({ type: "scroll", depth: depth });
    }
  }
  function onPointerMove(e) {
    var t = Date.now();
    if (pointerY !== null && t > pointerT) speedY = (pointerY - e.clientY) / (t - pointerT); // px/ms, upward > 0
    pointerY = e.clientY; pointerT = t;
    activity();
  }
  function onMouseOut(e) {
    // Desktop exit intent: the pointer leaves the window through the top, moving up.
    if (!e.relatedTarget && e.clientY <= 5 && speedY > 0.2) exitIntent("pointer_top");
    var el = e.target && e.target.closest && e.target.closest("[data-tactful-hover]");
    if (el && el === hoverEl && !(e.relatedTarget && el.contains(e.relatedTarget))) hoverEl = null;
  }
  function onHover(e) {
    var el = e.target && e.target.closest && e.target.closest("[data-tactful-hover]");
    if (!el || el === hoverEl) return;
    hoverEl = el;
    var target = (el.getAttribute("data-tactful-hover") || "").slice(0, 128);
    if (target) push({ type: "hover", target: target });
  }

  function listen() {
    var opts = { passive: true, capture: true };
    w.addEventListener("scroll", safe(onScroll), opts);
    d.addEventListener("pointermove", safe(onPointerMove), opts);
    d.addEventListener("mouseout", safe(onMouseOut), opts);
    d.addEventListener("mouseover", safe(onHover), opts);
    d.addEventListener("focusin", safe(onHover), opts);
    ["keydown", "touchstart", "wheel", "pointerdown"].forEach(function (type) {
      d.addEventListener(type, safe(activity), opts);
    });
    d.addEventListener("visibilitychange", safe(function () {
      push({ type: "visibility", state: d.visibilityState === "hidden" ? "hidden" : "visible" });
      if (d.visibilityState === "hidden") { flush(); journal(); sendOutcome(); }
    }));
    w.addEventListener("pagehide", safe(function () { flush(); journal(); sendOutcome(); }));
    setInterval(safe(flush), 1000); // the heartbeat: time passes even when nothing happens
  }

  // ---- persistence (this browser only) --------------------------------------
  function visitorId() {
    var id = store && store.getItem(KEY + "id");
    if (!id || !/^[a-f0-9]{32}$/.test(id)) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
      if (store) store.setItem(KEY + "id", id);
    }
    return id;
  }
  function save(state) {
    if (store && typeof state === "string") {
      try { store.setItem(KEY + "state", state); } catch (e) { /* quota: keep going in memory */ }
    }
  }
  function b64ToBytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function sendOutcome() {
    if (!outcome || !config.proxy) return;
    var url = new URL(config.proxy.replace(/\/$/, "") + "/v1/outcome", location.href).href;
    var body = b64ToBytes(outcome);
    try {
      fetch(url, { method: "POST", body: body, keepalive: true, headers: { "content-type": "application/msgpack" } })
        .catch(function () { /* measurement is best effort */ });
    } catch (e) { /* keepalive quota exceeded */ }
  }

  // ---- the worker -------------------------------------------------------------
  function remember(decision) {
    recent.push(decision);
    if (recent.length > 50) recent.shift();
  }
  function showWidget(decision) {
    var load = widget ? Promise.resolve(widget) : import(new URL(ASSETS.widget, base).href);
    load.then(function (mod) {
      widget = mod;
      mod.show(decision, {
        feedback: function (type, trigger) { push({ type: type, trigger: trigger }); },
        reply: function (trigger, text, history) {
          if (worker) worker.postMessage({ type: "reply", trigger: trigger, text: text, history: history });
        },
        lead: function (trigger, email) {
          if (worker) worker.postMessage({ type: "lead", trigger: trigger, email: email });
        },
        cartUrl: config.cartUrl,
      });
    }).catch(function (e) { warn("widget failed to load: " + e); });
  }
  var onWorkerMessage = safe(function (e) {
    var msg = e.data || {};
    switch (msg.type) {
      case "ready":
        enabled = true;
        settle({ enabled: true, arm: msg.arm, notes: msg.notes || [], ms: Math.round(performance.now()) });
        flush();
        break;
      case "disabled":
        disable(msg.reason || "engine failed");
        break;
      case "decisions":
        (msg.decisions || []).forEach(remember);
        save(msg.state);
        inflight.shift();
        journal();
        if (msg.outcome) outcome = msg.outcome;
        break;
      case "words":
        showWidget(msg.decision);
        break;
      case "replied":
      case "lead_done":
        if (widget && widget.receive) widget.receive(msg);
        break;
      default:
        warn("unknown message from the worker: " + msg.type);
    }
  });

  function boot() {
    if (started) return;
    started = true;
    if (!ASSETS) return disable("the loader was not built (run tactful build)");
    if (typeof Worker !== "function" || typeof WebAssembly !== "object" || !w.crypto || !w.URL) {
      return disable("unsupported");
    }
    var workerUrl = new URL(ASSETS.worker, base);
    try {
      if (workerUrl.origin === location.origin) {
        worker = new Worker(workerUrl.href, { type: "module" });
      } else {
        // Cross-origin bundle: a same-origin blob worker that imports ours (needs CORS on the bundle).
        var blob = new Blob(["import " + JSON.stringify(workerUrl.href) + ";"], { type: "text/javascript" });
        worker = new Worker(URL.createObjectURL(blob), { type: "module" });
      }
    } catch (e) {
      return disable("worker blocked: " + (e && e.message || e));
    }
    worker.onmessage = onWorkerMessage;
    worker.onerror = safe(function (e) { if (e && e.preventDefault) e.preventDefault(); disable("worker error"); });
    setTimeout(function () { if (enabled === null) disable("start-up timed out"); }, config.timeout);
    worker.postMessage({
      type: "init",
      assets: ASSETS,
      base: base,
      playbookUrl: new URL(config.playbook || ASSETS.playbook, config.playbook ? location.href : base).href,
      proxy: config.proxy ? new URL(config.proxy, location.href).href.replace(/\/$/, "") : "",
      visitor: visitorId(),
      stored: store ? store.getItem(KEY + "state") : null,
      locale: config.locale,
    });
  }

  var start = safe(function () {
    replayJournal();
    push(clientFacts());
    push(pageInfo());
    listen();
    var idle = w.requestIdleCallback || function (cb) { return setTimeout(cb, 1); };
    idle(safe(boot), { timeout: 2000 });
  });
  if (d.readyState === "complete") start();
  else w.addEventListener("load", start, { once: true });
})();
