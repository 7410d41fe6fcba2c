"""Helpers for the browser tests: visitors, polling (CSP-safe), the widget's state."""

from __future__ import annotations

import time

# The plugin's own helpers, where they fit: our suite is a site owner's suite too.
from tactful.testing import card, freeze, page_time, poll, settled, wait_ready  # noqa: F401 - re-exported
from tactful.testing import leave_through_top as exit_through_top

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


def widget(page, selector="section"):
    """The widget's element inside its shadow root, or None."""
    return page.evaluate(
        """(sel) => { const h = document.getElementById('tactful-root'); const s = h && h.shadowRoot && h.shadowRoot.querySelector(sel);
        return s ? {kind: s.dataset.tactfulKind, trigger: s.dataset.tactfulTrigger, text: s.innerText} : null; }""",
        selector,
    )


def be_active(page, seconds, clock):
    """Move the mouse once a (fake) second: the loader turns that into activity events."""
    for i in range(seconds):
        page.mouse.move(300 + (i % 2) * 40, 300 + (i % 3) * 20)
        clock.fast_forward(SECOND)
    settled(page)


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
    """Let ``ms`` of page time pass, then wait until the worker has decided all of it."""
    clock.fast_forward(ms)
    settled(page)


def nothing_shown(page):
    """After the sync point: no intervention decided, and no card on the page."""
    settled(page)
    shown = page.evaluate("() => tactful.explain().filter(d => !d.earlier).filter(d => d.action === 'intervene')")
    assert shown == [] and widget(page) is None, shown


def leave_cart_page(page, clock):
    clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    settle(page, clock)


def last_cart_exit(page):
    return poll(page, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'cart_exit').pop()")


def click_in_widget(page, selector):
    """Click ``selector`` in the card, once the card shows it (words may still be on their way)."""
    find = "document.getElementById('tactful-root') && document.getElementById('tactful-root').shadowRoot.querySelector"
    poll(page, f"() => !!({find}({selector!r}))")
    page.evaluate(f"(s) => {find}(s).click()", selector)


def open_tab(context, site, path):
    """Another tab of the same visitor (same context: same storage, same clock)."""
    page = context.new_page()
    page.goto(site.url + path)
    state = wait_ready(page)
    assert state["enabled"] is True, state
    return page


def compare_plans(page):
    """On the pricing page: read to the end, hover two plans (the pricing_compare behaviour)."""
    page.mouse.move(100, 100)
    page.mouse.wheel(0, 5000)  # a person's scroll: the wheel
    page.context.clock.run_for(300)
    page.hover("[data-tactful-hover='tier:pro']")
    page.context.clock.run_for(400)
    page.mouse.move(5, 5)
    page.context.clock.run_for(400)
    page.hover("[data-tactful-hover='tier:team']")
    page.context.clock.run_for(400)


def decisions_for(page, trigger):
    return page.evaluate("(t) => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === t)", trigger)


PHONE = {
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}


def swipe(page, y0, y1, steps, pause):
    """A finger on the screen from y0 to y1 (real touch events through the DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 200, "y": y0}]})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": 200, "y": y0 + (y1 - y0) * i / steps}]})  # fmt: skip
        time.sleep(pause)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
