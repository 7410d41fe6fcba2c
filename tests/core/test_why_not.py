""""Why didn't it show?": every trigger's status, conditions with their values, gates with when they lift."""

from __future__ import annotations

import json

from tactful.core import Engine, Host, why_not

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
TREATED = "809d4580aaed41565abc38d58f77f840"


def client(t, page):
    return {"t": t, "type": "client", "user_agent": UA, "languages": ["en"], "p": page, "n": 0}


def on_product_with_cart(engine):
    engine.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a", "n": 1},
                 {"t": 2, "type": "activity", "p": "a", "n": 2},
                 {"t": 3, "type": "cart", "items": 1, "value": 20, "p": "a", "n": 3}], now=4)  # fmt: skip


def test_a_waiting_trigger_shows_each_condition_with_its_value(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    on_product_with_cart(engine)
    report = why_not(engine, 40.0)
    by_id = {t["trigger"]: t for t in report["triggers"]}
    cart = by_id["cart_exit"]
    assert cart["status"] == "waiting" and cart["gates"] == [] and not cart["holds"]
    values = {c["signal"]: (c["now"], c["holds"]) for c in cart["conditions"]}
    assert values["cart_items"] == (1, True)
    assert values["idle_for"] == (38.0, False)  # 40 s now, last interaction at 2 s: 38 of the 60 it needs
    assert values["hidden_for"] == (None, False)  # never hidden: not started
    assert by_id["pricing_compare"]["status"] == "not_this_page"
    assert by_id["product_questions"]["status"] == "waiting"
    assert (report["arm"], report["page_kind"], report["interacted"]) == ("treatment", "product", True)
    assert engine.feed([], now=40) == []  # explaining changed nothing
    (fired,) = engine.feed([], now=70)
    assert fired.trigger == "cart_exit" and fired.t == 62  # the threshold the report counted down to
    assert {t["trigger"]: t["status"] for t in why_not(engine, 70.0)["triggers"]}["cart_exit"] == "decided"


def test_a_blocked_trigger_says_which_gates_and_until_when(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    on_product_with_cart(engine)
    (shown,) = engine.feed([], now=70)
    engine.feed([{"t": 71, "type": "dismiss", "trigger": "cart_exit", "p": "a", "n": 4}], now=71)
    # The next visit, an hour and a half later: the same trigger on a new page.
    engine.feed([client(5500, "b"), {"t": 5500, "type": "page_view", "url": "/cart", "kind": "cart", "p": "b", "n": 1},
                 {"t": 5501, "type": "activity", "p": "b", "n": 2}], now=5502)  # fmt: skip
    cart = {t["trigger"]: t for t in why_not(engine, 5502.0)["triggers"]}["cart_exit"]
    assert cart["status"] == "blocked"
    gates = {g["code"]: g["until"] for g in cart["gates"]}
    assert gates == {"cooldown": 71 + demo_playbook.limits.cooldown}  # min_gap (1 h after 62) has passed
    assert "dismissed" in cart["gates"][0]["doc"]


def test_the_host_answers_at_the_pages_now_never_before_the_engines_clock(demo_source):
    host = Host(json.dumps(demo_source), TREATED)
    host.feed(json.dumps([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a",
                                           "n": 1}, {"t": 2, "type": "activity", "p": "a", "n": 2}]), 10)  # fmt: skip
    assert json.loads(host.why_not_json(30))["at"] == 30
    assert json.loads(host.why_not_json(5))["at"] == 10  # a page clock behind the engine's: the engine's
