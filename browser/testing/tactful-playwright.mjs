// Tactful in your @playwright/test suite: the JavaScript twin of Python's `tactful.testing`.
//
// Serve a TEST BUILD of your bundle (`tactful build --test`; never deploy it), then:
//
//   import { visit } from "./tactful-playwright.mjs";   // copied from dist/testing/
//
//   test("the cart offer", async ({ browser }) => {
//     const shop = await visit(browser, "http://127.0.0.1:8000/cart.html");          // treatment arm
//     await shop.page.click("[data-add]");
//     await shop.advance(9);                                                          // 9 s, no waiting
//     await shop.leave();                                                             // out through the top
//     const card = await shop.expectIntervention("cart_exit");
//     expect(card.kind).toBe("discount");
//     await card.dismiss();
//   });
//
// `visit(browser, url, { arm: "holdout" })` opens a holdout visitor; `expectNoIntervention(trigger)`
// resolves to the reason codes of the suppression. A production bundle ignores the test hooks.

const SECOND = 1000;

// These run in the page (Playwright serialises them): they may use only their argument.
const readyState = () => window.__tactfulReady ||
  (window.tactful && window.tactful.ready && window.tactful.ready.then((s) => (window.__tactfulReady = s)) && null);
const explain = () => window.tactful.explain().filter((d) => !d.earlier); // this page's decisions
const cardShown = () => {
  const root = document.getElementById("tactful-root");
  return !!(root && root.shadowRoot && root.shadowRoot.querySelector("section"));
};
const cardInfo = () => {
  const section = document.getElementById("tactful-root").shadowRoot.querySelector("section");
  const offer = section.querySelector("[data-tactful-offer]");
  return { kind: section.dataset.tactfulKind, trigger: section.dataset.tactfulTrigger, text: section.innerText,
    offer: offer ? offer.dataset.tactfulOffer || null : null };
};
const inCard = (selector) => {
  const root = document.getElementById("tactful-root");
  return !!(root && root.shadowRoot && root.shadowRoot.querySelector(selector));
};
const clickInCard = (selector) => document.getElementById("tactful-root").shadowRoot.querySelector(selector).click();

async function poll(page, fn, arg, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${fn.toString().slice(0, 80)}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** tactful.ready's state, once settled. (It never awaits the page's timers: a frozen clock stops them.) */
export async function waitReady(page, { timeoutMs = 90000 } = {}) {
  return poll(page, readyState, undefined, timeoutMs);
}

async function settled(page) {
  if ((await page.evaluate(() => window.tactful.settled())) !== true) throw new Error("Tactful is not running here");
}

async function freeze(page) {
  for (const ahead of [250, 1000, 4000]) {
    try {
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + ahead);
      return;
    } catch (e) {
      if (!String(e).includes("past")) throw e;
    }
  }
}

/** The card on the page, once it is there, with its controls. */
export async function card(page) {
  await poll(page, cardShown);
  const click = async (selector) => {
    await poll(page, inCard, selector);
    await page.evaluate(clickInCard, selector);
  };
  return { ...(await page.evaluate(cardInfo)), accept: () => click("[data-tactful-action=accept]"),
    dismiss: () => click("[data-tactful-action=dismiss]") };
}

/** An ordinary visitor of `arm` on `url`, with the page's clock in the test's hands. */
export async function visit(browser, url, { arm = "treatment", contextOptions = {} } = {}) {
  const context = await browser.newContext(contextOptions);
  await context.addInitScript((chosen) => { window.__tactfulTest = { arm: chosen, automation: true }; }, arm);
  const page = await context.newPage();
  await page.clock.install();
  await page.goto(url);
  const state = await waitReady(page);
  if (!state.enabled || state.bot || state.arm !== arm) {
    await context.close();
    throw new Error(`not an ordinary ${arm} visitor (a test build? tactful build --test): ${JSON.stringify(state)}`);
  }
  await freeze(page);
  let checked = 0; // decisions an expect* call has already judged
  const decisions = async (trigger, since = 0) =>
    (await page.evaluate(explain)).slice(since).filter((d) => !trigger || d.trigger === trigger);
  const judged = async () => { checked = (await decisions()).length; };
  const shop = {
    page, context, arm, decisions,
    async advance(seconds) { await page.clock.fastForward(Math.round(seconds * SECOND)); await settled(page); },
    async leave() {
      for (const y of [400, 330, 260, 190, 120, 45, -30]) { await page.mouse.move(500, y); await page.clock.runFor(16); }
      await settled(page);
    },
    async expectIntervention(trigger, { within = 30 } = {}) {
      for (let i = 0; i <= within; i++) {
        if ((await decisions(trigger, checked)).some((d) => d.action === "intervene")) { await judged(); return card(page); }
        await shop.advance(1);
      }
      const last = (await decisions(trigger)).pop();
      throw new Error(`${trigger} did not intervene within ${within} s` + (last ? `: ${last.reasons}` : ""));
    },
    async expectNoIntervention(trigger, { within = 0 } = {}) {
      if (within) await shop.advance(within); else await settled(page);
      const fresh = await decisions(trigger, checked);
      await judged();
      if (fresh.some((d) => d.action === "intervene") || (await page.evaluate(cardShown))) {
        throw new Error(`${trigger || "a card"} was shown`);
      }
      return fresh.length ? fresh[fresh.length - 1].reasons : [];
    },
    close: () => context.close(),
  };
  return shop;
}
