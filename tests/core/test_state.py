"""Visitor records: versioned, msgpack round trip, tolerant of old and unknown fields."""

from __future__ import annotations

import msgpack
import pytest

from tactful.core import STATE_VERSION, Engine, StateError, VisitorState


def test_round_trip_after_a_visit(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    engine.feed(
        [
            {"t": 0, "type": "page_view", "url": "/p/mug"},
            {"t": 1, "type": "hover", "target": "img"},
            {"t": 2, "type": "cart", "items": 2, "value": 30},
            {"t": 3, "type": "dismiss", "trigger": "cart_exit"},
        ],
        now=4,
    )
    blob = engine.state.to_bytes()
    again = VisitorState.from_bytes(blob)
    assert again == engine.state
    assert again.to_bytes() == blob
    assert again.v == STATE_VERSION and again.cart_items == 2 and again.dismissals == [[3.0, "cart_exit"]]
    assert again.session is not None and again.session.page is not None
    assert again.session.page.hovers == {"img": 1}


def test_unknown_fields_survive_and_bad_types_fall_back():
    raw = {
        "id": "v9", "v": 7, "visits": "many", "cart_items": 3, "future_field": {"x": 1},
        "dismissals": [1, "x", 2.5], "interventions": [[1, "cart_exit"], ["bad"], [2, 3]],
        "session": {"start": 5, "page": {"url": "/cart", "hovers": {"a": 1, "b": "x"}}, "surprise": True},
    }  # fmt: skip
    state = VisitorState.from_dict(raw)
    assert state.visits == 0 and state.cart_items == 3 and state.v == STATE_VERSION
    assert state.dismissals == [[1.0, ""], [2.5, ""]]
    assert state.interventions == [[1.0, "cart_exit"]]
    assert state.session.page.hovers == {"a": 1}
    assert state.to_dict()["future_field"] == {"x": 1}


def test_an_older_record_missing_fields_loads(demo_playbook):
    state = VisitorState.from_dict({"id": "v2", "visits": 3})
    engine = Engine(demo_playbook, state=state)
    assert engine.state.arm in ("holdout", "treatment") and engine.state.visits == 3


def test_a_version_1_record_keeps_its_facts(demo_playbook):
    # Counts became facts in version 2: a buyer stays a buyer, a dismissal keeps its cooldown.
    state = VisitorState.from_dict({"id": "v3", "v": 1, "visits": 2, "conversions": 1, "value_total": 42.0,
                                    "first_seen": 10.0, "dismissals": [50.0], "cart_items": 1})  # fmt: skip
    assert state.converted and state.value_total == 42.0 and state.visits == 2
    assert state.dismissals == [[50.0, ""]] and state.v == STATE_VERSION


@pytest.mark.parametrize("blob", [b"\xc1", msgpack.packb([1, 2]), b"\x92"])
def test_unreadable_records_raise_state_error(blob):
    with pytest.raises(StateError):
        VisitorState.from_bytes(blob)


def test_the_arm_is_sticky(demo_source):
    from golden import merge

    from tactful.core import Playbook

    state = VisitorState(id="v17", arm="treatment")  # assigned before the holdout changed
    engine = Engine(Playbook.from_dict(demo_source), state=state)
    assert engine.state.arm == "treatment"
    assert Engine(Playbook.from_dict(merge(demo_source, {"holdout": {"fraction": 0.5}})), visitor_id="v17").state.arm == "holdout"


def _tab(demo_playbook, events, now, state=None):
    engine = Engine(demo_playbook, visitor_id="v5", state=state)
    engine.feed(events, now)
    return engine


def test_merge_joins_facts_and_never_loses_one(demo_playbook):
    # Two tabs of one visitor, each saving its whole record: a purchase in A survives B's save.
    base = _tab(demo_playbook, [{"t": 0, "type": "page_view", "url": "/", "p": "a", "n": 0}], 0)
    a = Engine(demo_playbook, state=VisitorState.from_bytes(base.state.to_bytes()))
    b = Engine(demo_playbook, state=VisitorState.from_bytes(base.state.to_bytes()))
    a.feed([{"t": 5, "type": "convert", "value": 20, "p": "a", "n": 1}], 5)
    b.feed([{"t": 6, "type": "page_view", "url": "/cart", "p": "b", "n": 0},
            {"t": 7, "type": "dismiss", "trigger": "cart_exit", "p": "b", "n": 1}], 7)  # fmt: skip
    b.merge(VisitorState.from_bytes(a.state.to_bytes()))
    a.merge(VisitorState.from_bytes(b.state.to_bytes()))
    for tab in (a, b):
        assert tab.state.conversions == [[5.0, 20.0]] and tab.state.dismissals == [[7.0, "cart_exit"]]
        assert tab.state.visits == 1
    assert a.page.url == "/" and b.page.url == "/cart"  # each tab keeps its own page
    again = VisitorState.from_bytes(a.state.to_bytes())
    again.merge(VisitorState.from_bytes(a.state.to_bytes()))
    assert again == a.state  # merging a record into itself changes nothing


def test_merge_takes_the_latest_cart_and_the_latest_visit(demo_playbook):
    a = _tab(demo_playbook, [{"t": 0, "type": "page_view", "url": "/", "p": "a", "n": 0},
                             {"t": 1, "type": "cart", "items": 1, "p": "a", "n": 1}], 1)  # fmt: skip
    b = _tab(demo_playbook, [{"t": 4000, "type": "page_view", "url": "/cart", "p": "b", "n": 0},
                             {"t": 4001, "type": "cart", "items": 3, "p": "b", "n": 1}], 4001)  # fmt: skip
    a.merge(VisitorState.from_bytes(b.state.to_bytes()))
    assert a.state.cart_items == 3 and a.state.session.start == 4000 and a.page.url == "/"
    b.merge(VisitorState.from_bytes(a.state.to_bytes()))
    assert b.state.cart_items == 3 and b.state.session.start == 4000 and sorted(b.state.sessions) == [0.0, 4000.0]


def test_merge_ignores_another_visitors_record(demo_playbook):
    a = _tab(demo_playbook, [{"t": 0, "type": "page_view", "url": "/"}], 0)
    other = VisitorState(id="someone-else", conversions=[[1.0, 5.0]])
    a.merge(other)
    assert not a.state.converted
