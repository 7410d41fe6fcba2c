// Sensors: what the page can see of behaviour, turned into engine events. Passive listeners
// only, cheap on every event; nothing here decides anything.
import { safe } from "./api.js";
import { nowMs } from "./clock.js";

const MIN_EXIT_DWELL_MS = 3000; // an exit gesture right after arriving is not leaving
const EXIT_REPEAT_MS = 5000;
const MAX_URL = 2048; // the engine's and the wire's limits: longer values are cut here
const MAX_NAME = 120;

/** Only what a person did: events a script dispatches itself (isTrusted false) are ignored. */
function trusted(handler) {
  return (e) => { if (!e || e.isTrusted !== false) handler(e); };
}

/** The page_view event: URL, and the page hooks (data-tactful-page, -product, -category). */
export function pageInfo() {
  const info = { type: "page_view", url: (location.pathname + location.search).slice(0, MAX_URL) };
  const hook = (name) => {
    const el = document.querySelector("[data-tactful-" + name + "]");
    return el && el.getAttribute("data-tactful-" + name);
  };
  const kind = hook("page");
  if (kind) info.kind = kind;
  const product = hook("product");
  if (product) info.product = product.slice(0, MAX_NAME);
  const category = hook("category");
  if (category) info.category = category.slice(0, MAX_NAME);
  // The product's facts as the page states them, for answers from the page itself: the
  // schema.org JSON-LD (the engine reads it) and data-tactful-fact="id" elements (their text).
  const ld = [...document.querySelectorAll('script[type="application/ld+json"]')].map((s) => s.textContent);
  if (ld.length) info.jsonld = ld;
  const facts = {};
  for (const el of document.querySelectorAll("[data-tactful-fact]")) {
    facts[el.getAttribute("data-tactful-fact").toLowerCase().replace(/\W+/g, "_")] = el.textContent.slice(0, 400);
  }
  if (Object.keys(facts).length) info.facts = facts;
  return info;
}

/** What the browser says about itself, for the bot score: nothing the engine does not weigh. */
export function clientFacts(automated) {
  const n = navigator;
  let ua = n.userAgent || "";
  let headless = (/Chrome\//.test(ua) && !window.chrome) || (window.outerWidth === 0 && window.outerHeight === 0);
  if (TACTFUL_TEST_BUILD && automated) { ua = ua.replace("HeadlessChrome", "Chrome"); headless = false; }
  return {
    type: "client", user_agent: ua.slice(0, 500), webdriver: n.webdriver === true && !(TACTFUL_TEST_BUILD && automated),
    languages: Array.prototype.slice.call(n.languages || []).slice(0, 8),
    headless: !!headless,
    gpc: n.globalPrivacyControl === true,
  };
}

/** Human input, at most once a second: the `activity` event. */
function activitySensor(push) {
  let last = 0;
  return () => {
    const t = nowMs();
    if (t - last >= 1000) { last = t; push({ type: "activity" }); }
  };
}

/** Leaving gestures: the pointer out through the top (desktop), a fast flick back up (phones). */
function exitSensor(push, startedAt) {
  let last = 0;
  return (source) => {
    const t = nowMs();
    if (t - startedAt < MIN_EXIT_DWELL_MS || t - last < EXIT_REPEAT_MS) return;
    last = t;
    push({ type: "exit_intent", source });
  };
}

const SCROLL_CAUSE_MS = 2000; // a scroll this soon after wheel, touch, key or pointer input has a hand behind it
const INPUT_REST_MS = 1000; // input that causes scrolling is looked at once a second at most
const FLICK_MS = 400; // a phone's "leaving" gesture: the page flicked back up this fast...
const FLICK_MIN_PX = 250; // ...by at least this much (or 30 % of the screen's height)...
const FLICK_MIN_DEPTH = 0.3; // ...after having read this far down

/**
 * Scroll depth, and on phones the flick back toward the top that reveals the address bar and
 * the tab switcher: browsers deliver a scroll event every frame, so the flick is measured
 * against the furthest point of the last 400 ms, not against the previous event.
 */
function scrollSensor(push, exitIntent, lastCause) {
  let lastEmit = 0, maxDepth = 0, lastY = window.scrollY;
  let recent = []; // [time, y] of the last FLICK_MS
  return () => {
    const t = nowMs(), y = window.scrollY, doc = document.documentElement;
    const height = Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0);
    const depth = Math.round((height > 0 ? Math.min(1, (y + window.innerHeight) / height) : 1) * 100) / 100;
    recent = recent.filter(([when]) => t - when <= FLICK_MS);
    recent.push([t, y]);
    const peak = Math.max(...recent.map(([, at]) => at));
    if (peak - y >= Math.max(FLICK_MIN_PX, 0.3 * window.innerHeight) && maxDepth > FLICK_MIN_DEPTH) {
      recent = [[t, y]];
      exitIntent("scroll_up");
    }
    const moved = y !== lastY;
    lastY = y;
    const human = t - lastCause() < SCROLL_CAUSE_MS;
    // A person's scroll is reported when it goes 2 % deeper or a second has passed; a script's,
    // every time it moves the page (the engine counts those: scripted scrolling is a bot's).
    if (depth > maxDepth + 0.02 || t - lastEmit > 1000 || (!human && moved)) {
      maxDepth = Math.max(maxDepth, depth);
      lastEmit = t;
      push({ type: "scroll", depth, human });
    }
  };
}

/**
 * Pointer movement (speed, for exit intent) and hovers over [data-tactful-hover] elements. The
 * speed on the way out is measured from the pointer's last move to the moment it leaves.
 */
function pointerSensors(push, activity, exitIntent) {
  let pointerY = null, pointerT = 0, hoverEl = null;
  const hovered = (e) => e.target && e.target.closest && e.target.closest("[data-tactful-hover]");
  return {
    move(e) {
      pointerY = e.clientY; pointerT = nowMs();
      activity();
    },
    out(e) {
      if (!e.relatedTarget && e.clientY <= 5 && pointerY !== null) {
        const t = nowMs();
        const speedY = t > pointerT ? (pointerY - e.clientY) / (t - pointerT) : 0; // px/ms, upward > 0
        if (speedY > 0.2) exitIntent("pointer_top");
      }
      const el = hovered(e);
      if (el && el === hoverEl && !(e.relatedTarget && el.contains(e.relatedTarget))) hoverEl = null;
    },
    over(e) {
      const el = hovered(e);
      if (!el || el === hoverEl) return;
      hoverEl = el;
      const target = (el.getAttribute("data-tactful-hover") || "").slice(0, 128);
      if (target) push({ type: "hover", target });
    },
  };
}

/**
 * Listen to a person's `type` events at most once per `restMs`: after each one the listener steps
 * aside and comes back when the rest is over. Wheels, keys and touches fire dozens of times a
 * second and the sensors need them once a second (activity, a scroll's cause): a listener that is
 * not there costs the host page nothing. (Not for pointermove: taking a listener away and putting
 * it back ten times a second cost more than it saved, measured.)
 */
function rested(type, handler, restMs, opts) {
  const listener = safe(trusted((e) => {
    document.removeEventListener(type, listener, opts);
    setTimeout(() => document.addEventListener(type, listener, opts), restMs);
    handler(e);
  }));
  document.addEventListener(type, listener, opts);
}

/**
 * Start watching. `push(event)` receives engine events; `onHide()` runs when the page is
 * hidden or left (flush, journal, beacon).
 */
export function watch(push, onHide, startedAt) {
  const activity = activitySensor(push);
  const exitIntent = exitSensor(push, startedAt);
  const pointer = pointerSensors(push, activity, exitIntent);
  const opts = { passive: true, capture: true };
  let cause = -Infinity; // the latest input that can scroll a page: wheel, touch, key, pointer press
  const caused = () => cause;
  // Input that can scroll a page is its cause for SCROLL_CAUSE_MS; resting INPUT_REST_MS between
  // two looks keeps every scroll it causes inside that window.
  for (const type of ["wheel", "touchstart", "touchmove", "keydown", "pointerdown"]) {
    rested(type, () => { cause = nowMs(); if (type !== "touchmove") activity(); }, INPUT_REST_MS, opts);
  }
  window.addEventListener("scroll", safe(scrollSensor(push, exitIntent, caused)), opts);
  document.addEventListener("pointermove", safe(trusted(pointer.move)), opts);
  document.addEventListener("mouseout", safe(trusted(pointer.out)), opts);
  document.addEventListener("mouseover", safe(trusted(pointer.over)), opts);
  // Keyboard and screen-reader visitors move focus: that is input, and a hover on a hooked element.
  document.addEventListener("focusin", safe(trusted((e) => { activity(); pointer.over(e); })), opts);
  document.addEventListener("visibilitychange", safe(() => {
    const hidden = document.visibilityState === "hidden";
    push({ type: "visibility", state: hidden ? "hidden" : "visible" });
    if (hidden) onHide();
  }));
  window.addEventListener("pagehide", safe(onHide));
}
