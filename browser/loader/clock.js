// Time and batching. The loader owns time: every event is stamped here and every batch
// carries `now`, so the worker never reads a clock and tests fast-forward the page's clock.

/** Seconds, the engine's unit. */
export function now() {
  return Date.now() / 1000;
}

const MAX_PENDING = 400; // a page that floods events keeps the newest

/**
 * Events wait in `pending` until the next tick; a sent batch stays `inflight` until the
 * worker answers it (a navigation may cut it off: the journal keeps both).
 * @param {(events: Object[], now: number) => boolean} send posts a batch; false when it cannot yet
 */
export function createBatcher(send) {
  let pending = [];
  const inflight = [];
  let timer = 0;
  const batcher = {
    push(event) {
      event.t = now();
      pending.push(event);
      if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING);
      if (!timer) timer = setTimeout(batcher.flush, 0);
    },
    flush() {
      timer = 0;
      const events = pending;
      if (!send(events, now())) return;
      pending = [];
      inflight.push(events);
    },
    /** The worker answered the oldest batch in flight. */
    answered() {
      inflight.shift();
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
    },
  };
  return batcher;
}
