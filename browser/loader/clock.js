// Time and batching. The loader owns time: every event is stamped here and every batch
// carries `now`, so the worker never reads a clock and tests fast-forward the page's clock.
//
// Stamps are monotonic within a page: the wall clock is read once, when the loader starts,
// and time moves on with performance.now(). A wall clock that steps back or forward while
// the page is open (NTP, a user fixing their clock) cannot reorder or drop this page's
// events; a step between two pages is absorbed by the engine (see Engine.feed).

const wallAtStart = Date.now();
const perfAtStart = performance.now();

/** Milliseconds: the wall clock at start-up plus monotonic time since. */
export function nowMs() {
  return wallAtStart + (performance.now() - perfAtStart);
}

/** Seconds, the engine's unit. */
export function now() {
  return nowMs() / 1000;
}

/** `size` random bytes as hex (the page instance here, the visitor id in persistence.js). */
export function randomHex(size) {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
}

/** This page load's instance id: the engine tells pages (and tabs) apart by it. */
export const PAGE = typeof crypto === "object" && crypto.getRandomValues ? randomHex(8) : String(wallAtStart);

const MAX_PENDING = 400; // a page that floods events keeps the newest
// Sensor events travel together: one batch (one lock, one storage read, one write) per quarter
// second of scrolling and pointing. Facts, and a visitor on the way out, go at once.
const GATHER_MS = 250;
const URGENT = new Set(["page_view", "cart", "convert", "dismiss", "accept", "lead", "client", "exit_intent"]);

/**
 * Events wait in `pending` until the current task ends; a sent batch stays `inflight` until the
 * worker answers it (a navigation may cut it off: the journal keeps both). One batch is in
 * flight at a time, so each sees the record the previous one stored.
 * @param {(events: Object[], now: number) => Promise<boolean>|boolean} send posts a batch;
 *   resolves when the worker has answered, false when it cannot send yet
 */
export function createBatcher(send) {
  let pending = [];
  const inflight = []; // { events, at }: sent, not answered yet
  const waiters = createWaiters();
  let scheduled = false;
  let gathering = 0;
  let seq = 0;
  let busy = false;
  let again = false;
  const batcher = {
    push(event) {
      Object.assign(event, { t: now(), p: PAGE, n: seq++ });
      pending.push(event);
      if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING);
      if (URGENT.has(event.type)) {
        // A fact goes right after the task that reported it (with whatever else that task pushed).
        if (!scheduled) { scheduled = true; queueMicrotask(batcher.flush); }
      } else if (!gathering && !scheduled) {
        gathering = setTimeout(batcher.flush, GATHER_MS);
      }
    },
    flush() {
      scheduled = false;
      if (gathering) { clearTimeout(gathering); gathering = 0; }
      if (busy) { again = true; return; }
      const batch = { events: pending, at: now() };
      pending = [];
      inflight.push(batch);
      busy = true;
      Promise.resolve(send(batch.events, batch.at)).then((sent) => {
        if (!sent) {
          inflight.pop();
          pending = batch.events.concat(pending);
        }
      }).catch(() => { /* the bridge disables Tactful on a real failure */ }).then(() => {
        busy = false;
        if (again) { again = false; batcher.flush(); }
      });
    },
    /** The worker answered the oldest batch in flight. */
    answered() {
      const batch = inflight.shift();
      if (batch) waiters.reached(batch.at);
    },
    /**
     * A promise that resolves (true) once the worker has decided everything up to this instant:
     * every event pushed so far, and the time that passed until now. Resolves false if Tactful is
     * or becomes disabled. A sync point for tests, never a sleep.
     */
    settled() {
      const waiting = waiters.add(now());
      batcher.flush();
      return waiting;
    },
    /** Events the worker has not reflected in a stored record yet, oldest first. */
    unsaved() {
      return [].concat(...inflight.map((batch) => batch.events), pending);
    },
    prepend(events) {
      pending = events.concat(pending);
    },
    clear() {
      pending = [];
      waiters.abandon(); // Tactful was disabled: nobody waits for ever
    },
  };
  return batcher;
}

/** Promises waiting for the worker to reach an instant (`settled()`), resolved in order. */
function createWaiters() {
  let waiting = []; // { after, resolve }
  return {
    add(after) {
      return new Promise((resolve) => waiting.push({ after, resolve }));
    },
    reached(at) {
      const due = waiting.filter((w) => w.after <= at);
      waiting = waiting.filter((w) => w.after > at);
      for (const w of due) w.resolve(true);
    },
    abandon() {
      const all = waiting;
      waiting = [];
      for (const w of all) w.resolve(false);
    },
  };
}
