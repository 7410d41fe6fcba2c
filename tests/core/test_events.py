"""Event validation: malformed events are skipped and counted, never raised."""

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
        ({"t": 1, "type": "page_view"}, "bad_field"),
        ({"t": 1, "type": "page_view", "url": "x" * 5000}, "bad_field"),
        ({"t": 1, "type": "page_view", "url": "/", "kind": "lobby"}, "bad_field"),
        ({"t": 1, "type": "scroll", "depth": -0.1}, "bad_field"),
        ({"t": 1, "type": "scroll", "depth": math.nan}, "bad_field"),
        ({"t": 1, "type": "hover", "target": ""}, "bad_field"),
        ({"t": 1, "type": "visibility", "state": "blurry"}, "bad_field"),
        ({"t": 1, "type": "cart", "items": 2.5}, "bad_field"),
        ({"t": 1, "type": "cart", "items": 1, "value": -3}, "bad_field"),
        ({"t": 1, "type": "client", "webdriver": "yes"}, "bad_field"),
        ({"t": 1, "type": "client", "languages": ["en"] * 100}, "bad_field"),
        ({"t": 1, "type": "dismiss"}, "bad_field"),
        ({"t": 1, "type": "track", "name": 7}, "bad_field"),
    ],
)
def test_malformed_events_are_refused_with_a_reason(raw, reason):
    assert clean_event(raw, None) == reason


def test_time_never_goes_back():
    assert clean_event({"t": 4, "type": "activity"}, 5.0) == "out_of_order"
    assert isinstance(clean_event({"t": 5, "type": "activity"}, 5.0), Event)


def test_unknown_fields_are_dropped_and_integral_floats_accepted():
    event = clean_event({"t": 2, "type": "cart", "items": 3.0, "value": 9, "secret": "x", "currency": "EUR"}, None)
    assert event == Event(2.0, "cart", {"items": 3, "value": 9.0, "currency": "EUR"})


def test_every_documented_type_validates_a_minimal_example():
    minimal = {
        "page_view": {"url": "/"}, "scroll": {"depth": 0.3}, "hover": {"target": "tier:pro"},
        "visibility": {"state": "hidden"}, "cart": {"items": 1}, "dismiss": {"trigger": "x"},
        "accept": {"trigger": "x"}, "track": {"name": "video"},
    }  # fmt: skip
    for kind in EVENT_TYPES:
        assert isinstance(clean_event({"t": 0, "type": kind, **minimal.get(kind, {})}, None), Event), kind


def test_feed_counts_and_keeps_going(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    junk = [{"t": 1, "type": "page_view", "url": "/cart"}, "junk", {"t": 0, "type": "activity"}, {"t": 2}]
    assert engine.feed(junk, now=3) == []
    assert engine.skipped == {"not_a_mapping": 1, "out_of_order": 1, "unknown_type": 1}
    assert engine.page is not None and engine.page.kind == "cart"


def test_feed_refuses_a_bad_now(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    with pytest.raises(ValueError):
        engine.feed([], now=math.nan)
