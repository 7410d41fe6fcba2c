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
    assert again.v == STATE_VERSION and again.cart_items == 2 and again.dismissals == [3.0]
    assert again.session is not None and again.session.page is not None
    assert again.session.page.hovers == {"img": 1}


def test_unknown_fields_survive_and_bad_types_fall_back():
    raw = {
        "id": "v9", "v": 7, "visits": "many", "cart_items": 3, "future_field": {"x": 1},
        "dismissals": [1, "x", 2.5], "interventions": [[1, "cart_exit"], ["bad"], [2, 3]],
        "session": {"start": 5, "page": {"url": "/cart", "hovers": {"a": 1, "b": "x"}}, "surprise": True},
    }  # fmt: skip
    state = VisitorState.from_dict(raw)
    assert state.visits == 0 and state.cart_items == 3 and state.v == 7
    assert state.dismissals == [1.0, 2.5]
    assert state.interventions == [[1.0, "cart_exit"]]
    assert state.session.page.hovers == {"a": 1}
    assert state.to_dict()["future_field"] == {"x": 1}


def test_an_older_record_missing_fields_loads(demo_playbook):
    state = VisitorState.from_dict({"id": "v2", "visits": 3})
    engine = Engine(demo_playbook, state=state)
    assert engine.state.arm in ("holdout", "treatment") and engine.state.visits == 3


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
