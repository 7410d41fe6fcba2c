// Calls to the message proxy: short-lived visitor tokens, msgpack bodies, a hard timeout.
// The worker passes base64 strings to and from Python; bytes only exist here.

export const MESSAGE_TIMEOUT_MS = 2500; // a visitor is waiting: after this, the template's words
const KEPT_ATTEMPTS = 7; // retries of a kept request (a lead): about two minutes in all

export function b64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToB64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/**
 * @param {string} base the proxy's URL ("" when none is configured)
 * @param {(b64: string) => string} readToken decodes a /v1/token reply (Python) into JSON text
 * @param {() => string} tokenBody the /v1/token request (base64): this visitor's id, which the token is bound to
 */
export function createProxy(base, readToken, tokenBody) {
  let token = null; // { token, expires }

  async function post(path, bodyB64, bearer) {
    if (!base) throw new Error("no proxy configured");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), MESSAGE_TIMEOUT_MS);
    const headers = { "content-type": "application/msgpack", accept: "application/msgpack" };
    // The token rides in a header, so the proxy limits a visitor before reading the body.
    if (bearer) headers.authorization = "Bearer " + bearer;
    try {
      const response = await fetch(base + path, {
        method: "POST",
        body: b64ToBytes(bodyB64),
        headers,
        signal: controller.signal,
      });
      if (!response.ok) {
        const error = new Error(`${path}: HTTP ${response.status}`);
        error.status = response.status;
        error.retryAfter = Number(response.headers.get("retry-after")) || 0;
        throw error;
      }
      return bytesToB64(new Uint8Array(await response.arrayBuffer()));
    } finally {
      clearTimeout(timer);
    }
  }

  const fresh = () => token && token.expires - 60 >= Date.now() / 1000;

  /** A short-lived signed token from the proxy, bound to this visitor; renewed a minute before it expires. */
  async function visitorToken() {
    if (!fresh()) token = JSON.parse(readToken(await post("/v1/token", tokenBody())));
    return token.token;
  }

  return {
    configured: Boolean(base),
    token: visitorToken,
    /** The token in hand, if it is still fresh ("" otherwise): outcome beacons carry it. */
    known: () => (fresh() ? token.token : ""),
    /** POST a msgpack body (base64) as this visitor; the reply body as base64. */
    async send(path, bodyB64) {
      return post(path, bodyB64, await visitorToken());
    },
    /**
     * The same, kept and retried while the proxy cannot take it (a 503 or 429 while a backend is
     * away, or no answer at all): after `retry-after`, else 1, 2, 4... s, for about two minutes of
     * an open page. A refusal (any other 4xx) is final.
     */
    async sendKept(path, bodyB64, sleep = (ms) => new Promise((done) => setTimeout(done, ms))) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await post(path, bodyB64, await visitorToken());
        } catch (e) {
          const passing = !e.status || e.status === 503 || e.status === 429;
          if (!passing || attempt >= KEPT_ATTEMPTS) throw e;
          await sleep(Math.min(30, e.retryAfter || 2 ** attempt) * 1000);
        }
      }
    },
  };
}
