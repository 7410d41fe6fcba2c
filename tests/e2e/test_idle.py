"""An open page sends time when the engine says a threshold is due, not on a fixed tick: an idle
tab costs the host page (a lock, a storage read, a message, a worker turn) a few times a minute,
and a stillness trigger still fires at its instant.

Time passes here as it does for a visitor: a fake second at a time, and each second's work (a
batch under the record lock, the worker's answer) finishes before the next second starts. (One
long `clock.run_for` would fire every timer inside one task, and the loader would fold them all
into a single batch: that measures nothing.)"""

from __future__ import annotations

from e2e_helpers import SECOND, freeze, new_visitor, poll, settle, wait_ready, widget

# Every batch the loader posts to the worker (its `now`), and the record-lock requests still open.
WATCH = """
window.__idle = { batches: [], open: 0 };
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (msg, ...rest) {
  if (msg && msg.type === "batch") window.__idle.batches.push(msg.now);
  return post.call(this, msg, ...rest);
};
if (window.LockManager) {
  const request = LockManager.prototype.request;
  LockManager.prototype.request = function (...args) {
    window.__idle.open += 1;
    const done = () => { window.__idle.open -= 1; };
    const held = request.apply(this, args);
    held.then(done, done);
    return held;
  };
}
"""


def watched_cart_page(browser, site):
    context = new_visitor(browser)
    context.add_init_script(WATCH)
    context.clock.install()
    page = context.new_page()
    page.goto(site.url + "/site/cart.html")
    assert wait_ready(page)["enabled"] is True
    freeze(page, context)
    return context, page


def let_pass(page, clock, ms):
    """``ms`` of page time, then wait (in real time) until the loader has no batch in flight."""
    clock.run_for(ms)
    poll(page, "() => window.__idle.open === 0")


def batches(page):
    return page.evaluate("window.__idle.batches.length")


def test_a_stillness_trigger_fires_at_its_instant_without_a_tick(human_browser, site):
    context, page = watched_cart_page(human_browser, site)
    page.click("[data-add]")  # the last interaction: cart_exit's idle_for >= 60 is due 60 s after it
    clicked = page.evaluate("Date.now()")  # the page's clock is frozen: the click's own instant
    settle(page, context.clock)
    for _ in range(58):
        let_pass(page, context.clock, SECOND)
    let_pass(page, context.clock, clicked + 60 * SECOND + 20 - page.evaluate("Date.now()"))
    # No sync point asked for it: the loader woke at the instant the engine named. (A 15 s
    # heartbeat alone would decide it up to 15 s later.)
    decided = page.evaluate("tactful.explain().filter(d => d.trigger === 'cart_exit').map(d => d.t)")
    assert decided and abs(decided[0] * 1000 - (clicked + 60 * SECOND)) < 5, decided
    assert poll(page, "() => !!document.getElementById('tactful-root')") and widget(page)["trigger"] == "cart_exit"
    context.close()


def test_an_idle_page_sends_a_few_batches_a_minute_not_one_a_second(human_browser, site):
    context, page = watched_cart_page(human_browser, site)
    page.mouse.move(200, 200)  # one interaction, nothing in the cart: nothing will be shown
    settle(page, context.clock)
    before = batches(page)
    for _ in range(120):
        let_pass(page, context.clock, SECOND)
    sent = batches(page) - before
    # Two idle minutes: eight heartbeats and a wake-up at the one threshold due (idle_for 60 s,
    # a leaf that flips even with an empty cart). A tick every second would be 120.
    assert 2 <= sent <= 12, sent
    context.close()
