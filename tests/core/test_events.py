"""Event intake: malformed events are skipped and counted, a bad optional field is dropped (not
the event), a page view is never refused, late events are applied, replays are recognised."""

from __future__ import annotations

import math

import pytest

from tactful.core import EVENT_TYPES, Engine, Event, clean_event


@pytest.mark.parametrize(
    "raw, reason",
    [
        (None, "not_a_mapping"),
        ([1, 2], "not_a_mapping"),
        ({"type": "activity"}, "bad_time"),
        ({"t": math.nan, "type": "activity"}, "bad_time"),
        ({"t": math.inf, "type": "activity"}, "bad_time"),
        ({"t": -0.5, "type": "activity"}, "bad_time"),
        ({"t": True, "type": "activity"}, "bad_time"),
        ({"t": 1, "type": "teleport"}, "unknown_type"),
        ({"t": 1, "type": None}, "unknown_type"),
        ({"t": 1, "type": "scroll", "depth": -0.1}, "bad_field"),
        ({"t": 1, "type": "scroll", "depth": math.nan}, "bad_field"),
        ({"t": 1, "type": "hover", "target": ""}, "bad_field"),
        ({"t": 1, "type": "visibility", "state": "blurry"}, "bad_field"),
        ({"t": 1, "type": "cart", "items": 2.5}, "bad_field"),
        ({"t": 1, "type": "dismiss"}, "bad_field"),
        ({"t": 1, "type": "track", "name": 7}, "bad_field"),
    ],
)
def test_an_event_without_a_usable_required_field_is_refused_with_a_reason(raw, reason):
    assert clean_event(raw) == reason


@pytest.mark.parametrize(
    "raw, kept, dropped",
    [
        ({"t": 1, "type": "cart", "items": 1, "value": -3}, {"items": 1}, ("value",)),
        ({"t": 1, "type": "client", "webdriver": "yes", "touch": True}, {"touch": True}, ("webdriver",)),
        ({"t": 1, "type": "client", "languages": ["en"] * 100}, {}, ("languages",)),
        ({"t": 1, "type": "exit_intent", "source": "x" * 500}, {}, ("source",)),
        ({"t": 1, "type": "page_view", "url": "/", "kind": "lobby"}, {"url": "/"}, ("kind",)),
    ],
)
def test_a_bad_optional_field_is_dropped_not_the_event(raw, kept, dropped):
    event = clean_event(raw)
    assert isinstance(event, Event) and event.data == kept and event.dropped == dropped


def test_a_page_view_is_never_refused_for_its_fields():
    # A new page always ends the previous one, even when its URL is missing or absurd.
    missing = clean_event({"t": 1, "type": "page_view", "product": "x" * 400})
    assert isinstance(missing, Event) and missing.data == {"url": "", "product": "x" * 120}
    assert missing.dropped == ("url",)
    long = clean_event({"t": 1, "type": "page_view", "url": "/p/" + "x" * 5000})
    assert isinstance(long, Event) and len(long.data["url"]) == 2048


def test_unknown_fields_are_dropped_and_integral_floats_accepted():
    event = clean_event({"t": 2, "type": "cart", "items": 3.0, "value": 9, "secret": "x", "currency": "EUR"})
    assert event == Event(2.0, "cart", {"items": 3, "value": 9.0, "currency": "EUR"})


def test_origin_fields_are_kept_when_usable():
    event = clean_event({"t": 2, "type": "activity", "p": "tab-1", "n": 7})
    assert isinstance(event, Event) and (event.page, event.seq) == ("tab-1", 7)
    odd = clean_event({"t": 2, "type": "activity", "p": 5, "n": "seven"})
    assert isinstance(odd, Event) and (odd.page, odd.seq) == ("", None)


def test_every_documented_type_validates_a_minimal_example():
    minimal = {
        "page_view": {"url": "/"}, "scroll": {"depth": 0.3}, "hover": {"target": "tier:pro"},
        "visibility": {"state": "hidden"}, "cart": {"items": 1}, "dismiss": {"trigger": "x"},
        "accept": {"trigger": "x"}, "track": {"name": "video"},
    }  # fmt: skip
    for kind in EVENT_TYPES:
        assert isinstance(clean_event({"t": 0, "type": kind, **minimal.get(kind, {})}), Event), kind


def test_feed_counts_and_keeps_going(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    junk = [{"t": 1, "type": "page_view", "url": "/cart", "kind": "lobby"}, "junk", {"t": 2}, {"t": 3, "type": "dismiss"}]
    assert engine.feed(junk, now=3) == []
    assert engine.skipped == {"not_a_mapping": 1, "unknown_type": 1, "bad_field": 1}
    assert engine.dropped == {"page_view.kind": 1}
    assert engine.page is not None and engine.page.kind == "cart"  # the playbook's globs decided


def test_a_late_event_is_applied_at_the_engine_clock(demo_playbook):
    # A wall clock stepped back: the purchase arrives stamped before the engine's clock.
    engine = Engine(demo_playbook, visitor_id="v1")
    engine.feed([{"t": 100, "type": "page_view", "url": "/thanks"}, {"t": 101, "type": "activity"}], now=101)
    engine.feed([{"t": 90, "type": "convert", "value": 30}], now=91)
    assert engine.skipped == {} and engine.state.converted
    assert engine.state.conversions == [[101.0, 30.0]] and engine.state.clock == 101


def test_a_page_whose_clock_is_behind_is_shifted_as_a_whole(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    engine.feed([{"t": 500, "type": "page_view", "url": "/", "p": "a", "n": 0}], now=500)
    # The next page's clock is 60 s behind: its dwell is still measured from its own start.
    engine.feed([{"t": 440, "type": "page_view", "url": "/cart", "p": "b", "n": 0},
                 {"t": 450, "type": "activity", "p": "b", "n": 1}], now=452)  # fmt: skip
    page = engine.page
    assert page.start == 500 and page.shift == 60 and page.last_interaction == 510 and engine.state.clock == 512


def test_a_replayed_event_is_applied_once(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    batch = [{"t": 1, "type": "page_view", "url": "/", "p": "a", "n": 0},
             {"t": 2, "type": "convert", "value": 5, "p": "a", "n": 1}]  # fmt: skip
    engine.feed(batch, now=2)
    engine.feed(batch, now=3)  # the journal replays the same batch on the next page
    assert engine.skipped == {"duplicate": 2} and len(engine.state.conversions) == 1
    assert engine.state.session.page_views == 1


def test_feed_refuses_a_bad_now(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    with pytest.raises(ValueError):
        engine.feed([], now=math.nan)


@pytest.mark.parametrize("raw, data, dropped", [
    ({"type": "visibility", "state": "visible"}, {"state": "visible"}, ()),
    ({"type": "visibility", "state": "hidden"}, {"state": "hidden"}, ()),
    ({"type": "client", "storage": "session"}, {"storage": "session"}, ()),
    ({"type": "client", "storage": "persistent"}, {"storage": "persistent"}, ()),
    ({"type": "client", "storage": "forever"}, {}, ("storage",)),
    ({"type": "client", "storage": 1}, {}, ("storage",)),
    ({"type": "page_view", "url": "/p", "kind": "product"}, {"url": "/p", "kind": "product"}, ()),
    ({"type": "page_view", "url": "/p", "kind": "Product"}, {"url": "/p"}, ("kind",)),
    ({"type": "page_view", "url": "/p", "product": ""}, {"url": "/p"}, ("product",)),
    ({"type": "page_view", "url": "/p", "product": 7}, {"url": "/p"}, ("product",)),
    ({"type": "page_view", "url": "/p", "jsonld": "{}"}, {"url": "/p"}, ("jsonld",)),
    ({"type": "page_view", "url": "/p", "jsonld": [3]}, {"url": "/p"}, ("jsonld",)),
    ({"type": "page_view", "url": "/p", "jsonld": []}, {"url": "/p", "jsonld": {}}, ()),
    ({"type": "page_view", "url": "/p", "facts": {}}, {"url": "/p", "facts": {}}, ()),
])  # fmt: skip
def test_each_field_parser_keeps_what_is_valid_and_drops_what_is_not(raw, data, dropped):
    event = clean_event({"t": 1, **raw})
    assert isinstance(event, Event) and event.data == data and event.dropped == dropped


def test_a_visibility_event_needs_a_known_state():
    assert clean_event({"t": 1, "type": "visibility", "state": "VISIBLE"}) == "bad_field"
    assert clean_event({"t": 1, "type": "visibility"}) == "bad_field"
