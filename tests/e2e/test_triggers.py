"""Each trigger fires on the behaviour it names, and not on arrival."""

from __future__ import annotations

from e2e_helpers import (
    SECOND,
    be_active,
    card,
    exit_through_top,
    nothing_shown,
    open_page,
    poll,
    settle,
    wait_ready,
    widget,
)  # fmt: skip


def test_cart_exit_not_on_arrival_then_on_exit_after_dwell(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    settle(page, context.clock)
    assert widget(page) is None and page.evaluate("tactful.explain().filter(d => !d.earlier)") == []
    exit_through_top(page)  # too early: less than the minimum dwell
    settle(page, context.clock)
    nothing_shown(page)
    context.clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    shown = poll(page, "() => { const h = document.getElementById('tactful-root'); return h && h.shadowRoot.querySelector('section') && true; }")
    assert shown
    card = widget(page)
    assert card["kind"] == "discount" and card["trigger"] == "cart_exit" and "SAVE10" in card["text"]
    context.close()


def test_a_pointer_drifting_out_slowly_is_not_leaving_and_a_flick_after_a_still_spell_is(human_browser, site):
    # The loader samples the pointer at most ten times a second; the speed on the way out is taken
    # from the latest sample to the moment the pointer leaves.
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    context.clock.fast_forward(9 * SECOND)
    page.mouse.move(500, 60)
    context.clock.run_for(SECOND)
    for y in range(54, -31, -6):  # up and out at 6 px per 100 ms (0.06 px/ms): reaching for the tabs slowly
        page.mouse.move(500, y)
        context.clock.run_for(100)
    settle(page, context.clock)
    nothing_shown(page)
    page.mouse.move(500, 400)
    context.clock.run_for(5 * SECOND)  # still for five seconds: the latest sample is old
    for y in (380, 200, 20, -30):  # then out in 30 ms, shorter than the pointer's rest
        page.mouse.move(500, y)
        context.clock.run_for(10)
    settle(page, context.clock)
    assert card(page).trigger == "cart_exit"
    context.close()


def test_pricing_compare_after_reading_and_hovering_a_tier_twice(human_browser, site):
    context, page = open_page(human_browser, site, "/site/pricing.html")
    page.mouse.move(100, 100)
    page.evaluate("window.scrollTo(0, 0)")
    page.hover("[data-tactful-hover='tier:pro']")
    page.mouse.move(5, 5)
    page.hover("[data-tactful-hover='tier:pro']")
    settle(page, context.clock, 6 * SECOND)
    nothing_shown(page)  # hovered, but not read to the end
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.mouse.move(5, 5)
    page.evaluate("window.scrollTo(0, 0)")
    page.hover("[data-tactful-hover='tier:team']")
    page.mouse.move(5, 5)
    page.hover("[data-tactful-hover='tier:pro']")
    settle(page, context.clock, 5 * SECOND)
    shown = card(page)
    assert shown.kind == "compare"
    text = shown.text
    assert "Pro" in text and "Team" in text
    context.close()


def test_product_questions_after_real_dwell_without_add_to_cart(human_browser, site):
    context, page = open_page(human_browser, site, "/site/product.html")
    context.clock.fast_forward(40 * SECOND)  # time alone: nothing
    nothing_shown(page)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.5)")
    be_active(page, 24, context.clock)
    settle(page, context.clock)
    assert poll(page, "() => tactful.explain().filter(d => !d.earlier).some(d => d.trigger === 'product_questions' && d.action === 'intervene')")
    assert card(page).kind == "questions"
    context.close()


def test_welcome_back_cart_on_a_later_visit(human_browser, site):
    context, page = open_page(human_browser, site, "/site/home.html")
    page.goto(site.url + "/site/cart.html")
    wait_ready(page)
    page.click("[data-add]")
    settle(page, context.clock)
    page.goto(site.url + "/site/home.html")
    wait_ready(page)
    settle(page, context.clock)
    nothing_shown(page)  # same visit: no welcome back
    context.clock.fast_forward(2 * 3600 * SECOND)  # a new visit
    page.goto(site.url + "/site/home.html")
    wait_ready(page)
    be_active(page, 4, context.clock)
    settle(page, context.clock)
    assert poll(page, "() => tactful.explain().filter(d => !d.earlier).some(d => d.trigger === 'welcome_back_cart' && d.action === 'intervene')")
    assert card(page).kind == "welcome_back"
    context.close()


def test_bundle_served_from_another_origin_runs_in_a_blob_worker(human_browser, built_dist):
    from site_server import SiteServer

    with SiteServer(built_dist) as cdn, SiteServer(built_dist, bundle_origin=cdn.url) as shop:
        context, page = open_page(human_browser, shop, "/site/cart.html")
        assert page.evaluate("tactful.config.base").startswith(cdn.url)
        assert "compiled" in page.evaluate("tactful.ready.then(s => s.phases)")  # the wasm compiled early, cross-origin too
        page.click("[data-add]")
        context.clock.fast_forward(9 * SECOND)
        exit_through_top(page)
        settle(page, context.clock)
        assert poll(page, "() => tactful.explain().filter(d => !d.earlier).some(d => d.action === 'intervene')")
        assert any(path.startswith("/tactful/runtime-") for _, path in cdn.requests)
        assert not any(path.startswith("/tactful/") for _, path in shop.requests)
        context.close()


def test_an_event_right_before_navigation_is_not_lost(human_browser, site):
    # The worker dies with the page; the loader's journal carries the cart event to the next page.
    context, page = open_page(human_browser, site, "/site/product.html")
    # Add to cart and leave in the same task: the worker cannot have answered that batch yet.
    journal = page.evaluate(
        "() => { document.querySelector('[data-add]').click(); window.dispatchEvent(new Event('pagehide'));"
        " return JSON.parse(sessionStorage.getItem('tactful:v1:journal')); }"
    )
    assert any(e["type"] == "cart" and e["items"] == 1 for e in journal)
    page.goto(site.url + "/site/cart.html")
    wait_ready(page)
    context.clock.fast_forward(9 * SECOND)
    exit_through_top(page)
    settle(page, context.clock)
    decision = poll(page, "() => tactful.explain().filter(d => !d.earlier).find(d => d.trigger === 'cart_exit')")
    assert decision["action"] == "intervene"
    context.close()
