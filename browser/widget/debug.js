// The site owner's debug overlay: `?tactful_debug=1` or `tactful.debug()`. Every trigger of the
// playbook, live: its status on this page, each condition with its current value and threshold,
// the gates that would stop it with the time each lifts, the visitor's arm and bot score, the
// visit's decisions on every page so far, and a reset button that forgets this browser's Tactful
// data. Read-only: it decides nothing.

import { el } from "./parts.js";

const CSS = `
:host { all: initial; }
.debug { position: fixed; left: 12px; top: 12px; z-index: 2147483001; box-sizing: border-box;
  width: min(440px, calc(100vw - 24px)); max-height: min(70vh, 640px); overflow: auto;
  background: #111318; color: #f2f2f5; border-radius: 10px; box-shadow: 0 8px 30px rgba(0,0,0,.35);
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: 12px 14px; }
h2 { font-size: 14px; margin: 0 0 6px; } h3 { font-size: 13px; margin: 10px 0 2px; }
.meta { color: #c7c9d1; margin: 0 0 6px; }
.ok { color: #7ee2a8; } .no { color: #ffb4a9; } .st { color: #ffd479; }
ul { margin: 2px 0 0; padding-left: 18px; } li { margin: 1px 0; }
button { font: inherit; min-height: 44px; min-width: 44px; padding: 6px 12px; border-radius: 8px; border: 1px solid #8a8fa3;
  background: #23262f; color: #fff; cursor: pointer; margin: 6px 8px 0 0; }
button:focus-visible { outline: 3px solid #ffd479; outline-offset: 2px; }
`;

const STATUS = {
  not_this_page: "not for this page",
  decided: "decided on this page (tactful.explain() has it)",
  waiting: "waiting for its condition",
  blocked: "blocked",
  ready: "ready: fires at the next instant",
};

let host = null;
let timer = null;

/** "in 23 h 59 min (14:05)": when a gate lifts, relative to the engine's now, and on the clock. */
export function readableUntil(until, now) {
  if (until == null) return "until the visit or the facts change";
  const left = Math.max(0, Math.round(until - now));
  const d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600), m = Math.floor((left % 3600) / 60);
  const span = d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${left % 60} s` : `${left} s`;
  const at = new Date(until * 1000);
  const clock = at.toLocaleString(undefined, d ? { dateStyle: "short", timeStyle: "short" } : { timeStyle: "short" });
  return `in ${span} (${clock})`;
}

function value(v) {
  return v == null ? "not started" : Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function triggerView(t, now) {
  const status = el("span", { class: t.status === "ready" ? "ok" : t.status === "blocked" ? "no" : "st", text: STATUS[t.status] || t.status });
  const conditions = el("ul", {}, ...t.conditions.map((c) => el("li", { class: c.holds ? "ok" : "no",
    text: `${c.holds ? "✓" : "✗"} ${c.signal} ${c.op} ${c.value} (now ${value(c.now)})` })));
  const gates = t.gates.length
    ? el("ul", {}, ...t.gates.map((g) => el("li", { class: "no", "data-tactful-gate": g.code,
      text: `${g.code} ${readableUntil(g.until, now)}: ${g.doc}` })))
    : null;
  return el("section", { "data-tactful-debug-trigger": t.trigger, "data-status": t.status },
    el("h3", { text: `${t.trigger} (${t.kind}, phase ${t.phase})` }), status, conditions, gates);
}

/** The visit so far, every page (tactful.explain()): when, where, what, and why. */
function visitView() {
  const api = window.tactful;
  const decided = api && api.explain ? api.explain() : [];
  return el("section", { "data-tactful-debug-visit": "" }, el("h3", { text: "This visit" }),
    decided.length
      ? el("ul", {}, ...decided.map((d) => el("li", { class: d.action === "intervene" ? "ok" : "no",
        text: `${new Date(d.t * 1000).toLocaleTimeString()} ${d.url || ""} ${d.trigger}: ${d.why || d.action}` })))
      : el("p", { class: "meta", text: "no decision yet" }));
}

function render(panel, report, reset) {
  panel.replaceChildren(el("h2", { text: "Tactful debug" }));
  if (!report) {
    panel.append(el("p", { class: "meta", text: "The engine is not running on this page (see tactful.ready)." }));
    return;
  }
  const bot = report.bot_score >= report.bot_threshold;
  panel.append(el("p", { class: "meta", text: `arm ${report.arm} · page ${report.page_kind || "?"} · bot score `
    + `${report.bot_score.toFixed(1)} of ${report.bot_threshold}${bot ? " (automated: nothing is shown)" : ""}`
    + (report.interacted ? "" : " · no interaction on this page yet") }));
  for (const t of report.triggers) panel.append(triggerView(t, report.at));
  panel.append(visitView());
  panel.append(el("button", { type: "button", "data-tactful-action": "reset", text: "Reset this browser", onclick: reset }),
    el("button", { type: "button", "data-tactful-action": "close", text: "Close", onclick: close }));
}

/** Open the overlay; `explain()` resolves the engine's report, `reset()` forgets this browser. */
export function debug(explain, reset) {
  if (host) return;
  host = el("div", { id: "tactful-debug" });
  const shadow = host.attachShadow({ mode: "open" });
  const panel = el("aside", { class: "debug", role: "complementary", "aria-label": "Tactful debug" });
  shadow.append(el("style", { text: CSS }), panel);
  document.body.append(host);
  const refresh = () => explain().then((report) => render(panel, report, reset)).catch(() => {});
  refresh();
  timer = setInterval(refresh, 1000);
}

export function close() {
  clearInterval(timer);
  if (host) host.remove();
  host = null;
}
