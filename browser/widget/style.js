// The card's look. Every colour is a token a site may set on its page (defaults checked for
// contrast: text 4.5:1 or more, borders and focus rings 3:1 or more, on the default background).
export const CSS = `
:host { all: initial; }
.panel {
  --accent: var(--tactful-accent, #1f5fbf); --accent-text: var(--tactful-accent-text, #fff);
  --link: var(--tactful-link, var(--tactful-accent, #1f5fbf)); --bg: var(--tactful-bg, #fff);
  --fg: var(--tactful-fg, #1d1d1f); --muted: var(--tactful-muted, #55555c); --border: var(--tactful-border, #6e6e78);
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  box-sizing: border-box; width: min(380px, calc(100vw - 24px)); max-height: min(70vh, 560px); overflow: auto;
  background: var(--bg); color: var(--fg); border: 1px solid rgba(0,0,0,.08);
  border-radius: var(--tactful-radius, 14px); box-shadow: 0 12px 36px rgba(0,0,0,.2);
  font: 15px/1.45 var(--tactful-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  padding: 12px 16px 14px; animation: rise .25s ease-out;
}
.panel.top { top: 12px; bottom: auto; }
@media (max-width: 480px) {
  .panel { right: 0; left: 0; bottom: 0; width: auto; max-height: 33vh; border-radius: 14px 14px 0 0; padding: 10px 14px 12px; }
  .panel.top { top: 0; bottom: auto; border-radius: 0 0 14px 14px; }
}
@media (prefers-reduced-motion: reduce) { .panel { animation: none; } }
@keyframes rise { from { transform: translateY(12px); opacity: 0; } to { transform: none; opacity: 1; } }
.who { display: flex; align-items: center; gap: 8px; margin: 0 0 6px; color: var(--muted); font-size: 13px; }
.avatar { width: 28px; height: 28px; border-radius: 50%; background: var(--accent); color: var(--accent-text);
  display: inline-flex; align-items: center; justify-content: center; font-weight: 700; font-size: 14px; object-fit: cover; }
.name { flex: 1; font-weight: 600; }
h2 { font-size: 17px; margin: 0 0 4px; }
p { margin: 0 0 10px; }
.close { min-width: 44px; min-height: 44px; margin: -8px -10px -8px 0; border: 0; background: transparent; font-size: 22px;
  line-height: 1; cursor: pointer; color: var(--fg); border-radius: 10px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
a.primary { display: inline-flex; align-items: center; text-decoration: none; }
button.primary, a.primary, button.secondary, .chip { min-height: 44px; border-radius: 10px; padding: 0 16px; font: inherit;
  font-weight: 600; cursor: pointer; box-sizing: border-box; }
button.primary, a.primary { border: 0; background: var(--accent); color: var(--accent-text); }
button.secondary, .chip { background: transparent; color: var(--link); border: 1px solid var(--border); }
.chip { font-weight: 500; padding: 0 12px; text-align: left; }
a.link { color: var(--link); }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; margin: 0 0 6px; font-size: 14px; }
th, td { text-align: left; padding: 6px 6px 6px 0; border-bottom: 1px solid rgba(0,0,0,.12); vertical-align: middle; }
th .price { display: block; font-weight: 400; color: var(--muted); }
.log { display: flex; flex-direction: column; gap: 6px; margin: 8px 0 10px; max-height: 22vh; overflow: auto; }
.log .visitor { align-self: flex-end; background: color-mix(in srgb, var(--accent) 14%, var(--bg)); border-radius: 10px; padding: 6px 10px; }
.log .agent { align-self: flex-start; background: color-mix(in srgb, var(--fg) 7%, var(--bg)); border-radius: 10px; padding: 6px 10px; }
.typing { letter-spacing: 2px; }
form { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 6px; }
input[type=text], input[type=email] { flex: 1 1 160px; min-width: 0; min-height: 44px; box-sizing: border-box; font: inherit;
  padding: 8px 10px; color: var(--fg); background: var(--bg); border: 1px solid var(--border); border-radius: 10px; }
input[type=checkbox] { width: 20px; height: 20px; accent-color: var(--accent); margin: 0 6px 0 0; }
label.consent { display: flex; align-items: center; min-height: 44px; flex-basis: 100%; }
.small { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
.offer { font-weight: 650; margin: 4px 0 6px; }
.saving { font-weight: 650; color: var(--fg); margin: 0 0 10px; }
.done p { font-size: 16px; font-weight: 650; }
`;
