// The widget bridge: loads the widget module on the first intervention (most visits never
// need it) and gives it the actions it may take.
import { warn } from "./api.js";

/**
 * @param {string} url the widget module's URL
 * @param {Object} actions feedback(type, trigger), reply(trigger, text, history), lead(trigger, email), cartUrl
 */
export function createWidgetBridge(url, actions) {
  let widget = null;
  const use = (fn) => (widget ? Promise.resolve(widget) : import(url)).then((mod) => {
    widget = mod;
    fn(mod);
  }).catch((e) => warn("widget failed to load: " + e));
  return {
    show(card) { use((mod) => mod.show(card, actions)); },
    /** The debug overlay: `explain()` resolves the engine's "why not?" report; `reset()` forgets this browser. */
    debug(explain, reset) { use((mod) => mod.debug(explain, reset)); },
    /** Close the open card, if any (the visitor converted: nothing more to say). */
    close() {
      if (widget && widget.close) widget.close();
    },
    /** A worker answer for the open card (a chat reply, a lead's fate). */
    receive(msg) {
      if (widget && widget.receive) widget.receive(msg);
    },
  };
}
