"""Bots by behaviour: no human input, scripted scrolling, machine cadence. And the people who
must never look like bots: keyboard-only and screen-reader visitors."""

from __future__ import annotations

import random

import pytest

from tactful.core import Engine, bot_score, machine_cadence

HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
CLIENT = {"t": 0, "type": "client", "user_agent": HUMAN_UA, "webdriver": False, "languages": ["en-GB"]}


def cart_then_still(inputs):
    """A cart page with an item, whatever `inputs` the visitor (or script) produced, then 61 s still."""
    events = [CLIENT, {"t": 0, "type": "page_view", "url": "/cart"}, *inputs]
    last = max(e["t"] for e in events)
    events.append({"t": last + 0.1, "type": "cart", "items": 1, "value": 30})
    return events, last + 62


def decide(demo_playbook, events, now, engine=None):
    engine = engine or Engine(demo_playbook, visitor_id="809d4580aaed41565abc38d58f77f840")  # treatment arm
    return engine.feed(events, now)


def test_a_visit_without_human_input_gets_nothing(demo_playbook):
    # A normal user agent, a script that adds to cart and scrolls: no pointer, key, touch or focus.
    engine = Engine(demo_playbook, visitor_id="809d4580aaed41565abc38d58f77f840")
    events, now = cart_then_still([{"t": 1, "type": "scroll", "depth": 0.3, "human": False}])
    assert decide(demo_playbook, events, now, engine) == []  # the page was never touched: nothing is decided
    assert engine.is_bot() and engine.outcome().bot
    # Even a visit that did touch the page once, by a script's click, stays a bot: no human input.
    events.append({"t": now + 1, "type": "exit_intent"})
    assert not any(d.intervene for d in decide(demo_playbook, events[-1:], now + 2, engine))


def test_a_keyboard_only_visitor_gets_the_offer(demo_playbook):
    # Tab, Tab, Enter: key input is human input; stillness then brings the cart offer.
    keys = [{"t": 1 + i * 0.4, "type": "activity"} for i in range(3)]
    events, now = cart_then_still(keys)
    (decision,) = decide(demo_playbook, events, now)
    assert decision.intervene and decision.trigger == "cart_exit"


def test_a_screen_reader_visitor_moving_focus_gets_the_offer(demo_playbook):
    # Focus moves (the loader reports them as activity, and as hovers on hooked elements).
    focus = [{"t": 1, "type": "activity"}, {"t": 2.5, "type": "hover", "target": "cart-line"},
             {"t": 6, "type": "activity"}]  # fmt: skip
    events, now = cart_then_still(focus)
    (decision,) = decide(demo_playbook, events, now)
    assert decision.intervene


def test_scripted_scrolling_is_machine_behaviour(demo_playbook):
    scrolls = [{"t": 1 + i * 0.0167, "type": "scroll", "depth": i / 10, "human": False} for i in range(1, 11)]
    events, now = cart_then_still([{"t": 0.5, "type": "activity"}, *scrolls])
    (decision,) = decide(demo_playbook, events, now)
    assert decision.reasons == ("bot",)


def test_a_fast_human_fling_is_not(demo_playbook):
    # The same frame-locked train, but each scroll follows the wheel: a person.
    scrolls = [{"t": 1 + i * 0.0167, "type": "scroll", "depth": i / 10, "human": True} for i in range(1, 11)]
    events, now = cart_then_still([{"t": 0.5, "type": "activity"}, *scrolls])
    (decision,) = decide(demo_playbook, events, now)
    assert decision.intervene


@pytest.mark.parametrize(
    "gaps, machine",
    [
        ([0.005] * 8, True),  # sub-frame: a loop
        ([0.1] * 12, True),  # a timer, to the millisecond
        ([0.1 + 0.0003 * (-1) ** i for i in range(12)], True),  # a timer's own jitter
        ([0.005] * 7, False),  # too short a train to say
        ([0.1 + 0.02 * (-1) ** i for i in range(12)], False),  # a hand's irregularity
        ([5.0] * 12, False),  # slow and steady reading is not checked
    ],
)
def test_machine_cadence(gaps, machine):
    instants = [0.0]
    for gap in gaps:
        instants.append(instants[-1] + gap)
    assert machine_cadence(instants) is machine


def test_people_are_irregular(demo_playbook):
    rng = random.Random(4)
    instants = [0.0]
    for _ in range(15):
        instants.append(instants[-1] + rng.uniform(0.05, 1.5))
    assert machine_cadence(instants) is False


def test_ready_reports_an_automated_browser_from_its_own_words(demo_source):
    import json

    from tactful.core import Host

    robot = Host(json.dumps(demo_source), "v1", None, json.dumps({"webdriver": True, "user_agent": HUMAN_UA}))
    person = Host(json.dumps(demo_source), "v1", None, json.dumps({"webdriver": False, "user_agent": HUMAN_UA,
                                                                    "languages": ["en"]}))  # fmt: skip
    assert robot.bot is True and person.bot is False


@pytest.mark.parametrize(
    ("client", "interactions", "machine", "score"),
    [
        ({"user_agent": HUMAN_UA, "webdriver": False, "languages": ["en"]}, 3, False, 0.0),
        ({"user_agent": HUMAN_UA, "webdriver": True, "languages": ["en"]}, 3, False, 1.0),
        ({"user_agent": "", "webdriver": False, "languages": ["en"]}, 3, False, 1.0),
        ({"user_agent": "Googlebot/2.1", "webdriver": False, "languages": ["en"]}, 3, False, 1.0),
        ({"user_agent": HUMAN_UA, "webdriver": False, "languages": ["en"], "headless": True}, 3, False, 0.6),
        ({"user_agent": HUMAN_UA, "webdriver": False, "languages": []}, 3, False, 0.4),
        ({"user_agent": HUMAN_UA, "webdriver": False, "languages": ["en"]}, 0, False, 1.0),
        ({"user_agent": HUMAN_UA, "webdriver": False, "languages": ["en"]}, 3, True, 1.0),
        # every piece of evidence adds its weight: 1 + 1 + 0.6 + 0.4 + 1 + 1
        ({"user_agent": "HeadlessChrome", "webdriver": True, "languages": [], "headless": True}, 0, True, 5.0),
        ({"user_agent": HUMAN_UA, "webdriver": True, "languages": [], "headless": True}, 3, False, 2.0),
        ({"user_agent": "", "webdriver": True, "languages": ["en"]}, 3, False, 2.0),
    ],
)
def test_each_piece_of_evidence_weighs_what_the_table_says(client, interactions, machine, score):
    assert bot_score(client, interactions, machine) == pytest.approx(score)


def test_machine_cadence_at_its_edges():
    frame = 0.012
    assert machine_cadence([i * 0.0 for i in range(9)])  # eight gaps of nothing at all: a loop
    assert not machine_cadence([i * frame for i in range(9)])  # a frame apart is what a screen delivers
    assert machine_cadence([i * (frame - 0.001) for i in range(9)])
    assert not machine_cadence([i * 0.005 for i in range(8)])  # seven gaps are not a train
    assert machine_cadence([i * 3.0 for i in range(13)])  # a timer at the slowest cadence checked
    assert not machine_cadence([i * 3.01 for i in range(13)])  # slower: not checked
    assert not machine_cadence([i * 1.0 for i in range(12)])  # eleven regular gaps are not enough
    wobbly = [0.0]
    for i in range(12):
        wobbly.append(wobbly[-1] + (1.03 if i % 2 else 0.97))  # 3 % variation: a hand
    assert not machine_cadence(wobbly)
    back_and_forth = [0.0, 1.0] * 7  # instants out of order: a mean gap of 0 is not a cadence
    assert not machine_cadence(back_and_forth)
