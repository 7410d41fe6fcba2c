"""Failure is silent for the host page: CSP without wasm, a failing worker, no WebAssembly at all."""

from __future__ import annotations

import base64

from e2e_helpers import (
    new_visitor,
    wait_ready,
)  # fmt: skip
from site_server import SiteServer

from tactful.core import VisitorState

LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) total += e.value; })
    .observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(total), 200);
})"""


def visit(browser, url, init_script=None):
    context = new_visitor(browser)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    errors, warnings = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: warnings.append(msg.text) if "tactful" in msg.text.lower() else None)
    page.goto(url)
    return context, page, errors, warnings


def assert_clean(page, errors, warnings):
    assert errors == []
    assert len(warnings) <= 1
    page.click("[data-add]")  # the page still works
    assert page.text_content("#cart-count") == "1"
    assert page.evaluate(LAYOUT_SHIFT) == 0
    assert page.evaluate("document.getElementById('tactful-root')") is None


def test_strict_csp_on_the_page_alone_still_works(human_browser, site):
    # The loader needs no inline script, eval or style: a 'self'-only page CSP is fine.
    context, page, errors, warnings = visit(human_browser, site.url + "/site/csp.html")
    assert wait_ready(page)["enabled"] is True
    assert errors == [] and warnings == []
    context.close()


def test_csp_without_wasm_unsafe_eval_disables_cleanly(human_browser, built_dist):
    # The CSP also on the bundle: the worker may not compile WebAssembly.
    with SiteServer(built_dist, csp_everywhere=True) as site:
        context, page, errors, warnings = visit(human_browser, site.url + "/site/csp.html")
        state = wait_ready(page, timeout=30)
        assert state["enabled"] is False and state["reason"]
        assert_clean(page, errors, warnings)
        context.close()


def test_a_failing_worker_disables_cleanly(human_browser, site):
    context, page, errors, warnings = visit(human_browser, site.url + "/site/broken.html")
    state = wait_ready(page)
    assert state["enabled"] is False and "playbook" in state["reason"]
    assert_clean(page, errors, warnings)
    context.close()


def test_no_webassembly_means_no_engine_and_no_noise(human_browser, site):
    context, page, errors, warnings = visit(human_browser, site.url + "/site/cart.html", "delete window.WebAssembly;")
    assert wait_ready(page) == {"enabled": False, "reason": "unsupported"}
    assert_clean(page, errors, [])
    assert warnings == []
    context.close()


def test_site_calls_before_boot_are_queued(human_browser, site):
    context = new_visitor(human_browser)
    context.add_init_script(
        "window.tactful = window.tactful || function () { (window.tactful.q = window.tactful.q || []).push(arguments); };"
        "tactful('track', 'newsletter_seen');"
    )
    page = context.new_page()
    page.goto(site.url + "/site/home.html")
    assert wait_ready(page)["enabled"] is True
    page.evaluate("tactful.cart({items: 2, value: 40})")
    assert page.evaluate("() => tactful.settled()") is True
    stored = VisitorState.from_bytes(base64.b64decode(page.evaluate("localStorage.getItem('tactful:v1:state')")))
    # The engine saw the call queued before boot and the direct one, and stored both.
    assert stored.session.tracks == {"newsletter_seen": 1}
    assert stored.cart_items == 2 and stored.cart_value == 40
    context.close()


def test_a_start_that_throws_early_still_settles_ready(human_browser, site):
    # The browser misbehaves before the start-up timeout is even armed: `ready` must not hang.
    throwing = "Object.defineProperty(Navigator.prototype, 'languages', { get() { throw new Error('no languages'); } });"
    context, page, errors, warnings = visit(human_browser, site.url + "/site/cart.html", throwing)
    state = wait_ready(page, timeout=10)
    assert state["enabled"] is False and "no languages" in state["reason"]
    assert_clean(page, errors, warnings)
    context.close()
