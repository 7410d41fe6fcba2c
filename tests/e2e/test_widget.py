"""The widget: offer apply, lead form, chat, keyboard, focus, phone screens, model words and fallbacks."""

from __future__ import annotations

import pytest
from e2e_helpers import (
    SECOND,
    be_active,
    card,
    click_in_widget,
    exit_through_top,
    leave_cart_page,
    open_page,
    poll,
    settle,
    widget,
)  # fmt: skip
from fake_api import MODEL_WORDS, FakeApi
from site_server import SiteServer

SHOWN = "() => { const h = document.getElementById('tactful-root'); return !!(h && h.shadowRoot.querySelector('section')); }"


@pytest.fixture()
def api_site(built_dist):
    api = FakeApi()
    with SiteServer(built_dist, api=api) as server:
        server.fake = api
        yield server


def show_offer(browser, site, **options):
    context, page = open_page(browser, site, "/site/cart.html", **options)
    page.click("[data-add]")
    leave_cart_page(page, context.clock)
    poll(page, SHOWN)
    return context, page


def test_proxy_down_falls_back_to_the_template(human_browser, site):
    context, page = show_offer(human_browser, site)
    assert "Take 10% off your cart with code SAVE10" in card(page).text
    context.close()


def test_a_slow_proxy_falls_back_to_the_template(human_browser, built_dist):
    with SiteServer(built_dist, api=FakeApi(delay=4.0)) as slow:
        context, page = show_offer(human_browser, slow)
        assert "Take 10% off your cart with code SAVE10" in card(page).text
        assert MODEL_WORDS not in card(page).text
        context.close()


def test_proxy_words_are_shown_when_it_answers(human_browser, api_site):
    context, page = show_offer(human_browser, api_site)
    assert MODEL_WORDS in card(page).text
    (request,) = [m for p, m in api_site.fake.received if p == "/v1/message"]
    assert request.trigger == "cart_exit" and request.offer == "cart10" and request.page_kind == "cart"
    context.close()


def test_apply_offer_fires_the_event(human_browser, site):
    context, page = show_offer(human_browser, site)
    click_in_widget(page, "[data-tactful-action=accept]")
    applied = poll(page, "() => window.testShop.applied[0]")
    assert applied["code"] == "SAVE10" and applied["percent"] == 10 and applied["trigger"] == "cart_exit"
    assert "Code SAVE10 applied" in card(page).text  # confirmed inside the card...
    settle(page, context.clock, 5 * SECOND)
    assert widget(page) is None  # ...which then closes
    context.close()


def test_keyboard_reaches_the_widget_and_escape_dismisses(human_browser, site):
    context, page = show_offer(human_browser, site)
    for _ in range(15):
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => { const h = document.getElementById('tactful-root'); const a = h.shadowRoot.activeElement;"
            " return document.activeElement === h && a ? a.getAttribute('data-tactful-action') : null; }"
        )
        if inside:
            break
    assert inside in ("accept", "dismiss")
    page.keyboard.press("Escape")
    assert poll(page, "() => !document.getElementById('tactful-root').shadowRoot.querySelector('section')")
    context.close()


def test_focus_is_not_stolen_from_a_field_being_typed_in(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html")
    page.click("[data-add]")
    context.clock.fast_forward(9 * SECOND)
    page.click("#coupon")
    page.keyboard.type("HELLO")
    exit_through_top(page)
    settle(page, context.clock)
    poll(page, SHOWN)
    page.keyboard.type("123")
    page.keyboard.press("Escape")  # the visitor's own field: Escape is theirs
    assert page.evaluate("document.activeElement.id") == "coupon"
    assert page.input_value("#coupon") == "HELLO123"
    assert widget(page) is not None
    context.close()


def test_the_widget_fits_a_phone_screen(human_browser, site):
    # On a phone the cart offer comes from stillness on the cart page (no pointer to leave with).
    context, page = open_page(human_browser, site, "/site/cart.html", viewport={"width": 360, "height": 640},
                              has_touch=True, is_mobile=True)  # fmt: skip
    page.tap("[data-add]")
    settle(page, context.clock, 61 * SECOND)
    poll(page, SHOWN)
    box = page.evaluate(
        "() => { const r = document.getElementById('tactful-root').shadowRoot.querySelector('section').getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"
    )
    assert box["left"] >= 0 and box["right"] <= 360 and box["top"] >= 0 and box["bottom"] <= 640
    context.close()


LEAD_FORM = "document.getElementById('tactful-root').shadowRoot.querySelector('form[data-tactful-form=lead]')"


def show_lead_form(browser, site):
    context, page = open_page(browser, site, "/site/article.html")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.8)")
    be_active(page, 50, context.clock)
    settle(page, context.clock)
    poll(page, SHOWN)
    assert card(page).kind == "lead"
    return context, page


def test_lead_form_submits_to_the_proxy(human_browser, api_site):
    context, page = show_lead_form(human_browser, api_site)
    page.evaluate(f"() => {{ const f = {LEAD_FORM}; f.querySelector('input[type=email]').value = 'ada@example.com';"
                  " f.querySelector('button[type=submit]').click(); }")  # fmt: skip
    # Consent is a box the visitor ticks: without it the card's own message stops the form.
    assert "Please tick the box" in card(page).text
    assert not [m for p, m in api_site.fake.received if p == "/v1/lead"]
    page.evaluate(f"() => {{ const f = {LEAD_FORM}; f.querySelector('input[name=consent]').checked = true; f.requestSubmit(); }}")
    assert poll(page, "() => document.getElementById('tactful-root').shadowRoot.innerHTML.includes('You are on the list')")
    (lead,) = [m for p, m in api_site.fake.received if p == "/v1/lead"]
    assert lead.email == "ada@example.com" and lead.trigger == "longform_lead" and lead.consent is True
    context.close()


def test_a_lead_the_proxy_cannot_take_yet_is_kept_and_sent_again(human_browser, api_site):
    # The proxy's store is away: it answers 503 with retry-after. The worker keeps the lead and
    # sends it again until it is stored.
    api_site.fake.leads_unavailable = 2
    context, page = show_lead_form(human_browser, api_site)
    page.evaluate(f"() => {{ const f = {LEAD_FORM}; f.querySelector('input[type=email]').value = 'ada@example.com';"
                  " f.querySelector('input[name=consent]').checked = true; f.requestSubmit(); }")  # fmt: skip
    assert poll(page, "() => document.getElementById('tactful-root').shadowRoot.innerHTML.includes('You are on the list')")
    attempts = [p for p, _ in api_site.fake.received if p.startswith("/v1/lead")]
    assert attempts == ["/v1/lead 503", "/v1/lead 503", "/v1/lead"]
    context.close()


def _chat(human_browser, api_site):
    context, page = open_page(human_browser, api_site, "/site/product.html")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.5)")
    be_active(page, 31, context.clock)  # the trigger wants 20 s active and 30 s on the page
    settle(page, context.clock)
    poll(page, SHOWN)
    return context, page


CHIPS = "() => [...document.getElementById('tactful-root').shadowRoot.querySelectorAll('.chip')].map(c => c.textContent)"


def test_suggested_questions_are_answered_from_the_pages_own_facts(human_browser, api_site):
    # The page states sizing and material (schema.org JSON-LD) and delivery (data-tactful-fact):
    # each suggested question is answered in the card in the page's words, with no call to the proxy.
    context, page = _chat(human_browser, api_site)
    assert page.evaluate(CHIPS) == ["Which size should I pick?", "What is it made of?", "When would it arrive?"]
    before = [p for p, _ in api_site.fake.received if p == "/v1/reply"]
    for chip, words in ((0, "take the larger"), (1, "rubber lug sole"), (2, "two to four working days")):
        page.evaluate(f"() => document.getElementById('tactful-root').shadowRoot.querySelectorAll('.chip')[{chip}].click()")
        assert poll(page, f"() => document.getElementById('tactful-root').shadowRoot.querySelector('.log').textContent.includes({words!r})")
    answers = page.evaluate("() => document.getElementById('tactful-root').shadowRoot.querySelectorAll('[data-tactful-answer=page]').length")
    assert answers == 3
    assert [p for p, _ in api_site.fake.received if p == "/v1/reply"] == before  # nothing asked of the proxy
    context.close()


def test_a_question_the_page_does_not_answer_goes_to_the_proxy(human_browser, api_site):
    context, page = _chat(human_browser, api_site)
    page.evaluate("""() => { const f = document.getElementById('tactful-root').shadowRoot.querySelector('form[data-tactful-form=question]');
        f.querySelector('input').value = 'Are they waterproof?'; f.requestSubmit(); }""")
    # The card says it is answering, then shows the proxy's answer in place of that.
    assert poll(page, "() => document.getElementById('tactful-root').shadowRoot.querySelector('.agent:not([data-tactful-typing])')")
    assert not page.evaluate("document.getElementById('tactful-root').shadowRoot.querySelector('[data-tactful-typing]')")
    assert "waterproof" in card(page).text
    (asked,) = [m for p, m in api_site.fake.received if p == "/v1/reply"]
    assert asked.text == "Are they waterproof?"
    assert asked.facts is None  # the demo playbook's privacy level is minimal: the page's facts stay home
    context.close()
