"""A site owner's "why didn't it show?": tactful.whyNot() and the ?tactful_debug=1 overlay."""

from __future__ import annotations

from e2e_helpers import SECOND, click_in_widget, leave_cart_page, open_page, poll, settle, wait_ready


def overlay(trigger: str) -> str:
    """The overlay's section for ``trigger`` ({status, text}), once it is drawn."""
    return f"""() => {{
      const host = document.getElementById('tactful-debug');
      const section = host && host.shadowRoot.querySelector('[data-tactful-debug-trigger="{trigger}"]');
      return section ? {{ status: section.dataset.status, text: section.textContent }} : null;
    }}"""


def test_why_not_explains_a_waiting_trigger_then_a_dismissed_one(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html?tactful_debug=1")
    page.mouse.move(600, 500)  # a person's input (without any, the visit would be a bot's: blocked)
    page.dispatch_event("[data-add]", "click")  # the overlay may lie over the button: it is the site owner's view
    settle(page, context.clock)
    report = page.evaluate("tactful.whyNot()")
    cart = next(t for t in report["triggers"] if t["trigger"] == "cart_exit")
    assert cart["status"] == "waiting" and report["arm"] == "treatment" and report["page_kind"] == "cart"
    assert {c["signal"]: c["holds"] for c in cart["conditions"]}["cart_items"] is True
    # The overlay shows the same, live, with each condition and its value.
    context.clock.fast_forward(1 * SECOND)
    shown = poll(page, overlay("cart_exit"))
    assert shown["status"] == "waiting" and "✓ cart_items >= 1 (now 1)" in shown["text"]
    assert "✗ idle_for >= 60" in shown["text"]
    # The card appears and is dismissed: now the overlay says what blocks it, and until when.
    leave_cart_page(page, context.clock)
    click_in_widget(page, "[data-tactful-action=dismiss]")
    settle(page, context.clock)
    page.reload()
    wait_ready(page)
    settle(page, context.clock)
    context.clock.fast_forward(2 * SECOND)
    blocked = poll(page, overlay("cart_exit"))
    cart = next(t for t in page.evaluate("tactful.whyNot()")["triggers"] if t["trigger"] == "cart_exit")
    assert cart["status"] == "blocked" and [g["code"] for g in cart["gates"]] == ["session_cap", "min_gap", "cooldown"]
    assert "cooldown in 23 h 59 min" in blocked["text"] and "min_gap in 59 min" in blocked["text"]
    # A new page, the same visit: explain() still has the card shown before the reload, with a
    # readable time and the condition that fired it; the overlay lists it under "This visit".
    (earlier,) = [d for d in page.evaluate("tactful.explain()") if d["trigger"] == "cart_exit"]
    assert earlier["action"] == "intervene" and earlier["url"] == "/site/cart.html" and earlier["earlier"] is True
    assert earlier["because"] and earlier["because"][0] == "cart_items >= 1" and len(earlier["because"]) == 2
    assert earlier["why"].startswith("shown, because cart_items >= 1 and ") and earlier["at"].endswith(" UTC")
    visit = poll(page, """() => { const s = document.getElementById('tactful-debug').shadowRoot
        .querySelector('[data-tactful-debug-visit]'); return s && s.textContent.includes('cart_exit') && s.textContent; }""")
    assert "/site/cart.html cart_exit: shown, because cart_items >= 1" in visit
    context.close()


def test_the_reset_button_forgets_this_browser(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html", visitor_id=None)  # a random id
    first = page.evaluate("tactful.visitorId()")
    page.evaluate("tactful.debug()")
    button = "document.getElementById('tactful-debug')?.shadowRoot.querySelector('[data-tactful-action=reset]')"
    poll(page, f"() => !!{button}")
    with page.expect_navigation():
        page.evaluate(f"{button}.click()")
    wait_ready(page)
    assert page.evaluate("tactful.visitorId()") not in (None, first)
    context.close()
