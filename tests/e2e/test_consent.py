"""Privacy in a real browser: every storage write and every request is recorded.

With consent required and not given, Tactful writes nothing and asks for nothing beyond its
loader; after consent it does exactly what the generated data inventory lists; after consent is
withdrawn nothing of it is left; in session-only mode nothing outlives the tab; and a browser
with Global Privacy Control sends no outcome beacon and is never asked for an e-mail.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from e2e_helpers import (
    HUMAN_UA,
    SECOND,
    TREATMENT_ID,
    be_active,
    card,
    freeze,
    leave_cart_page,
    new_visitor,
    poll,
    settled,
    wait_ready,
    widget,
)
from fake_api import FakeApi
from site_server import SiteServer

from tactful.core import STORAGE_NAMES, inventory

# Every write to Web Storage and every Cache Storage opened, as the page's scripts make them.
RECORDER = """
window.__writes = [];
for (const name of ["setItem", "removeItem", "clear"]) {
  const original = Storage.prototype[name];
  Storage.prototype[name] = function (...args) {
    window.__writes.push([this === window.localStorage ? "localStorage" : "sessionStorage", name, args[0]]);
    return original.apply(this, args);
  };
}
"""
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });"
LISTED = inventory()


@pytest.fixture()
def api_site(built_dist):
    api = FakeApi()
    with SiteServer(built_dist, api=api) as server:
        server.fake = api
        yield server


def visit(browser, site, path, visitor_id=None, init=(RECORDER,)):
    """A person's browser (no stored id unless ``visitor_id``), recording writes and requests."""
    context = new_visitor(browser, visitor_id=visitor_id, user_agent=HUMAN_UA)
    for script in init:
        context.add_init_script(script)
    context.clock.install()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(urlsplit(request.url).path))
    context.on("request", lambda request: requests.append(urlsplit(request.url).path))  # the worker's too
    page.goto(site.url + path)
    return context, page, requests


def ours(page):
    """Tactful's keys in this origin's Web Storage, and its caches."""
    return page.evaluate(f"""async () => {{
        const keys = (store) => Object.keys(store).filter((k) => k.startsWith({STORAGE_NAMES["prefix"]!r})).sort();
        const caches = self.caches ? (await self.caches.keys()).filter((k) => k.startsWith("tactful")) : [];
        return {{ localStorage: keys(localStorage), sessionStorage: keys(sessionStorage), caches }};
    }}""")


def tactful_writes(page):
    """Writes to Tactful's keys (the shop keeps its own cart in localStorage too)."""
    return [w for w in page.evaluate("window.__writes") if str(w[2]).startswith(STORAGE_NAMES["prefix"])]


def tactful_requests(requests):
    return sorted({path for path in requests if path.startswith(("/tactful/", "/tactful-api/"))})


def allowed_writes(mode):
    return {(item["place"], item["key"]) for item in LISTED["browser_storage"] if mode in item["modes"]}


def test_consent_required_and_not_given_means_nothing_stored_sent_or_started(human_browser, api_site):
    context, page, requests = visit(human_browser, api_site, "/site/consent.html")
    page.click("[data-add]")  # the visitor shops...
    page.mouse.move(400, 300)
    context.clock.fast_forward(90 * SECOND)  # ...for a minute and a half
    page.mouse.move(500, -20)
    context.clock.fast_forward(5 * SECOND)
    assert page.evaluate("tactful.consent()") == "required"
    assert tactful_writes(page) == []
    assert ours(page) == {"localStorage": [], "sessionStorage": [], "caches": []}
    assert tactful_requests(requests) == ["/tactful/tactful.js"]  # the loader, and nothing it asks for
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # hiding the page sends nothing
    assert not [path for path in requests if path.startswith("/tactful-api/")]
    context.close()


def test_after_consent_exactly_what_the_inventory_lists(human_browser, api_site):
    context, page, requests = visit(human_browser, api_site, "/site/consent.html")
    page.click("[data-add]")  # before consent: kept in memory
    assert page.evaluate("tactful.consent(true)") == "granted"
    assert wait_ready(page)["enabled"] is True
    freeze(page, context)
    settled(page)
    written = {(place, key) for place, op, key in tactful_writes(page) if op == "setItem"}
    assert written and written <= allowed_writes("granted"), written - allowed_writes("granted")
    assert ("localStorage", STORAGE_NAMES["id"]) in written and ("localStorage", STORAGE_NAMES["state"]) in written
    stored = page.evaluate(f"localStorage.getItem({STORAGE_NAMES['state']!r})")
    assert stored  # the engine saw the add to cart made before consent
    listed_paths = {"/tactful-api" + r["path"] for r in LISTED["requests"]}
    api = {path for path in requests if path.startswith("/tactful-api/")}
    assert api <= listed_paths, api - listed_paths
    context.close()


def test_withdrawing_consent_leaves_nothing_behind(human_browser, api_site):
    context, page, _ = visit(human_browser, api_site, "/site/consent.html")
    page.evaluate("tactful.consent(true)")
    wait_ready(page)
    freeze(page, context)
    page.click("[data-add]")
    settled(page)
    assert ours(page)["localStorage"] == sorted([STORAGE_NAMES["id"], STORAGE_NAMES["state"]])
    page.evaluate("window.sessionStorage.setItem('shop:own', '1'); localStorage.setItem('shop:own', '1')")
    assert page.evaluate("tactful.consent(false)") == "refused"
    left = poll(page, """async () => { const c = self.caches ? (await caches.keys()).filter(k => k.startsWith('tactful')) : [];
        return c.length === 0 && Object.keys(localStorage).every(k => !k.startsWith('tactful:')) && 'gone'; }""")
    assert left == "gone" and ours(page) == {"localStorage": [], "sessionStorage": [], "caches": []}
    assert page.evaluate("localStorage.getItem('shop:own') === '1' && sessionStorage.getItem('shop:own') === '1'")
    assert page.evaluate("tactful.consent()") == "refused" and page.evaluate("() => tactful.settled()") is False
    context.close()


def test_session_only_mode_keeps_nothing_beyond_the_tab(human_browser, api_site):
    context, page, _ = visit(human_browser, api_site, "/site/session.html")
    assert wait_ready(page)["enabled"] is True
    freeze(page, context)
    page.click("[data-add]")
    settled(page)
    written = {(place, key) for place, op, key in tactful_writes(page) if op == "setItem"}
    assert written and written <= allowed_writes("session"), written - allowed_writes("session")
    assert ours(page)["localStorage"] == []
    assert ours(page)["sessionStorage"] == sorted([STORAGE_NAMES["id"], STORAGE_NAMES["state"]])
    context.close()


def test_global_privacy_control_sends_no_beacon_and_asks_for_no_email(human_browser, api_site):
    context, page, requests = visit(human_browser, api_site, "/site/cart.html", visitor_id=TREATMENT_ID,
                                    init=(GPC, RECORDER))  # fmt: skip
    assert wait_ready(page)["enabled"] is True
    freeze(page, context)
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    assert card(page).kind == "discount"  # words still travel
    page.goto(api_site.url + "/site/article.html")  # the page is hidden: a beacon would go now
    wait_ready(page)
    freeze(page, context)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.8)")
    be_active(page, 50, context.clock)
    settled(page)
    lead = poll(page, "() => tactful.explain().filter(d => !d.earlier).find(d => d.trigger === 'longform_lead')")
    assert lead["action"] == "suppress" and lead["reasons"][0] == "privacy" and widget(page) is None
    sent = [path for path, _ in api_site.fake.received]
    assert "/v1/outcome" not in sent and "/v1/lead" not in sent and "/v1/message" in sent
    context.close()
