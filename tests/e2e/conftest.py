"""Playwright + Debian's Chromium against pages served on loopback."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from server import SiteServer

CHROMIUM = os.environ.get("TACTFUL_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--disable-dev-shm-usage"]  # fmt: skip
HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
TREATMENT_ID = "809d4580aaed41565abc38d58f77f840"  # bucket 0.7477 for the demo salt: never in the holdout
HOLDOUT_ID = "a87ff679a2f3e71d9181a67b7542122c"  # bucket < 0.10 for the demo salt

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Chromium")


@pytest.fixture(scope="session")
def playwright_session():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def human_browser(playwright_session):
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM, args=[*BASE_ARGS, "--disable-blink-features=AutomationControlled"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def robot_browser(playwright_session):
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=BASE_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def site(built_dist):
    with SiteServer(built_dist) as server:
        yield server


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
    """Poll tactful.ready (page.wait_for_function is not usable under a strict CSP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate("() => window.__tactfulReady || (window.tactful && window.tactful.ready && "
                              "window.tactful.ready.then(s => (window.__tactfulReady = s)) && null)")
        if state:
            return state
        time.sleep(0.2)
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
