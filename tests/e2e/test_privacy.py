"""Only bundle assets, allow-listed message requests and beacons leave the browser."""

from __future__ import annotations

import re

from e2e_helpers import (
    leave_cart_page,
    new_visitor,
    open_page,
    poll,
    settle,
    settled,
    wait_ready,
)  # fmt: skip
from fake_api import FakeApi
from site_server import SiteServer

from tactful.core import MessageRequest, OutcomeBeacon, WireError

# favicon.ico is the browser's own request, not ours.
ALLOWED = re.compile(r"^/(favicon\.ico|site/[\w.-]+|tactful/[\w./-]+|tactful-api/v1/(token|message|reply|lead|outcome))$")
RAW_EVENT_WORDS = (b"exit_intent", b"scroll", b"hover", b"page_view", b"user_agent", b"activity")


def test_no_raw_events_leave_the_browser(human_browser, built_dist):
    api = FakeApi()
    bodies: list[bytes] = []
    with SiteServer(built_dist, api=lambda m, p, b, h: (bodies.append(b), api(m, p, b, h))[1]) as site:
        context, page = open_page(human_browser, site, "/site/cart.html")
        sent = []
        page.on("request", lambda r: sent.append(r.url))
        page.click("[data-add]")
        leave_cart_page(page, context.clock)
        poll(page, "() => document.getElementById('tactful-root')")
        settle(page, context.clock)
        page.goto(site.url + "/site/home.html")  # pagehide sends the outcome beacon
        poll(page, "() => window.tactful && true")
        settle(page, context.clock)
        context.close()
        paths = [path.split("?")[0] for _, path in site.requests]
    assert paths and all(ALLOWED.match(p) for p in paths), [p for p in paths if not ALLOWED.match(p)]
    assert all(u.startswith(site.url) for u in sent)  # nothing from any other origin
    assert not any(isinstance(m, WireError) for _, m in api.received)
    kinds = {type(m) for _, m in api.received}
    assert MessageRequest in kinds and OutcomeBeacon in kinds
    assert not any(word in body for body in bodies for word in RAW_EVENT_WORDS)
    beacon = [m for _, m in api.received if isinstance(m, OutcomeBeacon)][-1]
    assert beacon.intervened and beacon.trigger == "cart_exit" and beacon.arm == "treatment"


# What the engine reads from the client event: the bot weights (user agent, webdriver, headless,
# languages), the GPC rule, and where the record lives. Nothing else about the browser is collected.
CLIENT_FIELDS = {"type", "user_agent", "webdriver", "languages", "headless", "gpc", "storage"}
STAMPS = {"t", "p", "n"}  # the loader's time, page and order stamps on every event
CAPTURE_CLIENT = """
(() => {
  const W = window.Worker; window.__clientSeen = [];
  window.Worker = function (...args) {
    const w = new W(...args); const post = w.postMessage.bind(w);
    w.postMessage = (m) => {
      if (m && m.client) window.__clientSeen.push(Object.keys(m.client));
      for (const e of (m && m.events) || []) if (e.type === 'client') window.__clientSeen.push(Object.keys(e));
      post(m);
    };
    return w;
  };
})();
"""


def test_the_client_event_carries_only_what_the_engine_weighs(human_browser, built_dist):
    with SiteServer(built_dist, api=FakeApi()) as site:
        context = new_visitor(human_browser)
        context.add_init_script(CAPTURE_CLIENT)
        page = context.new_page()
        page.goto(site.url + "/site/cart.html")
        assert wait_ready(page)["enabled"] is True
        settled(page)
        seen = page.evaluate("() => window.__clientSeen")
        context.close()
    assert len(seen) >= 2, seen  # the worker's start-up facts and the event itself
    for keys in seen:
        # a test build marks its own traffic (`test`); a production build has no such field
        assert set(keys) - STAMPS - {"test"} == CLIENT_FIELDS, keys
