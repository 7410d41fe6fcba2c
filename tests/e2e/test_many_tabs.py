"""One visitor, one truth, in a real browser: tabs of one visitor share every fact, a closed tab
decides nothing on the next page, and a wall clock that steps loses nothing."""

from __future__ import annotations

import time

from e2e_helpers import (
    SECOND,
    be_active,
    card,
    click_in_widget,
    compare_plans,
    decisions_for,
    exit_through_top,
    last_cart_exit,
    leave_cart_page,
    nothing_shown,
    open_page,
    open_tab,
    page_time,
    poll,
    settle,
    wait_ready,
    widget,
)  # fmt: skip


def test_a_purchase_in_one_tab_silences_every_other_tab_today_and_tomorrow(human_browser, site):
    context, a = open_page(human_browser, site, "/site/cart.html")
    b = open_tab(context, site, "/site/cart.html")
    c = open_tab(context, site, "/site/pricing.html")
    a.click("[data-add]")
    a.click("[data-buy]")  # bought in tab A
    settle(a, context.clock)
    b.click("[data-add]")  # still shopping in tab B: a new item, then heading for the tab bar
    leave_cart_page(b, context.clock)
    assert last_cart_exit(b)["reasons"][0] == "converted" and widget(b) is None
    compare_plans(c)  # and comparing plans in tab C
    settle(c, context.clock, 5 * SECOND)
    (compared,) = poll(c, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'pricing_compare')")
    assert compared["action"] == "suppress" and compared["reasons"][0] == "converted" and widget(c) is None
    # Tomorrow, in a new tab, with something in the cart again: no welcome back, no offer.
    context.clock.fast_forward(86400 * SECOND)
    d = open_tab(context, site, "/site/home.html")
    be_active(d, 5, context.clock)
    settle(d, context.clock)
    assert all(x["action"] == "suppress" for x in d.evaluate("tactful.explain().filter(d => !d.earlier)")) and widget(d) is None
    context.close()


def test_a_dismissal_in_one_tab_quiets_all_tabs_for_the_cooldown(human_browser, site):
    context, a = open_page(human_browser, site, "/site/cart.html")
    b = open_tab(context, site, "/site/pricing.html")
    a.click("[data-add]")
    leave_cart_page(a, context.clock)
    assert last_cart_exit(a)["action"] == "intervene"
    click_in_widget(a, "[data-tactful-action=dismiss]")
    settle(a, context.clock)
    context.clock.fast_forward(2 * 3600 * SECOND)  # a new visit, past min_gap, inside the day of quiet
    compare_plans(b)
    settle(b, context.clock, 5 * SECOND)
    (compared,) = poll(b, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'pricing_compare')")
    assert compared["action"] == "suppress" and compared["reasons"] == ["cooldown"] and widget(b) is None
    context.close()


def test_one_intervention_per_visit_across_tabs(human_browser, site):
    context, a = open_page(human_browser, site, "/site/cart.html")
    b = open_tab(context, site, "/site/pricing.html")
    a.click("[data-add]")
    leave_cart_page(a, context.clock)
    assert last_cart_exit(a)["action"] == "intervene"
    compare_plans(b)
    settle(b, context.clock, 5 * SECOND)
    (compared,) = poll(b, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'pricing_compare')")
    assert compared["action"] == "suppress" and "session_cap" in compared["reasons"] and widget(b) is None
    context.close()


def test_the_second_tab_is_ready_and_says_how_fast(human_browser, site):
    context, a = open_page(human_browser, site, "/site/home.html")
    started = time.monotonic()
    b = open_tab(context, site, "/site/pricing.html")
    ready = b.evaluate("tactful.ready")
    print(f"\nsecond tab: tactful.ready after {ready['ms']} ms of page time ({time.monotonic() - started:.2f} s wall)")
    assert ready["enabled"] is True and ready["arm"] == a.evaluate("tactful.ready")["arm"]
    context.close()


def test_a_closed_tab_decides_nothing_on_the_next_page(human_browser, site):
    # Add to cart on a product page, close the tab; a minute later the home page opens in a new tab.
    context, product = open_page(human_browser, site, "/site/product.html")
    product.click("[data-add]")
    settle(product, context.clock)
    product.close()
    context.clock.fast_forward(70 * SECOND)  # the product page's stillness instant falls in between
    home = open_tab(context, site, "/site/home.html")
    be_active(home, 3, context.clock)
    settle(home, context.clock)
    assert home.evaluate("tactful.explain().filter(d => !d.earlier)") == [] and widget(home) is None
    home.close()
    # 40 minutes later: a new visit with the cart still full is a welcome back, not a discount.
    context.clock.fast_forward(40 * 60 * SECOND)
    again = open_tab(context, site, "/site/home.html")
    be_active(again, 5, context.clock)
    settle(again, context.clock)
    (welcome,) = poll(again, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'welcome_back_cart')")
    assert welcome["action"] == "intervene" and card(again).kind == "welcome_back"
    assert decisions_for(again, "cart_exit") == []
    context.close()


def test_a_wall_clock_stepping_back_at_checkout_keeps_the_purchase(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    settle(page, context.clock)
    context.clock.set_system_time(page_time(page, -10 * SECOND))  # the wall clock steps back 10 s
    page.click("[data-buy]")  # on this page: its stamps are monotonic, the step does not touch them
    settle(page, context.clock)
    context.clock.set_system_time(page_time(page, -10 * SECOND))  # and back again before the next page
    page.goto(site.url + "/site/cart.html")  # the next page starts behind the engine's clock
    wait_ready(page)
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    decision = last_cart_exit(page)
    assert decision["action"] == "suppress" and decision["reasons"][0] == "converted" and widget(page) is None
    context.close()


def test_a_wall_clock_stepping_forward_drops_nothing(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    settle(page, context.clock)
    context.clock.set_system_time(page_time(page, 3 * 3600 * SECOND))  # forward three hours, then back
    page.goto(site.url + "/site/home.html")
    wait_ready(page)
    context.clock.set_system_time(page_time(page, -3 * 3600 * SECOND))
    page.goto(site.url + "/site/cart.html")  # this page's events are all "late": applied, never dropped
    wait_ready(page)
    page.click("[data-buy]")
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    assert last_cart_exit(page)["reasons"][0] == "converted"
    context.close()


def test_a_keyboard_only_visitor_gets_the_cart_offer(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    for _ in range(4):  # to the "Add a mug" button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-add')"):
            break
    page.keyboard.press("Enter")
    settle(page, context.clock)
    assert page.text_content("#cart-count") == "1"
    context.clock.fast_forward(61 * SECOND)  # still, on the cart, for a minute
    settle(page, context.clock)
    assert poll(page, "() => tactful.explain().filter(d => !d.earlier).some(d => d.trigger === 'cart_exit' && d.action === 'intervene')")
    assert card(page).kind == "discount"
    assert page.evaluate("document.activeElement.hasAttribute('data-add')")  # focus stayed where it was
    context.close()


def test_a_silent_bot_gets_nothing(human_browser, site):
    # A normal-looking browser (no webdriver flag, an ordinary user agent) driven by script only.
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.evaluate("window.testShop.add(24); window.scrollTo(0, 300)")
    context.clock.fast_forward(70 * SECOND)
    settle(page, context.clock)
    nothing_shown(page)
    context.close()


def test_a_machine_speed_bot_gets_nothing(human_browser, site):
    # Scrolls the pricing page by script, ten times, 10 ms apart; hovers two plans; keeps still.
    context, page = open_page(human_browser, site, "/site/pricing.html")
    for i in range(1, 11):
        page.evaluate("(y) => window.scrollTo(0, y)", i * 211)  # to the end of the page, each one moving it
        page.wait_for_timeout(20)  # let the browser deliver that frame's scroll event
        context.clock.run_for(10)
    page.hover("[data-tactful-hover='tier:pro']")
    page.hover("[data-tactful-hover='tier:team']")
    settle(page, context.clock, 6 * SECOND)
    (compared,) = poll(page, "() => tactful.explain().filter(d => !d.earlier).filter(d => d.trigger === 'pricing_compare')")
    assert compared["action"] == "suppress" and compared["reasons"][0] == "bot" and widget(page) is None
    context.close()


def test_scripted_events_are_not_human_input(human_browser, site):
    # A script dispatching its own mouse and key events (isTrusted false) produces no human input.
    context, page = open_page(human_browser, site, "/site/pricing.html")
    page.evaluate("""() => {
      for (const el of document.querySelectorAll('[data-tactful-hover]')) {
        el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
        el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
      }
      document.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true }));
    }""")
    settle(page, context.clock, 6 * SECOND)
    assert page.evaluate("tactful.explain().filter(d => !d.earlier)") == [] and widget(page) is None
    context.close()


def test_exit_is_still_detected_by_hand(human_browser, site):
    # The control for the bot tests: the same page, a person's pointer, a discount.
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    context.clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    settle(page, context.clock)
    assert last_cart_exit(page)["action"] == "intervene"
    context.close()
