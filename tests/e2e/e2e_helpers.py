"""Helpers for the browser tests: visitors, polling (CSP-safe), the widget's state."""

from __future__ import annotations

import time
from datetime import UTC, datetime

HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
TREATMENT_ID = "809d4580aaed41565abc38d58f77f840"  # bucket 0.7477 for the demo salt: never in the holdout
SECOND = 1000  # Playwright clock units
HOLDOUT_ID = "a87ff679a2f3e71d9181a67b7542122c"  # bucket < 0.10 for the demo salt


def new_visitor(browser, visitor_id=TREATMENT_ID, **options):
    """A browser context acting as one human visitor with a fixed pseudonymous id."""
    options.setdefault("user_agent", HUMAN_UA)
    options.setdefault("viewport", {"width": 1200, "height": 800})
    context = browser.new_context(**options)
    if visitor_id:
        context.add_init_script(
            f"try {{ if (!localStorage.getItem('tactful:v1:id')) localStorage.setItem('tactful:v1:id', '{visitor_id}'); }} catch (e) {{}}"
        )
    return context


def wait_ready(page, timeout=90.0):
    """Poll tactful.ready (page.wait_for_function is not usable under a strict CSP).

    When a test froze the page's clock (``freeze``), it runs while the engine boots (the loader
    boots in idle time, on timers) and is frozen again once ``ready`` settles.
    """
    clock = page.context.clock
    frozen = getattr(page.context, "_tactful_frozen", False)
    if frozen:
        clock.resume()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            state = page.evaluate("() => window.__tactfulReady || (window.tactful && window.tactful.ready && "
                                  "window.tactful.ready.then(s => (window.__tactfulReady = s)) && null)")
            if state:
                return state
            time.sleep(0.2)
    finally:
        if frozen:
            clock.pause_at(page_time(page))
    raise AssertionError("tactful.ready did not settle")


def poll(page, expression, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {expression}")


def widget(page, selector="section"):
    """The widget's element inside its shadow root, or None."""
    return page.evaluate(
        """(sel) => { const h = document.getElementById('tactful-root'); const s = h && h.shadowRoot && h.shadowRoot.querySelector(sel);
        return s ? {kind: s.dataset.tactfulKind, trigger: s.dataset.tactfulTrigger, text: s.innerText} : null; }""",
        selector,
    )


def exit_through_top(page):
    """The pointer heads up and out of the window, a frame (16 ms of page time) between moves."""
    clock = page.context.clock
    for y in (400, 330, 260, 190, 120, 45, -30):
        page.mouse.move(500, y)
        clock.run_for(16)


def be_active(page, seconds, clock):
    """Move the mouse once a (fake) second: the loader turns that into activity events."""
    for i in range(seconds):
        page.mouse.move(300 + (i % 2) * 40, 300 + (i % 3) * 20)
        clock.fast_forward(SECOND)
    time.sleep(0.3)


def freeze(page, context):
    """Stop the page's clock where it is: from now on time moves only when the test fast-forwards it
    (the worker keeps running in real time, so the engine still answers)."""
    context.clock.pause_at(page_time(page))
    context._tactful_frozen = True


def page_time(page, offset_ms=0):
    """The page's clock as a datetime (Playwright reads a bare number as seconds, not milliseconds)."""
    return datetime.fromtimestamp((page.evaluate("Date.now()") + offset_ms) / 1000, tz=UTC)


def open_page(browser, site, path, **options):
    context = new_visitor(browser, **options)
    context.clock.install()
    page = context.new_page()
    page.goto(site.url + path)
    state = wait_ready(page)
    assert state["enabled"] is True, state
    freeze(page, context)
    return context, page


def settle(page, clock, ms=1500):
    clock.fast_forward(ms)
    time.sleep(0.8)


def leave_cart_page(page, clock):
    clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    settle(page, clock)


def last_cart_exit(page):
    return poll(page, "() => tactful.explain().filter(d => d.trigger === 'cart_exit').pop()")


def click_in_widget(page, selector):
    page.evaluate("(s) => document.getElementById('tactful-root').shadowRoot.querySelector(s).click()", selector)
