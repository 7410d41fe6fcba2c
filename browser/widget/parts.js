// Small parts of the widget: elements, money, the saving of an offer, staying clear of the page's
// primary actions.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A sum in the cart's currency when it has an ISO code ("€12.90"), else plainly ("12.90"). */
export function formatMoney(value, currency) {
  if (/^[A-Z]{3}$/.test(currency || "")) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, { style: "currency", currency }).format(value);
    } catch (e) { /* an unknown currency code: plainly */ }
  }
  return value.toFixed(2);
}

/** What the offer saves on this cart, formatted; "" when the cart's value is not known. */
export function saving(offer, cart) {
  if (!cart || !cart.value) return "";
  const amount = offer.percent ? (cart.value * offer.percent) / 100 : Math.min(offer.amount || 0, cart.value);
  return amount > 0 ? formatMoney(Math.round(amount * 100) / 100, cart.currency) : "";
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/**
 * Keep the card off the elements the page names with [data-tactful-keep-visible] (a "Check out"
 * button): at the bottom of the screen unless that covers one of them, then at the top.
 */
export function keepClear(panel) {
  panel.classList.remove("top");
  const keep = [...document.querySelectorAll("[data-tactful-keep-visible]")].map((node) => node.getBoundingClientRect())
    .filter((r) => r.width && r.height && r.bottom > 0 && r.top < window.innerHeight);
  if (keep.some((r) => overlaps(r, panel.getBoundingClientRect()))) panel.classList.add("top");
}
