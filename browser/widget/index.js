// Tactful widget: renders one intervention inside a Shadow DOM root under #tactful-root.
// Loaded lazily by the loader on the first intervention. Host CSS cannot reach in, ours cannot
// leak out; themes come through CSS custom properties on the page:
//   --tactful-accent, --tactful-accent-text, --tactful-link, --tactful-bg, --tactful-fg,
//   --tactful-muted, --tactful-border, --tactful-radius, --tactful-font
// Page hooks it reads: [data-tactful-assistant] (the name on the card; [data-tactful-avatar] an
// image URL), [data-tactful-privacy] (the privacy link; default: the bundle's data inventory),
// [data-tactful-keep-visible] (elements the card must never cover), and on [data-tactful-hover^=tier:]
// elements data-tactful-name, -summary and -price.
// Public hooks it offers: [data-tactful-kind], [data-tactful-trigger], [data-tactful-state],
// [data-tactful-action="accept"|"dismiss"|"choose"|"done"], [data-tactful-offer],
// form[data-tactful-form="lead"|"question"]; the events `tactful:apply-offer` and
// `tactful:choose-plan` on document.
import { CSS } from "./style.js";
import { el, formatMoney, keepClear, saving } from "./parts.js";

const CLOSE_AFTER_MS = 4000; // a success state (applied, sent) stays this long, then the card closes

let root = null;     // the ShadowRoot
let panel = null;    // the open panel
let current = null;  // { decision, actions, accepted }
let history = [];    // chat turns for the questions panel
let returnTo = null; // where focus was before it entered the card (restored after Escape)

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
  const place = () => { if (panel) keepClear(panel); };
  window.addEventListener("scroll", place, { passive: true });
  window.addEventListener("resize", place, { passive: true });
  return root;
}

function onKey(event) {
  // Escape is the card's only while focus is in it: anywhere else on the page it is the page's.
  if (event.key !== "Escape" || !panel || !root.activeElement) return;
  const back = returnTo;
  dismiss();
  if (back && back.isConnected && back.focus) back.focus();
}

export function close() {
  if (panel) panel.remove();
  panel = null;
  returnTo = null;
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

/** A success state inside the card (applied, sent): said politely, then the card closes by itself. */
function succeed(state, text) {
  if (!panel) return;
  const open = panel;
  open.setAttribute("data-tactful-state", state);
  for (const node of open.querySelectorAll(".body")) node.remove();
  open.append(el("div", { class: "body done" }, el("p", { role: "status", text }),
    el("button", { class: "primary", type: "button", "data-tactful-action": "done", text: "Done", onclick: close })));
  setTimeout(() => { if (panel === open) close(); }, CLOSE_AFTER_MS);
}

// The offer's facts come from the playbook, never from model words: the model writes prose
// around "the offer below", and this line states it, with the concrete saving when the cart is known.
function offerLine(offer) {
  const value = offer.percent ? `${offer.percent}% off` : offer.amount ? `${offer.amount} off` : "";
  const parts = [offer.description || value, offer.code ? `code ${offer.code}` : ""].filter(Boolean);
  return parts.join(" · ");
}

function applyOffer(decision) {
  const offer = decision.offer_detail || {};
  const saved = saving(offer, decision.cart);
  const line = offerLine(offer);
  const apply = () => {
    accept();
    document.dispatchEvent(new CustomEvent("tactful:apply-offer", {
      detail: { trigger: decision.trigger, offer: offer.id, code: offer.code, percent: offer.percent, amount: offer.amount },
    }));
    succeed("applied", `${offer.code ? `Code ${offer.code} applied` : "Applied"}${saved ? `: you save ${saved}` : ""}.`);
  };
  return [line ? el("p", { class: "offer", "data-tactful-offer": offer.id || "", text: line }) : null,
    saved ? el("p", { class: "saving", "data-tactful-saving": "", text: `You save ${saved} on this cart` }) : null,
    el("div", { class: "actions" }, el("button", { class: "primary", type: "button", "data-tactful-action": "accept",
      text: offer.code ? `Apply ${offer.code}` : "Apply", onclick: apply }))].filter(Boolean);
}

function tierRows(decision) {
  const weighed = decision.weighed && decision.weighed.length ? decision.weighed : null;
  const rows = [];
  for (const node of document.querySelectorAll('[data-tactful-hover^="tier:"]')) {
    const tier = node.getAttribute("data-tactful-hover");
    if (weighed && !weighed.includes(tier)) continue;
    const name = node.getAttribute("data-tactful-name") || tier.slice(5);
    const choose = () => {
      accept();
      document.dispatchEvent(new CustomEvent("tactful:choose-plan", { detail: { trigger: decision.trigger, tier, name } }));
      close();
    };
    rows.push(el("tr", { "data-tactful-tier": tier },
      el("th", { scope: "row" }, el("span", { text: name }), el("span", { class: "price", text: node.getAttribute("data-tactful-price") || "" })),
      el("td", { text: node.getAttribute("data-tactful-summary") || "" }),
      el("td", {}, el("button", { class: "secondary", type: "button", "data-tactful-action": "choose", text: `Choose ${name}`, onclick: choose }))));
  }
  return rows.length ? el("table", {}, el("tbody", {}, ...rows)) : null;
}

function compareTiers(decision) {
  return [tierRows(decision)];
}

function questionsChat(decision) {
  const log = el("div", { class: "log", "aria-live": "polite" });
  const ask = (text) => {
    text = text.trim().slice(0, 500);
    if (!text) return;
    accept();
    log.append(el("div", { class: "visitor", text }), el("div", { class: "agent typing", "data-tactful-typing": "", text: "…", "aria-label": "Answering" }));
    panel.setAttribute("data-tactful-state", "answering");
    history.push(["visitor", text]);
    current.actions.reply(decision.trigger, text, history.slice(-8));
  };
  // A question the page itself answers (decision.answers: from its product facts) is answered
  // here, in the page's own words, with no call to the proxy.
  const fromPage = (q) => {
    accept();
    log.append(el("div", { class: "visitor", text: q }), el("div", { class: "agent", "data-tactful-answer": "page", text: decision.answers[q] }));
    history.push(["visitor", q], ["agent", decision.answers[q]]);
  };
  const answered = decision.answers || {};
  const chips = (decision.questions || []).map((q) =>
    el("button", { class: "chip", type: "button", text: q, onclick: () => (Object.hasOwn(answered, q) ? fromPage(q) : ask(q)) }));
  const input = el("input", { type: "text", name: "question", maxlength: "500", "aria-label": "Your question", placeholder: "Ask a question" });
  const form = el("form", { "data-tactful-form": "question", onsubmit: (e) => { e.preventDefault(); ask(input.value); input.value = ""; } },
    input, el("button", { class: "primary", type: "submit", "data-tactful-action": "accept", text: "Ask" }));
  return [el("div", { class: "actions" }, ...chips), log, form];
}

function viewCart(decision) {
  const cart = decision.cart;
  const waiting = cart && cart.items
    ? `${cart.items} ${cart.items === 1 ? "item" : "items"}${cart.value ? ` · ${formatMoney(cart.value, cart.currency)}` : ""}`
    : "";
  return [waiting ? el("p", { class: "offer", "data-tactful-cart": "", text: `In your cart: ${waiting}` }) : null,
    el("div", { class: "actions" },
      el("a", { class: "primary", href: current.actions.cartUrl, "data-tactful-action": "accept", text: "View cart",
        onclick: () => accept() }))].filter(Boolean);
}

function privacyLink() {
  const hook = document.querySelector("[data-tactful-privacy]");
  const href = (hook && hook.getAttribute("data-tactful-privacy")) || new URL("../privacy.html", import.meta.url).href;
  return el("a", { class: "link", href, target: "_blank", rel: "noopener", text: "How we handle your email" });
}

function leadForm(decision) {
  const input = el("input", { type: "email", name: "email", autocomplete: "email", "aria-label": "Email address", placeholder: "you@example.com" });
  const consent = el("input", { type: "checkbox", name: "consent", id: "tactful-consent" });
  const status = el("p", { class: "small", role: "alert", "data-tactful-status": "" });
  const form = el("form", {
    "data-tactful-form": "lead", novalidate: "", // our own messages, inside the card: no browser bubble over it
    onsubmit: (e) => {
      e.preventDefault();
      const email = input.value.trim();
      if (!email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) { status.textContent = "Please enter a valid email address."; input.focus(); return; }
      if (!consent.checked) { status.textContent = "Please tick the box so we may email you."; consent.focus(); return; }
      accept();
      status.textContent = "Sending…";
      current.actions.lead(decision.trigger, email, true);
    },
  }, input, el("button", { class: "primary", type: "submit", "data-tactful-action": "accept", text: "Keep me posted" }),
  el("label", { class: "small consent", for: "tactful-consent" }, consent, " Email me about this, and nothing else"));
  return [form, status, el("p", { class: "small" }, "Your email is used only for this. ", privacyLink())];
}

// One renderer per widget kind (tactful.core WIDGET_KINDS): the panel's body under its message.
const RENDERERS = {
  discount: applyOffer,
  compare: compareTiers,
  questions: questionsChat,
  welcome_back: viewCart,
  lead: leadForm,
};

function identity() {
  const named = document.querySelector("[data-tactful-assistant]");
  const name = (named && named.getAttribute("data-tactful-assistant")) || "Shop assistant";
  const avatar = document.querySelector("[data-tactful-avatar]");
  const picture = avatar ? el("img", { class: "avatar", alt: "", src: avatar.getAttribute("data-tactful-avatar") })
    : el("span", { class: "avatar", "aria-hidden": "true", text: name.trim().charAt(0).toUpperCase() });
  return el("div", { class: "who" }, picture, el("span", { class: "name", "data-tactful-assistant-name": "", text: name }),
    el("button", { class: "close", type: "button", "aria-label": "Dismiss", "data-tactful-action": "dismiss", text: "×", onclick: dismiss }));
}

export function show(decision, actions) {
  ensureRoot();
  close();
  history = [];
  current = { decision, actions, accepted: false };
  const titleId = "tactful-title";
  const render = RENDERERS[decision.kind];
  panel = el("section", {
    class: "panel", role: "region", "aria-labelledby": titleId, "data-tactful-state": "open",
    "data-tactful-kind": decision.kind, "data-tactful-trigger": decision.trigger,
    onfocusin: (e) => { if (!returnTo && e.relatedTarget && !panel.contains(e.relatedTarget)) returnTo = e.relatedTarget; },
  },
    identity(),
    el("h2", { id: titleId, text: decision.title || "" }),
    el("p", { role: "status", "aria-live": "polite", "data-tactful-message": "", text: decision.message || "" }),
    el("div", { class: "body" }, ...(render ? [render(decision)].flat() : [])));
  root.append(panel);
  keepClear(panel);
}

export function receive(msg) {
  if (!panel || !current || msg.trigger !== current.decision.trigger) return;
  if (msg.type === "replied") {
    const log = panel.querySelector(".log");
    for (const typing of panel.querySelectorAll("[data-tactful-typing]")) typing.remove();
    panel.setAttribute("data-tactful-state", "open");
    const text = msg.text || "Sorry, I cannot answer right now.";
    const line = el("div", { class: "agent", text });
    if (msg.link) line.append(" ", el("a", { class: "link", href: msg.link, text: "Get help here" }));
    if (log) log.append(line);
    history.push(["agent", text]);
  } else if (msg.type === "lead_done") {
    if (msg.ok) {
      current.actions.feedback("lead", current.decision.trigger);
      succeed("sent", "Thanks! You are on the list: we will email you about this, and nothing else.");
    } else {
      const status = panel.querySelector("[data-tactful-status]");
      if (status) status.textContent = "That did not go through. Please try again in a moment.";
    }
  }
}

export { debug } from "./debug.js";
