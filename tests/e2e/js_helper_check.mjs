// Drives dist/testing/tactful-playwright.mjs as a site owner's @playwright/test suite would (with
// playwright-core and Debian's Chromium here): a treated visitor gets the cart offer, a holdout
// visitor is logged, not shown. Prints one JSON line for the pytest test that runs it.
import { chromium } from "playwright-core";

const [helperPath, url] = process.argv.slice(2);
const { visit } = await import(helperPath);
const browser = await chromium.launch({
  executablePath: process.env.TACTFUL_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  const shop = await visit(browser, url);
  await shop.page.click("[data-add]");
  await shop.advance(9);
  await shop.leave();
  const card = await shop.expectIntervention("cart_exit", { within: 2 });
  await card.dismiss();
  await shop.close();
  const held = await visit(browser, url, { arm: "holdout" });
  await held.page.click("[data-add]");
  await held.advance(9);
  await held.leave();
  const reasons = await held.expectNoIntervention("cart_exit");
  await held.close();
  console.log(JSON.stringify({ treatment: { kind: card.kind, offer: card.offer }, holdout: reasons }));
} finally {
  await browser.close();
}
