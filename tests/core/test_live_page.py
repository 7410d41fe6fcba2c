"""Decisions only for the live page: not on arrival, not for a page already left, not from
another page's late events."""

from __future__ import annotations

from golden import merge

from tactful.core import Engine, Playbook

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
TREATED = "809d4580aaed41565abc38d58f77f840"


def client(t, page):
    return {"t": t, "type": "client", "user_agent": UA, "languages": ["en"], "p": page, "n": 0}


def test_a_greeting_on_arrival_waits_for_the_visitor_to_do_something(demo_source):
    # A playbook may say "cart_items >= 1" alone (it is behavioural, so it validates). The engine
    # still decides nothing on a page the visitor has not touched.
    greeter = {"id": "greeter", "kind": "welcome_back", "pages": ["home"], "message": "Hello again",
               "when": {"signal": "cart_items"}}  # fmt: skip
    playbook = Playbook.from_dict(merge(demo_source, {"triggers": [greeter]}))
    engine = Engine(playbook, visitor_id=TREATED)
    engine.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/", "p": "a", "n": 1},
                 {"t": 1, "type": "activity", "p": "a", "n": 2},
                 {"t": 2, "type": "cart", "items": 2, "p": "a", "n": 3}], now=3)  # fmt: skip
    engine.feed([], now=5000)  # a new visit...
    arrived = engine.feed([client(5000, "b"), {"t": 5000, "type": "page_view", "url": "/", "p": "b", "n": 1}],
                          now=5030)  # fmt: skip
    assert arrived == []  # ...half a minute on the page without touching it: nothing
    (touched,) = engine.feed([{"t": 5031, "type": "activity", "p": "b", "n": 2}], now=5031)
    assert touched.trigger == "greeter" and touched.intervene and touched.t == 5031


def test_a_page_left_decides_nothing_later(demo_playbook):
    # Add to cart on a product page, close the tab; the home page opens 70 s later in another tab.
    # The product page's stillness instant (60 s) falls while no page of the visit was open.
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "p": "a", "n": 1},
                 {"t": 2, "type": "activity", "p": "a", "n": 2},
                 {"t": 3, "type": "cart", "items": 1, "value": 20, "p": "a", "n": 3}], now=4)  # fmt: skip
    later = engine.feed([client(74, "b"), {"t": 74, "type": "page_view", "url": "/", "p": "b", "n": 1},
                         {"t": 75, "type": "activity", "p": "b", "n": 2}], now=80)  # fmt: skip
    assert later == []


def test_the_same_page_left_open_does_decide(demo_playbook):
    # The control: the product tab stays open (its heartbeats keep coming): stillness fires there.
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "p": "a", "n": 1},
                 {"t": 2, "type": "activity", "p": "a", "n": 2},
                 {"t": 3, "type": "cart", "items": 1, "value": 20, "p": "a", "n": 3}], now=4)  # fmt: skip
    (decision,) = engine.feed([], now=70)
    assert decision.trigger == "cart_exit" and decision.t == 62 and decision.intervene


def test_a_journal_from_the_previous_page_keeps_its_facts_only(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([client(0, "b"), {"t": 0, "type": "page_view", "url": "/", "p": "b", "n": 1}], now=1)
    # Page "a"'s last events arrive after page "b" is current (another tab's, or a journal):
    engine.feed([{"t": 0.5, "type": "scroll", "depth": 0.9, "p": "a", "n": 7},
                 {"t": 0.6, "type": "cart", "items": 2, "value": 40, "p": "a", "n": 8},
                 {"t": 0.7, "type": "convert", "value": 40, "p": "a", "n": 9}], now=2)  # fmt: skip
    assert engine.page.scroll_depth == 0 and not engine.page.interacted  # not this page's
    assert engine.state.converted and engine.state.conversions == [[1.0, 40.0]]  # the fact, at the clock
