"""Leaving on a phone: what Tactful can see there, with real touch input.

A phone has no pointer to leave through the top of the window. What is detected is the flick
back toward the top that brings back the address bar and the tab switcher, after reading a
third of the page; a slow scroll back up to re-read is not leaving. (Switching apps hides the
page: `hidden_for` covers that, tested in the engine; headless Chromium cannot hide a page.)
"""

from __future__ import annotations

import time

from e2e_helpers import PHONE, SECOND, card, freeze, open_page, poll, settle, swipe, widget


def read_down(page):
    page.tap("[data-add]")
    for _ in range(3):  # read down the product page, past a third of it
        swipe(page, 700, 150, 10, 0.03)
        time.sleep(0.3)


def phone_visit(browser, site):
    context, page = open_page(browser, site, "/site/product.html", **PHONE)
    context.clock.fast_forward(9 * SECOND)  # past cart_exit's minimum dwell
    context.clock.resume()  # gestures in real time: the flick is a matter of speed
    return context, page


def test_a_fast_flick_back_up_on_a_phone_is_leaving(human_browser, site):
    context, page = phone_visit(human_browser, site)
    read_down(page)
    swipe(page, 150, 800, 6, 0.016)  # the flick: 650 px in about 100 ms
    time.sleep(0.5)
    freeze(page, context)
    settle(page, context.clock)
    decision = poll(page, "() => tactful.explain().filter(d => !d.earlier).find(d => d.trigger === 'cart_exit')")
    assert decision["action"] == "intervene" and card(page).kind == "discount"
    assert page.evaluate("innerWidth") == 390
    context.close()


def test_scrolling_back_up_slowly_is_reading_not_leaving(human_browser, site):
    context, page = phone_visit(human_browser, site)
    read_down(page)
    for _ in range(4):  # back up a screen, slowly, to re-read a paragraph
        swipe(page, 300, 450, 5, 0.08)
        time.sleep(0.4)
    freeze(page, context)
    settle(page, context.clock)
    assert page.evaluate("tactful.explain().filter(d => !d.earlier)") == [] and widget(page) is None
    context.close()
