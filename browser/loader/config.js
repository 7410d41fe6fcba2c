// Configuration from the loader's own <script> tag (data-* attributes), with safe defaults.

const CONSENT = ["granted", "session", "required"];

/**
 * @param {HTMLScriptElement|null} script the loader's script element (document.currentScript)
 * @returns {{base: string, proxy: string, playbook: string, locale: string, timeout: number, cartUrl: string,
 *   consent: string}}
 */
export function readConfig(script) {
  const attr = (name, fallback) => {
    const value = script && script.getAttribute("data-" + name);
    return value == null || value === "" ? fallback : value;
  };
  return {
    // The bundle's base URL: where tactful.js came from (its assets sit beside it).
    base: script && script.src ? new URL(".", script.src).href : new URL("/tactful/", location.href).href,
    proxy: attr("proxy", ""),
    playbook: attr("playbook", ""),
    locale: attr("locale", document.documentElement.lang || navigator.language || ""),
    timeout: +attr("timeout", 30000) || 30000,
    cartUrl: attr("cart-url", "/cart"),
    // granted (default): store and send as the inventory lists; session: this tab's session only;
    // required: nothing stored, sent or started until tactful.consent(true).
    consent: CONSENT.indexOf(attr("consent", "granted")) >= 0 ? attr("consent", "granted") : "required",
  };
}
