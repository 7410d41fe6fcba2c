// What Tactful keeps in this browser, and only here: the pseudonymous visitor id and the
// engine's record (localStorage; sessionStorage in the `session` consent mode), the journal of
// unsaved events (sessionStorage), and the visit's outcome beacon, sent to the proxy when the page
// is hidden. The names come from the data inventory (tactful/core/_inventory.py), via contract.js.
import { STORAGE_NAMES } from "../generated/contract.js";
import { randomHex } from "./clock.js";

const ID = STORAGE_NAMES.id;

function storage(name) {
  try {
    const store = window[name];
    store.getItem(ID); // throws where storage is blocked; a read costs the page no write
    return store;
  } catch (e) {
    return null; // blocked: run in memory (a full storage is caught where it is written)
  }
}

/**
 * Where this consent mode lets Tactful keep things: `granted` the visitor's browser (localStorage
 * for the id and record), `session` this tab's session only, `required` (no consent yet) nowhere.
 */
export function openStores(mode) {
  if (mode === "required") return { local: null, session: null };
  const session = storage("sessionStorage");
  return { local: mode === "session" ? session : storage("localStorage"), session };
}

/** Everything Tactful stored in this browser, gone (consent withdrawn). */
export function eraseAll() {
  for (const name of ["localStorage", "sessionStorage"]) {
    try {
      const store = window[name];
      for (let i = store.length - 1; i >= 0; i--) {
        const key = store.key(i);
        if (key && key.indexOf(STORAGE_NAMES.prefix) === 0) store.removeItem(key);
      }
    } catch (e) { /* blocked storage holds nothing of ours */ }
  }
  try {
    if (window.caches) window.caches.delete(STORAGE_NAMES.snapshots).catch(() => {});
  } catch (e) { /* no Cache Storage here */ }
}

/** The visitor's random pseudonymous id, created on first use. */
export function visitorId(local) {
  let id = local && local.getItem(ID);
  if (!id || !/^[a-f0-9]{32}$/.test(id)) {
    id = randomHex(16);
    if (local) local.setItem(ID, id);
  }
  return id;
}

export const RECORD = STORAGE_NAMES.state;

export function loadRecord(local) {
  try { return local ? local.getItem(RECORD) : null; } catch (e) { return null; }
}

/**
 * Run `task` holding this origin's record lock, so a tab's read-merge-write of the visitor
 * record never interleaves with another tab's (Web Locks; without them, tasks just run: the
 * merge still joins facts, a fact written in the same instant by a tab that then closes
 * could be missed). The lock is given up after `limitMs` even if the task hangs.
 */
export function withRecordLock(task, limitMs) {
  const locks = navigator.locks;
  const bounded = () => Promise.race([task(), new Promise((resolve) => setTimeout(() => resolve(true), limitMs))]);
  if (!locks || typeof locks.request !== "function") return bounded();
  return locks.request(STORAGE_NAMES.lock, bounded);
}

export function saveRecord(local, record) {
  if (local && typeof record === "string") {
    try { local.setItem(RECORD, record); } catch (e) { /* quota: keep going in memory */ }
  }
}

/** Keep events the stored record does not reflect yet; the next page replays them first. */
export function writeJournal(session, unsaved) {
  if (!session) return;
  try {
    if (unsaved.length) session.setItem(STORAGE_NAMES.journal, JSON.stringify(unsaved.slice(-200)));
    else session.removeItem(STORAGE_NAMES.journal);
  } catch (e) { /* storage full or blocked: best effort */ }
}

export function readJournal(session) {
  try {
    const saved = session && JSON.parse(session.getItem(STORAGE_NAMES.journal) || "null");
    return Array.isArray(saved) ? saved : [];
  } catch (e) {
    return []; // unreadable: start clean
  }
}

function b64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** POST the visit's outcome beacon (msgpack, base64 from the worker); best effort, survives unload. */
export function sendOutcome(proxy, outcomeB64) {
  if (!outcomeB64 || !proxy) return;
  const url = new URL(proxy.replace(/\/$/, "") + "/v1/outcome", location.href).href;
  try {
    fetch(url, { method: "POST", body: b64ToBytes(outcomeB64), keepalive: true,
      headers: { "content-type": "application/msgpack" } })
      .catch(() => { /* measurement is best effort */ });
  } catch (e) { /* keepalive quota exceeded */ }
}
