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
  return info;
}

/** What the browser says about itself, for the bot score. */
export function clientFacts() {
  const n = navigator;
  const ua = n.userAgent || "";
  const headless = (/Chrome\//.test(ua) && !window.chrome) || (window.outerWidth === 0 && window.outerHeight === 0);
  return {
    type: "client", user_agent: ua.slice(0, 500), webdriver: n.webdriver === true,
    languages: Array.prototype.slice.call(n.languages || []).slice(0, 8),
    plugins: n.plugins ? n.plugins.length : 0, touch: (n.maxTouchPoints || 0) > 0,
    width: window.innerWidth | 0, height: window.innerHeight | 0, headless: !!headless,
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

function scrollSensor(push, exitIntent) {
  let lastEmit = 0, maxDepth = 0, lastY = window.scrollY, lastT = nowMs();
  return () => {
    const t = nowMs(), y = window.scrollY, doc = document.documentElement;
    const height = Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0);
    const depth = Math.round((height > 0 ? Math.min(1, (y + window.innerHeight) / height) : 1) * 100) / 100;
    const dt = t - lastT;
    if (dt > 0 && dt < 400 && lastY - y > 250 && maxDepth > 0.3) exitIntent("scroll_up");
    lastY = y; lastT = t;
    if (depth > maxDepth + 0.02 || t - lastEmit > 1000) {
      maxDepth = Math.max(maxDepth, depth);
      lastEmit = t;
      push({ type: "scroll", depth });
    }
  };
}

/** Pointer movement (speed, for exit intent) and hovers over [data-tactful-hover] elements. */
function pointerSensors(push, activity, exitIntent) {
  let pointerY = null, pointerT = 0, speedY = 0, hoverEl = null;
  const hovered = (e) => e.target && e.target.closest && e.target.closest("[data-tactful-hover]");
  return {
    move(e) {
      const t = nowMs();
      if (pointerY !== null && t > pointerT) speedY = (pointerY - e.clientY) / (t - pointerT); // px/ms, upward > 0
      pointerY = e.clientY; pointerT = t;
      activity();
    },
    out(e) {
      if (!e.relatedTarget && e.clientY <= 5 && speedY > 0.2) exitIntent("pointer_top");
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
 * Start watching. `push(event)` receives engine events; `onHide()` runs when the page is
 * hidden or left (flush, journal, beacon).
 */
export function watch(push, onHide, startedAt) {
  const activity = activitySensor(push);
  const exitIntent = exitSensor(push, startedAt);
  const pointer = pointerSensors(push, activity, exitIntent);
  const opts = { passive: true, capture: true };
  window.addEventListener("scroll", safe(scrollSensor(push, exitIntent)), opts);
  document.addEventListener("pointermove", safe(trusted(pointer.move)), opts);
  document.addEventListener("mouseout", safe(trusted(pointer.out)), opts);
  document.addEventListener("mouseover", safe(trusted(pointer.over)), opts);
  // Keyboard and screen-reader visitors move focus: that is input, and a hover on a hooked element.
  document.addEventListener("focusin", safe(trusted((e) => { activity(); pointer.over(e); })), opts);
  for (const type of ["keydown", "touchstart", "wheel", "pointerdown"]) {
    document.addEventListener(type, safe(trusted(activity)), opts);
  }
  document.addEventListener("visibilitychange", safe(() => {
    const hidden = document.visibilityState === "hidden";
    push({ type: "visibility", state: hidden ? "hidden" : "visible" });
    if (hidden) onHide();
  }));
  window.addEventListener("pagehide", safe(onHide));
}
