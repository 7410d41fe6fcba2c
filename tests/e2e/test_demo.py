"""As a newcomer would: ./run demo, open the shop, and watch Tactful behave."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest
from e2e_helpers import (
    SECOND,
    exit_through_top,
    last_cart_exit,
    new_visitor,
    nothing_shown,
    poll,
    settle,
    wait_ready,
    widget,
)
from loopback import free_port

SHOWN = "() => { const h = document.getElementById('tactful-root'); return !!(h && h.shadowRoot.querySelector('section')); }"


@pytest.fixture()
def demo(root, built_dist, tmp_path):
    port = free_port()
    log = open(tmp_path / "demo.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(root / "run"), "demo", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--dist", str(built_dist)],
        cwd=root, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(url + "/tactful-api/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "demo.log").read_text()
            time.sleep(0.3)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(20)
        log.close()
    process.output = (tmp_path / "demo.log").read_text()


def test_newcomer_sees_the_offer_applies_it_buys_and_is_left_alone(human_browser, demo):
    url, process = demo
    context = new_visitor(human_browser)
    context.clock.install()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/p/trail-boots.html")
    wait_ready(page)
    page.click("[data-add]")
    page.click("a[href='/cart.html']")
    assert wait_ready(page)["enabled"] is True
    assert page.text_content("[data-cart-count]") == "1"
    settle(page, context.clock)
    nothing_shown(page)  # not on arrival
    context.clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    poll(page, SHOWN)
    card = widget(page)
    assert card["kind"] == "discount" and "SAVE10" in card["text"]
    offer = page.evaluate("document.getElementById('tactful-root').shadowRoot.querySelector('[data-tactful-offer]').textContent")
    assert offer == "10% off everything in the cart · code SAVE10"  # the playbook's facts, not model words
    # The words came from the proxy on the shop's own origin (its origin is configured, not guessed).
    assert 'tactful_messages_total{source="template"} 1' in httpx.get(url + "/tactful-api/metrics").text
    page.evaluate("document.getElementById('tactful-root').shadowRoot.querySelector('[data-tactful-action=accept]').click()")
    assert poll(page, "() => !document.getElementById('cart-discount').hidden")
    assert "SAVE10" in page.text_content("#cart-discount")
    assert page.text_content("#cart-total") == "€116.10"  # 129 less 10%

    page.click("#checkout-link")
    wait_ready(page)
    visitor = page.evaluate("tactful.visitorId()")  # the id the checkout form hands the shop's server
    assert len(visitor) == 32 and page.input_value("input[data-tactful-visitor]") == visitor
    page.click("[data-place-order]")
    page.wait_for_url("**/thanks.html")
    wait_ready(page)
    assert page.text_content("#order-total") == "€116.10"
    settle(page, context.clock)

    # Still shopping after buying: no more interventions.
    page.goto(url + "/p/enamel-mug.html")
    wait_ready(page)
    page.click("[data-add]")
    page.goto(url + "/cart.html")
    wait_ready(page)
    context.clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    settle(page, context.clock)
    assert last_cart_exit(page)["reasons"][0] == "converted" and widget(page) is None

    # Back two days later: none again.
    context.clock.fast_forward(2 * 86400 * SECOND)
    page.goto(url + "/cart.html")
    wait_ready(page)
    page.mouse.move(300, 300)
    context.clock.fast_forward(10 * SECOND)
    exit_through_top(page)
    settle(page, context.clock)
    decisions = page.evaluate("tactful.explain().filter(d => !d.earlier)")
    assert decisions and all(d["action"] == "suppress" and d["reasons"][0] == "converted" for d in decisions)
    nothing_shown(page)
    page.goto(url + "/")  # the visit's outcome beacon goes out on pagehide
    report = httpx.get(url + "/report", timeout=10).text
    assert "Does the agent pay?" in report and "SYNTHETIC" not in report
    # The shop's server confirmed the order; the visit's beacon came with a token bound to the visitor.
    assert "purchases confirmed by the shop&#x27;s server" in report
    assert "Not enough evidence yet: no holdout visitor has been eligible so far." in report
    assert "Beacons refused: none" in report
    context.close()
    assert errors == []


def test_ctrl_c_stops_the_demo_cleanly(demo):
    url, process = demo
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
