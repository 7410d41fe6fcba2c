"""The Host as the worker drives it: JSON and base64 in, JSON and base64 out, every call the worker
makes, with the bodies the proxy would receive decoded and checked field by field."""

from __future__ import annotations

import base64
import json

import pytest

from tactful.core import (
    Host,
    LeadRequest,
    MessageReply,
    MessageRequest,
    OutcomeBeacon,
    Playbook,
    ReplyReply,
    ReplyRequest,
    TokenReply,
    TokenRequest,
    VisitorState,
    WireError,
    decode,
    encode,
)

TREATED = "809d4580aaed41565abc38d58f77f840"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
CLIENT = {"user_agent": UA, "languages": ["en"]}


def ev(t, type_, tab="a", n=0, **fields):
    return {"t": t, "type": type_, "p": tab, "n": n, **fields}


def body(text_b64):
    return base64.b64decode(text_b64)


def b64(message):
    return base64.b64encode(encode(message)).decode()


def cart_exit(host, tab="a", value=120.0, t0=0):
    """A human on the cart with a cart worth ``value``: cart_exit fires after 60 s still."""
    events = [ev(t0, "client", tab, 0, **CLIENT), ev(t0, "page_view", tab, 1, url="/cart", kind="cart"),
              ev(t0 + 1, "activity", tab, 2), ev(t0 + 2, "cart", tab, 3, items=3, value=value, currency="EUR")]  # fmt: skip
    return json.loads(host.feed(json.dumps(events), t0 + 70))


@pytest.fixture()
def host(demo_source):
    return Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))


def test_a_card_carries_the_trigger_the_offer_and_the_cart(host, demo_source):
    (card,) = cart_exit(host)
    assert (card["action"], card["trigger"], card["kind"], card["title"]) == ("intervene", "cart_exit", "discount",
                                                                               "Before you go")  # fmt: skip
    assert card["offer_detail"] == {"id": "cart10", "type": "discount", "code": "SAVE10", "percent": 10.0,
                                    "amount": 0.0, "description": "10% off everything in the cart"}  # fmt: skip
    assert card["cart"] == {"items": 3, "value": 120.0, "currency": "EUR"}
    assert card["support_link"] == Playbook.from_dict(demo_source).support_link
    assert card["questions"] == [] and "weighed" not in card


def compare_card(demo_source, hovers):
    host = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    events = [ev(0, "client", **CLIENT), ev(0, "page_view", n=1, url="/pricing", kind="pricing"),
              ev(1, "activity", n=2), ev(1.5, "scroll", n=3, depth=0.95, human=True),
              ev(1.6, "cart", n=4, items=1, value=5.0)]  # a cart: the comparison card still does not name it
    n = 5
    for target, times in hovers:
        for _ in range(times):
            events.append(ev(1 + n * 0.7 + (n % 3) * 0.23, "hover", n=n, target=target))  # a person's uneven pace
            n += 1
    cards = json.loads(host.feed(json.dumps(events), 30))
    return cards[0] if cards else None


@pytest.mark.parametrize("hovers, weighed", [
    ((("tier:starter", 1), ("tier:pro", 3), ("tier:family", 2), ("nav", 5)), ["tier:pro", "tier:family"]),
    ((("tier:family", 1), ("tier:starter", 2), ("tier:pro", 1)), ["tier:starter", "tier:family"]),
    ((("tier:pro", 1), ("tier:family", 1)), ["tier:pro", "tier:family"]),
])  # fmt: skip
def test_the_comparison_names_the_two_plans_most_weighed(demo_source, hovers, weighed):
    card = compare_card(demo_source, hovers)
    assert card["trigger"] == "pricing_compare" and card["weighed"] == weighed  # most hovered first, then first seen
    assert "cart" not in card


def test_one_plan_weighed_is_no_comparison_of_two(demo_source):
    card = compare_card(demo_source, (("tier:pro", 3), ("nav", 2)))
    assert card["trigger"] == "pricing_compare" and "weighed" not in card


def test_welcome_back_names_the_cart_and_other_kinds_do_not(demo_source):
    host = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    host.feed(json.dumps([ev(0, "client", **CLIENT), ev(0, "page_view", n=1, url="/", kind="home"),
                          ev(1, "cart", n=2, items=2, value=30.0, currency="EUR")]), 5)  # fmt: skip
    events = [ev(4000, "client", "b", 0, **CLIENT), ev(4000, "page_view", "b", 1, url="/", kind="home"),
              *(ev(4000 + t, "activity", "b", 1 + t) for t in range(1, 6))]  # fmt: skip
    (card,) = json.loads(host.feed(json.dumps(events), 4010))
    assert card["trigger"] == "welcome_back_cart" and card["cart"] == {"items": 2, "value": 30.0, "currency": "EUR"}
    events = [ev(4020, "page_view", "c", 1, url="/p/mug", kind="product"), ev(4021, "scroll", "c", 2, depth=0.5,
              human=True)] + [ev(4020 + t, "activity", "c", t) for t in range(3, 40, 3)]  # fmt: skip
    quiet = json.loads(host.feed(json.dumps(events), 4060))
    assert all("cart" not in c for c in quiet)  # a questions card (or none) says nothing of the cart


def test_a_suppressed_decision_is_a_bare_card(demo_source):
    holdout = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT), arm="holdout")
    (card,) = cart_exit(holdout)
    assert card["action"] == "suppress" and card["reasons"] == ["holdout"] and holdout.arm == "holdout"
    for field in ("title", "questions", "offer_detail", "support_link", "cart"):
        assert field not in card
    with pytest.raises(KeyError):
        holdout.message_request_b64("cart_exit")  # no words for a card nobody sees


def test_the_message_request_carries_what_the_playbook_allows(host, demo_source):
    cart_exit(host)
    request = decode(MessageRequest, body(host.message_request_b64("cart_exit", "en_GB", "tok.1")))
    assert (request.trigger, request.kind, request.page_kind, request.offer) == ("cart_exit", "discount", "cart", "cart10")
    assert (request.locale, request.token, request.product, request.category) == ("en-GB", "tok.1", None, None)
    for bad in ("", "x", "en-" + "a" * 40, "en GB"):
        assert decode(MessageRequest, body(host.message_request_b64("cart_exit", bad))).locale is None
    assert decode(MessageRequest, body(host.message_request_b64("cart_exit", "de-CH-1996"))).locale == "de-CH-1996"
    with pytest.raises(KeyError):
        host.message_request_b64("pricing_compare")


def test_context_privacy_sends_the_product_and_category(demo_source):
    host = Host(json.dumps({**demo_source, "privacy": {"level": "context"}}), TREATED, None, json.dumps(CLIENT))
    events = [ev(0, "client", **CLIENT), ev(0, "page_view", n=1, url="/p/mug", kind="product", product="Mug",
                                            category="Kitchen"), ev(1, "activity", n=2),
              ev(2, "cart", n=3, items=1, value=18)]  # fmt: skip
    (card,) = json.loads(host.feed(json.dumps(events), 70))
    request = decode(MessageRequest, body(host.message_request_b64(card["trigger"])))
    assert (request.product, request.category, request.page_kind) == ("Mug", "Kitchen", "product")
    reply = decode(ReplyRequest, body(host.reply_request_b64(card["trigger"], "  Is it big?  ", "[]")))
    assert reply.product == "Mug" and reply.text == "Is it big?"


def test_replies_and_words_are_read_back_and_malformed_ones_refused(host):
    words = b64(MessageReply(text="Still deciding?", source="model", trigger="cart_exit"))
    assert json.loads(host.read_message_reply(words)) == {"text": "Still deciding?", "source": "model"}
    answer = b64(ReplyReply(text="Go to Help.", source="template", route="support", link="/support"))
    assert json.loads(host.read_reply_reply(answer)) == {"text": "Go to Help.", "source": "template",
                                                        "route": "support", "link": "/support"}  # fmt: skip
    for bad in ("not base64!", base64.b64encode(b"\x81\xa1v\x01").decode(), ""):
        with pytest.raises(WireError):
            host.read_message_reply(bad)
        with pytest.raises(WireError):
            host.read_reply_reply(bad)


def test_the_chat_request_is_bounded_and_keeps_only_real_turns(host):
    cart_exit(host)
    turns = [["visitor", "q1"], ["agent", "a1"], ["robot", "x"], "junk", ["visitor"], ["visitor", "y" * 2000]]
    request = decode(ReplyRequest, body(host.reply_request_b64("cart_exit", "   ", json.dumps(turns), "fr", "t")))
    assert request.text == "?" and request.locale == "fr" and request.token == "t" and request.page_kind == "cart"
    assert request.history == (("visitor", "q1"), ("agent", "a1"), ("visitor", "y" * 1000)) and request.turn == 1
    many = [["visitor", f"q{i}"] for i in range(30)]
    request = decode(ReplyRequest, body(host.reply_request_b64("cart_exit", "x" * 900, json.dumps(many))))
    assert len(request.text) == 500 and len(request.history) == 8 and request.history[0] == ("visitor", "q22")
    assert request.turn == 4 and request.token is None and request.product is None
    for broken in ("not json", "{}", "[1, 2]"):
        assert decode(ReplyRequest, body(host.reply_request_b64("cart_exit", "hi", broken))).history is None


def test_the_lead_request_needs_an_address_and_says_whether_consent_was_given(host):
    cart_exit(host)
    lead = decode(LeadRequest, body(host.lead_request_b64("longform_lead", "  ada@example.com ", "en", "tk", True)))
    assert (lead.email, lead.consent, lead.trigger, lead.page_kind, lead.token) == (
        "ada@example.com", True, "longform_lead", "cart", "tk")
    assert lead.session == f"{TREATED}:0.000"
    assert decode(LeadRequest, body(host.lead_request_b64("longform_lead", "ada@example.com"))).consent is False
    with pytest.raises(WireError):
        host.lead_request_b64("longform_lead", "not an address")


def test_tokens_are_bound_to_the_visitor_and_paused_triggers_stop(host):
    assert decode(TokenRequest, body(host.token_request_b64())).visitor == TREATED
    reply = b64(TokenReply(token="abc.def", expires=123, paused="cart_exit,longform_lead"))
    assert json.loads(host.read_token_reply(reply)) == {"token": "abc.def", "expires": 123}
    assert host.engine.paused == frozenset({"cart_exit", "longform_lead"})
    (card,) = cart_exit(host)
    assert card["action"] == "suppress" and "paused" in card["reasons"]
    host.read_token_reply(b64(TokenReply(token="abc.def", expires=124)))
    assert host.engine.paused == frozenset()


def test_the_outcome_beacon_carries_the_token(host):
    assert host.outcome_b64() is None  # before any event: no visit
    cart_exit(host)
    beacon = decode(OutcomeBeacon, body(host.outcome_b64("tok.9")))
    assert (beacon.visitor, beacon.eligible, beacon.intervened, beacon.token) == (TREATED, True, True, "tok.9")
    assert decode(OutcomeBeacon, body(host.outcome_b64())).token is None


def test_a_stored_record_is_resumed_and_a_broken_or_foreign_one_is_noted(demo_source):
    first = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    cart_exit(first)
    resumed = Host(json.dumps(demo_source), TREATED, first.state_b64(), json.dumps(CLIENT))
    assert resumed.engine.state.interventions == first.engine.state.interventions and resumed.notes_json() == "[]"
    assert VisitorState.from_bytes(body(first.state_b64())).id == TREATED
    broken = Host(json.dumps(demo_source), TREATED, "%%%", json.dumps(CLIENT))
    assert "unreadable" in json.loads(broken.notes_json())[0] and broken.engine.state.interventions == []
    other = Host(json.dumps(demo_source), "0" * 32, first.state_b64())
    assert "another visitor" in json.loads(other.notes_json())[0] and other.engine.state.id == "0" * 32
    assert resumed.merge(first.state_b64()) is True
    assert resumed.merge("%%%") is False and "not merged" in json.loads(resumed.notes_json())[-1]


def test_a_batch_that_is_not_a_list_is_skipped_and_counted(host):
    for broken in ("{}", "not json", "3"):
        assert host.feed(broken, 1) == "[]"
    assert host.engine.skipped == {"not_a_mapping": 3}


def test_the_browsers_own_facts_decide_bot_before_any_event(demo_source):
    human = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    robot = Host(json.dumps(demo_source), TREATED, None, json.dumps({**CLIENT, "webdriver": True}))
    assert human.bot is False and robot.bot is True
    for junk in ("", "not json", "[1]", json.dumps({"webdriver": "yes"})):
        assert Host(json.dumps(demo_source), TREATED, None, junk).bot is False  # nothing usable: no claim
    assert human.converted is False


def test_requests_made_before_any_page_say_other(demo_source):
    host = Host(json.dumps({**demo_source, "privacy": {"level": "context"}}), TREATED)
    reply = decode(ReplyRequest, body(host.reply_request_b64("product_questions", "hi", "[]", "xx_YY")))
    assert (reply.page_kind, reply.product, reply.facts, reply.locale, reply.turn) == ("other", None, None, "xx-YY", 0)
    lead = decode(LeadRequest, body(host.lead_request_b64("longform_lead", "ada@example.com", "de")))
    assert (lead.page_kind, lead.session, lead.locale) == ("other", None, "de")
    assert host.history_json(10) == "[]" and json.loads(host.why_not_json(7))["at"] == 7
    assert decode(TokenRequest, body(host.token_request_b64())).visitor == TREATED


def test_the_visits_log_ends_exactly_at_the_session_timeout(demo_source):
    host = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    cart_exit(host)
    last = host.engine.state.session.last_t
    assert len(json.loads(host.history_json(last + 1800))) == 1  # still this visit
    assert json.loads(host.history_json(last + 1800.5)) == []
    assert len(json.loads(host.history_json(0))) == 1  # a page clock behind the record's: still this visit


# -- what each card says, and records that cannot be read ---------------------------------------------


def custom(*triggers, **top):
    return json.dumps({"site": "demo-shop", "triggers": list(triggers), **top})


def test_two_decisions_at_one_instant_each_say_their_own_why():
    alpha = {"id": "alpha", "kind": "compare", "pages": ["cart"], "priority": 10, "message": "A.",
             "when": {"signal": "cart_items", "op": ">=", "value": 1}}  # fmt: skip
    beta = {"id": "beta", "kind": "compare", "pages": ["cart"], "message": "B.",
            "when": {"signal": "scroll_depth", "op": ">=", "value": 0.5}}  # fmt: skip
    host = Host(custom(alpha, beta), TREATED, None, json.dumps(CLIENT), arm="treatment")
    cards = json.loads(host.feed(json.dumps([ev(0, "client", **CLIENT), ev(0, "page_view", n=1, url="/cart", kind="cart"),
                                             ev(1, "activity", n=2), ev(2, "cart", n=3, items=1, value=5.0),
                                             ev(2, "scroll", n=4, depth=0.6, human=True)]), 3))  # fmt: skip
    assert [(c["trigger"], c["t"], c["why"]) for c in cards] == [
        ("alpha", 2, "shown, because cart_items >= 1"),
        ("beta", 2, "not shown: the visit already had limits.per_session interventions (also: min_gap); "
                    "it would have fired because scroll_depth >= 0.5"),
    ]  # fmt: skip


def test_a_variant_card_carries_the_variants_own_title_and_offer(demo_source):
    source = json.loads(json.dumps(demo_source))
    source["offers"].update(five={"type": "discount", "code": "FIVE", "amount": 5},
                            twenty={"type": "discount", "code": "TWENTY", "percent": 20})  # fmt: skip
    source["triggers"][0]["variants"] = [{"id": "one", "title": "One", "offer": "five"},
                                         {"id": "two", "title": "Two", "offer": "twenty"}]  # fmt: skip
    host = Host(json.dumps(source), TREATED, None, json.dumps(CLIENT))
    (card,) = cart_exit(host)
    own = {"one": ("One", "FIVE"), "two": ("Two", "TWENTY")}[card["variant"]]  # the visitor's sticky variant
    assert (card["title"], card["offer_detail"]["code"]) == own


def test_only_a_comparison_card_names_the_plans_weighed():
    ask = {"id": "ask", "kind": "questions", "pages": ["pricing"], "message": "Questions?", "questions": ["Which plan?"],
           "when": {"signal": "hovers", "target": "tier:*", "op": ">=", "value": 2}}  # fmt: skip
    host = Host(custom(ask), TREATED, None, json.dumps(CLIENT), arm="treatment")
    (card,) = json.loads(host.feed(json.dumps([ev(0, "client", **CLIENT), ev(0, "page_view", n=1, url="/pricing",
                                                                             kind="pricing"),
                                               ev(1, "activity", n=2), ev(1.4, "hover", n=3, target="tier:pro"),
                                               ev(2.3, "hover", n=4, target="tier:family")]), 3))  # fmt: skip
    assert card["trigger"] == "ask" and card["questions"] == ["Which plan?"] and "weighed" not in card


def test_a_record_with_a_stray_character_is_unreadable_not_guessed_at(demo_source):
    first = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    cart_exit(first)
    stored = first.state_b64()
    stray = stored[:8] + "*" + stored[8:]  # what a lenient decoder would silently skip
    resumed = Host(json.dumps(demo_source), TREATED, stray, json.dumps(CLIENT))
    (note,) = json.loads(resumed.notes_json())
    assert note.startswith("stored visitor record unreadable, starting afresh: ") and resumed.engine.state.interventions == []
    assert resumed.merge(stray) is False and resumed.engine.state.interventions == []
    other = Host(json.dumps(demo_source), "0" * 32, stored)
    assert json.loads(other.notes_json()) == ["stored record belongs to another visitor id; starting afresh"]


def test_a_batch_brings_in_what_another_tab_stored_first(demo_source):
    buyer = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    cart_exit(buyer)
    buyer.feed(json.dumps([ev(80, "convert", n=9, value=120.0)]), 80)
    other = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    assert other.converted is False
    other.feed(json.dumps([ev(81, "page_view", "b", 1, url="/", kind="home")]), 81)
    assert json.loads(other.notes_json()) == []  # nothing stored was given, nothing noted
    other.feed("[]", 82, buyer.state_b64())
    assert other.converted is True and json.loads(other.notes_json()) == []


def test_a_reply_with_a_stray_character_is_refused(host):
    words = b64(MessageReply(text="Still deciding?", source="model", trigger="cart_exit"))
    for stray in (words[:4] + "*" + words[4:], words[:4] + "\n" + words[4:]):
        with pytest.raises(WireError, match="^the body is not base64$"):
            host.read_message_reply(stray)


def test_requests_carry_a_bounded_visitor_and_a_well_formed_locale(demo_source):
    long = Host(json.dumps(demo_source), "v" * 70, None, json.dumps(CLIENT))
    assert decode(TokenRequest, body(long.token_request_b64())).visitor == "v" * 64
    host = Host(json.dumps(demo_source), TREATED, None, json.dumps(CLIENT))
    cart_exit(host)
    for given, sent in (("en_GB", "en-GB"), ("pt-BR", "pt-BR"), ("english", None), ("en-", None), ("", None),
                        ("zh-Hant-TW-x1", "zh-Hant-TW-x1"), ("en-" + "-".join(["abcdefgh"] * 4), None)):  # fmt: skip
        assert decode(ReplyRequest, body(host.reply_request_b64("cart_exit", "hi", "[]", given))).locale == sent, given
        assert decode(MessageRequest, body(host.message_request_b64("cart_exit", given))).locale == sent, given


def test_words_are_asked_for_only_a_card_that_was_shown(host):
    with pytest.raises(KeyError, match="no intervention for 'cart_exit' to write words for"):
        host.message_request_b64("cart_exit")
