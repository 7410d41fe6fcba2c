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

function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
}

/** This page load's instance id: the engine tells pages (and tabs) apart by it. */
export const PAGE = typeof crypto === "object" && crypto.getRandomValues ? randomId() : String(wallAtStart);

const MAX_PENDING = 400; // a page that floods events keeps the newest
const GATHER_MS = 100; // sensor events travel together: one batch (one lock, one storage read) per 100 ms
const URGENT = new Set(["page_view", "cart", "convert", "dismiss", "accept", "lead", "client"]); // facts go at once

/**
 * Events wait in `pending` until the current task ends; a sent batch stays `inflight` until the
 * worker answers it (a navigation may cut it off: the journal keeps both). One batch is in
 * flight at a time, so each sees the record the previous one stored.
 * @param {(events: Object[], now: number) => Promise<boolean>|boolean} send posts a batch;
 *   resolves when the worker has answered, false when it cannot send yet
 */
export function createBatcher(send) {
  let pending = [];
  const inflight = [];
  const inflightAt = []; // each batch's `now`, beside it
  let waiters = []; // settled() calls: { after, resolve }
  let scheduled = false;
  let gathering = 0;
  let seq = 0;
  let busy = false;
  let again = false;
  const batcher = {
    push(event) {
      event.t = now();
      event.p = PAGE;
      event.n = seq++;
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
      const events = pending;
      const at = now();
      pending = [];
      inflight.push(events);
      inflightAt.push(at);
      busy = true;
      Promise.resolve(send(events, at)).then((sent) => {
        if (!sent) {
          inflight.pop();
          inflightAt.pop();
          pending = events.concat(pending);
        }
      }).catch(() => { /* the bridge disables Tactful on a real failure */ }).then(() => {
        busy = false;
        if (again) { again = false; batcher.flush(); }
      });
    },
    /** The worker answered the oldest batch in flight. */
    answered() {
      inflight.shift();
      const at = inflightAt.shift();
      const due = waiters.filter((w) => w.after <= at);
      waiters = waiters.filter((w) => w.after > at);
      for (const w of due) w.resolve(true);
    },
    /**
     * A promise that resolves (true) once the worker has decided everything up to this instant:
     * every event pushed so far, and the time that passed until now. Resolves false if Tactful is
     * or becomes disabled. A sync point for tests, never a sleep.
     */
    settled() {
      return new Promise((resolve) => {
        waiters.push({ after: now(), resolve });
        batcher.flush();
      });
    },
    /** Give up on every waiter (Tactful was disabled). */
    abandon() {
      const all = waiters;
      waiters = [];
      for (const w of all) w.resolve(false);
    },
    /** Events the worker has not reflected in a stored record yet, oldest first. */
    unsaved() {
      return [].concat(...inflight, pending);
    },
    prepend(events) {
      pending = events.concat(pending);
    },
    clear() {
      pending = [];
      batcher.abandon();
    },
  };
  return batcher;
}
