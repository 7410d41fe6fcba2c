"""Gates in a real browser: dismiss → cooldown, converted → silence, holdout, automated browsers."""

from __future__ import annotations

from e2e_helpers import (
    HOLDOUT_ID,
    SECOND,
    click_in_widget,
    last_cart_exit,
    leave_cart_page,
    nothing_shown,
    open_page,
    settle,
    wait_ready,
    widget,
)  # fmt: skip


def test_dismiss_then_cooldown_on_the_next_visit(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    assert last_cart_exit(page)["action"] == "intervene"
    click_in_widget(page, "[data-tactful-action=dismiss]")
    settle(page, context.clock)
    assert widget(page) is None  # the dismissed card is gone
    context.clock.fast_forward(2 * 3600 * SECOND)  # a new visit, past min_gap, inside the cooldown
    page.goto(site.url + "/site/cart.html")
    wait_ready(page)
    leave_cart_page(page, context.clock)
    decision = last_cart_exit(page)
    assert decision["action"] == "suppress" and "cooldown" in decision["reasons"]
    nothing_shown(page)
    context.close()


def test_converted_visitor_is_not_greeted_on_a_later_visit(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    page.click("[data-buy]")
    settle(page, context.clock)
    context.clock.fast_forward(3 * 86400 * SECOND)
    page.goto(site.url + "/site/cart.html")
    wait_ready(page)
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    decision = last_cart_exit(page)
    assert decision["action"] == "suppress" and decision["reasons"][0] == "converted"
    nothing_shown(page)
    context.close()


def test_holdout_visitor_sees_nothing_but_is_logged(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html", visitor_id=HOLDOUT_ID)
    assert page.evaluate("tactful.ready").get("arm") == "holdout"
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    decision = last_cart_exit(page)
    assert decision["reasons"] == ["holdout"] and decision["eligible"] is True
    nothing_shown(page)
    context.close()


def test_an_automated_browser_gets_no_intervention(robot_browser, site):
    context = robot_browser.new_context()  # HeadlessChrome user agent, navigator.webdriver = true
    context.clock.install()
    page = context.new_page()
    page.goto(site.url + "/site/cart.html")
    ready = wait_ready(page)
    assert ready["enabled"] is True and ready["bot"] is True  # said honestly, up front
    assert page.evaluate("navigator.webdriver") is True
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    decision = last_cart_exit(page)
    assert decision["action"] == "suppress" and decision["reasons"][0] == "bot"
    nothing_shown(page)
    context.close()
