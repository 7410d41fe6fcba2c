// Tactful widget: renders one intervention inside a Shadow DOM root under #tactful-root.
// Loaded lazily by the loader on the first intervention. Host CSS cannot reach in,
// ours cannot leak out; themes come through CSS custom properties:
//   --tactful-accent, --tactful-bg, --tactful-fg, --tactful-radius, --tactful-font
// Public hooks: [data-tactful-kind], [data-tactful-trigger], [data-tactful-action="accept"|"dismiss"],
// [data-tactful-offer] (the offer line, from the playbook),
// form[data-tactful-form="lead"]; the event `tactful:apply-offer` on document.

const CSS = `
:host { all: initial; }
.panel {
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  box-sizing: border-box; width: min(360px, calc(100vw - 24px)); max-height: calc(100vh - 32px); overflow: auto;
  background: var(--tactful-bg, #fff); color: var(--tactful-fg, #1d1d1f);
  border-radius: var(--tactful-radius, 12px); box-shadow: 0 8px 30px rgba(0,0,0,.18);
  font: 15px/1.45 var(--tactful-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  padding: 16px 16px 14px; animation: rise .25s ease-out;
}
@media (max-width: 480px) { .panel { right: 12px; left: 12px; bottom: 12px; width: auto; } }
@media (prefers-reduced-motion: reduce) { .panel { animation: none; } }
@keyframes rise { from { transform: translateY(12px); opacity: 0; } to { transform: none; opacity: 1; } }
h2 { font-size: 16px; margin: 0 28px 6px 0; }
p { margin: 0 0 10px; }
.close { position: absolute; top: 8px; right: 8px; border: 0; background: transparent; font-size: 20px;
  line-height: 1; padding: 6px 9px; cursor: pointer; color: inherit; border-radius: 6px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; }
a.primary { display: inline-block; text-decoration: none; }
button.primary, a.primary, .chip { border: 0; border-radius: 8px; padding: 9px 14px; font: inherit; cursor: pointer;
  background: var(--tactful-accent, #0a66c2); color: #fff; }
.chip { background: transparent; color: var(--tactful-accent, #0a66c2); border: 1px solid currentColor; padding: 6px 10px; }
button:focus-visible, input:focus-visible { outline: 3px solid var(--tactful-accent, #0a66c2); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; margin: 0 0 10px; font-size: 14px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid rgba(0,0,0,.1); vertical-align: top; }
.log { display: flex; flex-direction: column; gap: 6px; margin: 0 0 10px; }
.log .visitor { align-self: flex-end; background: rgba(10,102,194,.1); border-radius: 8px; padding: 6px 9px; }
.log .agent { align-self: flex-start; background: rgba(0,0,0,.05); border-radius: 8px; padding: 6px 9px; }
form { display: flex; gap: 8px; flex-wrap: wrap; }
input { flex: 1 1 160px; min-width: 0; font: inherit; padding: 8px 10px; border: 1px solid rgba(0,0,0,.3); border-radius: 8px; }
.small { font-size: 12px; opacity: .75; margin-top: 8px; }
.offer { font-weight: 600; margin: 4px 0 10px; }
`;

let root = null;     // the ShadowRoot
let panel = null;     // the open panel
let current = null;  // { decision, actions }
let history = [];    // chat turns for the questions panel

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function ensureRoot() {
  if (root) return root;
  let host = document.getElementById("tactful-root");
  if (!host) {
    host = document.createElement("div");
    host.id = "tactful-root";
    document.body.appendChild(host);
  }
  root = host.shadowRoot || host.attachShadow({ mode: "open" });
  try {
    // Constructed sheets are not inline styles: they work under a strict CSP too.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.append(el("style", { text: CSS }));
  }
  document.addEventListener("keydown", onKey, true);
  return root;
}

function onKey(event) {
  if (event.key !== "Escape" || !panel) return;
  const typing = event.target && event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
  if (typing && event.target.getRootNode() !== root) return; // the visitor's own field: not ours to handle
  dismiss();
}

export function close() {
  if (panel) panel.remove();
  panel = null;
}

function dismiss() {
  if (!current) return;
  current.actions.feedback("dismiss", current.decision.trigger);
  close();
}

function accept() {
  if (!current || current.accepted) return;
  current.accepted = true;
  current.actions.feedback("accept", current.decision.trigger);
}

function tiers() {
  const rows = [];
  for (const node of document.querySelectorAll('[data-tactful-hover^="tier:"]')) {
    const name = node.getAttribute("data-tactful-name") || node.getAttribute("data-tactful-hover").slice(5);
    const summary = node.getAttribute("data-tactful-summary") || "";
    rows.push(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: summary })));
  }
  return rows.length ? el("table", {}, el("tbody", {}, ...rows)) : null;
}

// The offer's facts come from the playbook, never from model words: the model writes prose
// around "the offer below", and this line states it.
function offerLine(offer) {
  const value = offer.percent ? `${offer.percent}% off` : offer.amount ? `${offer.amount} off` : "";
  const parts = [offer.description || value, offer.code ? `code ${offer.code}` : ""].filter(Boolean);
  return parts.join(" · ");
}

function applyOffer(decision) {
  const offer = decision.offer_detail || {};
  const line = offerLine(offer);
  return [line ? el("p", { class: "offer", "data-tactful-offer": offer.id || "", text: line }) : null,
    el("div", { class: "actions" },
    el("button", {
      class: "primary", type: "button", "data-tactful-action": "accept",
      text: offer.code ? `Apply ${offer.code}` : "Apply",
      onclick: () => {
        accept();
        document.dispatchEvent(new CustomEvent("tactful:apply-offer", {
          detail: { trigger: decision.trigger, offer: offer.id, code: offer.code, percent: offer.percent, amount: offer.amount },
        }));
        close();
      },
    }))].filter(Boolean);
}

function compareTiers() {
  return [tiers(), el("div", { class: "actions" },
    el("button", { class: "primary", type: "button", "data-tactful-action": "accept", text: "Thanks, that helps",
      onclick: () => { accept(); close(); } }))];
}

function questionsChat(decision) {
  const log = el("div", { class: "log", "aria-live": "polite" });
  const ask = (text) => {
    text = text.trim().slice(0, 500);
    if (!text) return;
    accept();
    log.append(el("div", { class: "visitor", text }));
    history.push(["visitor", text]);
    current.actions.reply(decision.trigger, text, history.slice(-8));
  };
  const chips = (decision.questions || []).map((q) =>
    el("button", { class: "chip", type: "button", text: q, onclick: () => ask(q) }));
  const input = el("input", { type: "text", name: "question", maxlength: "500", "aria-label": "Your question", placeholder: "Ask a question" });
  const form = el("form", { "data-tactful-form": "question", onsubmit: (e) => { e.preventDefault(); ask(input.value); input.value = ""; } },
    input, el("button", { class: "primary", type: "submit", "data-tactful-action": "accept", text: "Ask" }));
  return [el("div", { class: "actions" }, ...chips), log, form];
}

function viewCart() {
  return el("div", { class: "actions" },
    el("a", { class: "primary", href: current.actions.cartUrl, "data-tactful-action": "accept", text: "View cart",
      onclick: () => accept() }));
}

function leadForm(decision) {
  const input = el("input", { type: "email", name: "email", required: "", autocomplete: "email", "aria-label": "Email address", placeholder: "you@example.com" });
  const consent = el("input", { type: "checkbox", name: "consent", required: "", id: "tactful-consent" });
  const status = el("p", { class: "small", "aria-live": "polite" });
  const form = el("form", {
    "data-tactful-form": "lead",
    onsubmit: (e) => {
      e.preventDefault();
      const email = input.value.trim();
      if (!email || !input.checkValidity()) { status.textContent = "Please enter a valid email address."; return; }
      if (!consent.checked) { status.textContent = "Please tick the box so we may email you."; return; }
      accept();
      status.textContent = "Sending…";
      current.actions.lead(decision.trigger, email, true);
    },
  }, input, el("button", { class: "primary", type: "submit", "data-tactful-action": "accept", text: "Send it to me" }),
  el("label", { class: "small consent", for: "tactful-consent" }, consent, " Email me what I asked for"));
  return [form, status, el("p", { class: "small", text: "We only use your email to send what you asked for." })];
}

// One renderer per widget kind (tactful.core WIDGET_KINDS): the panel's body under its message.
const RENDERERS = {
  discount: applyOffer,
  compare: compareTiers,
  questions: questionsChat,
  welcome_back: viewCart,
  lead: leadForm,
};

function body(decision) {
  const render = RENDERERS[decision.kind];
  return render ? [render(decision)].flat() : [];
}

export function show(decision, actions) {
  ensureRoot();
  close();
  history = [];
  current = { decision, actions, accepted: false };
  const titleId = "tactful-title";
  panel = el("section", {
    class: "panel", role: "region", "aria-labelledby": titleId,
    "data-tactful-kind": decision.kind, "data-tactful-trigger": decision.trigger,
  },
    el("button", { class: "close", type: "button", "aria-label": "Dismiss", "data-tactful-action": "dismiss", text: "×", onclick: dismiss }),
    el("h2", { id: titleId, text: decision.title || "" }),
    el("p", { role: "status", "aria-live": "polite", "data-tactful-message": "", text: decision.message || "" }),
    ...body(decision));
  root.append(panel);
}

export function receive(msg) {
  if (!panel || !current || msg.trigger !== current.decision.trigger) return;
  if (msg.type === "replied") {
    const log = panel.querySelector(".log");
    const text = msg.text || "Sorry, I cannot answer right now.";
    const line = el("div", { class: "agent", text });
    if (msg.link) line.append(" ", el("a", { href: msg.link, text: "Get help here" }));
    if (log) log.append(line);
    history.push(["agent", text]);
  } else if (msg.type === "lead_done") {
    const status = panel.querySelector('form[data-tactful-form="lead"] + .small');
    if (msg.ok) {
      current.actions.feedback("lead", current.decision.trigger);
      const form = panel.querySelector('form[data-tactful-form="lead"]');
      if (form) form.remove();
      if (status) status.textContent = "Thanks! It is on its way to your inbox.";
    } else if (status) {
      status.textContent = "That did not go through. Please try again in a moment.";
    }
  }
}

export { debug } from "./debug.js";
