"""The visitor record field by field: what a tolerant load keeps, drops and defaults, and how two
tabs' records merge. Each expectation is written out by hand from the record's rules (tactful.core
state docstrings), not read back from the code.
"""

from __future__ import annotations

import msgpack
import pytest

from tactful.core import StateError, VisitorState

# The record's bounds, as the state module documents them.
MAX_HISTORY = 50  # facts kept per list
MAX_INPUTS = 16  # input instants kept for the cadence checks
MAX_PAGES_SEEN = 32  # page instances whose sequence numbers are remembered
MAX_DECIDED = 32  # decisions of a visit kept for explain()
MAX_RECORD = 256 * 1024  # bytes


def load(**fields) -> VisitorState:
    return VisitorState.from_dict({"id": "v", "v": 2, **fields})


def session_of(raw):
    return load(session=raw).session


def page_of(raw):
    session = session_of({"start": 1, "page": raw})
    return session.page if session is not None else None


def union(mine, theirs):
    state, other = load(), load()
    state.dismissals, other.dismissals = mine, theirs
    state.merge(other)
    return state.dismissals


# -- scalars: the default's type, numbers interchangeable, booleans never numbers ---------------------


def test_scalars_keep_their_type_or_fall_back():
    state = load(cart_items=True, cart_value=3, cart_currency=5, first_seen=False, last_seen=7, arm=None)
    assert state.cart_items == 0  # a boolean is not a count
    assert state.cart_value == 3.0 and isinstance(state.cart_value, float)  # an int is a fine amount
    assert state.cart_currency == ""
    assert state.first_seen is None  # optional numbers: a boolean is not an instant
    assert state.last_seen == 7
    assert state.arm == ""
    state = load(cart_items=2.5, cart_value="9", first_seen="yesterday", clock=1.5, cart_t=True)
    assert (state.cart_items, state.cart_value, state.first_seen, state.clock, state.cart_t) == (0, 0.0, None, 1.5, -1.0)


def test_page_flags_and_counts_take_only_their_own_type():
    page = page_of({"interacted": 1, "exit_intents": True, "scroll_depth": 1, "kind": "cart",
                                "resolved": ["a", 3, None, "b"], "hovers": {"pro": 2, "x": True, 4: 1, "y": 1.5}})  # fmt: skip
    assert page.interacted is False  # 1 is not True
    assert page.exit_intents == 0
    assert page.scroll_depth == 1.0
    assert page.kind == "cart"
    assert page.resolved == ["a", "b"]
    assert page.hovers == {"pro": 2}
    assert page_of("not a page") is None
    assert page_of({"resolved": "a"}).resolved == []


# -- lists of facts -----------------------------------------------------------------------------


def test_facts_drop_malformed_entries_and_keep_the_newest_in_order():
    state = load(
        dismissals=[[5, "b"], 3, [1, "a"], [2], [True, "x"], ["4", "y"], (6, "c"), [7, 8], [1, 2, 3]],
        conversions=[[9, 10], [8, "big"], [1, True], 4, [2, 2.5]],
    )
    # a bare instant was the first records' shape of a dismissal: it is kept, with no trigger
    assert state.dismissals == [[1.0, "a"], [3.0, ""], [5.0, "b"], [6.0, "c"]]
    assert state.conversions == [[2.0, 2.5], [9.0, 10.0]]
    assert state.value_total == 12.5 and state.converted
    many = load(accepts=[[float(t), "t"] for t in range(MAX_HISTORY + 7, 0, -1)]).accepts
    assert len(many) == MAX_HISTORY and many[0][0] == 8.0 and many[-1][0] == MAX_HISTORY + 7.0
    assert load(leads="x").leads == [] and not load().converted and load().value_total == 0.0


def test_union_keeps_each_fact_once_at_millisecond_grain():
    mine = [[1.0, "a"], [2.0, "b"]]
    theirs = [[1.0004, "a"], [1.0006, "a"], [2.0, "c"]]
    merged = union(mine, theirs)
    # 1.0004 rounds to the same millisecond as 1.0 (the same fact: mine is kept); 1.0006 does not
    assert merged == [[1.0, "a"], [1.0006, "a"], [2.0, "b"], [2.0, "c"]]
    assert merged[0] is mine[0]
    assert union([], [[float(t), "x"] for t in range(MAX_HISTORY + 3)])[0] == [3.0, "x"]


def test_sessions_inputs_and_seen_pages_are_bounded():
    state = load(sessions=[3, True, "x", 1, 2.5], seen=[["p1", 4], ["p2", "2"], [3, 1], ["p3", 2, 1], ("p4", 7)])
    assert state.sessions == [1.0, 2.5, 3.0]
    assert state.seen == [["p1", 4], ["p4", 7]]
    seen = load(seen=[[f"p{i}", i] for i in range(MAX_PAGES_SEEN + 5)]).seen
    assert len(seen) == MAX_PAGES_SEEN and seen[0] == ["p5", 5]
    session = session_of({"inputs": list(range(MAX_INPUTS + 4, 0, -1)), "tracks": {"a": 1, "b": "2"},
                                      "client": ["x"], "page": "p", "machine": 1, "scripted": 2})  # fmt: skip
    assert session is not None
    assert session.inputs == [float(t) for t in range(5, MAX_INPUTS + 5)]
    assert session.tracks == {"a": 1} and session.client == {} and session.page is None
    assert session.machine is False and session.scripted == 2
    assert session_of([]) is None


def test_the_decision_log_keeps_whole_entries_once_newest_last():
    good = {"t": 5, "trigger": "a", "action": "intervene", "reasons": [], "url": "/c", "because": ["x"]}
    raw = [
        good,
        {**good, "t": 5.0004},  # the same decision, another tab's copy
        {**good, "url": "/d"},  # the same trigger on another page
        {**good, "t": 2, "trigger": "b", "extra": 1},
        {**good, "t": "6"}, {**good, "reasons": "none"}, {k: v for k, v in good.items() if k != "because"}, "junk",
    ]  # fmt: skip
    session = session_of({"decided": raw})
    assert session is not None
    assert [(e["t"], e["trigger"], e["url"]) for e in session.decided] == [(2, "b", "/c"), (5, "a", "/c"), (5, "a", "/d")]
    assert "extra" not in session.decided[0]
    session.decided = []
    for t in range(MAX_DECIDED + 3):
        session.note_decision({**good, "t": t})
    assert len(session.decided) == MAX_DECIDED and session.decided[0]["t"] == 3


def test_version_1_records_keep_what_can_be_kept():
    old = VisitorState.from_dict({"id": "v", "first_seen": 100, "visits": 4, "conversions": 2, "value_total": 30,
                                  "dismissals": [150, [160, "t"]], "last_seen": 200, "sessions": [1, 2]})  # fmt: skip
    assert old.v == 2
    assert old.visits_before == 4 and old.sessions == [] and old.visits == 4
    assert old.conversions == [[100.0, 30.0]]
    assert old.dismissals == [[150.0, ""], [160.0, "t"]]
    assert old.cart_t == 200.0
    odd = VisitorState.from_dict({"id": "v", "visits": True, "conversions": True, "first_seen": "x"})
    assert odd.visits_before == 0 and odd.conversions == [] and odd.cart_t == -1.0
    unpriced = VisitorState.from_dict({"id": "v", "conversions": 1, "value_total": "lots", "visits": -2})
    assert unpriced.conversions == [[0.0, 0.0]] and unpriced.visits_before == 0


def test_a_record_is_a_mapping_of_bounded_size():
    with pytest.raises(StateError):
        VisitorState.from_dict(["v"])
    state = VisitorState(id="v")
    padded = msgpack.packb({**state.to_dict(), "pad": "x" * (MAX_RECORD - 200)}, use_bin_type=True)
    padded = msgpack.packb({**state.to_dict(), "pad": "x" * (MAX_RECORD - 200 + MAX_RECORD - len(padded))}, use_bin_type=True)
    assert len(padded) == MAX_RECORD
    assert VisitorState.from_bytes(padded).extra["pad"].startswith("x")  # exactly the limit loads
    with pytest.raises(StateError):
        VisitorState.from_bytes(padded + b"\xc0")
    with pytest.raises(StateError):
        VisitorState.from_bytes(b"\xc1")


# -- visits -----------------------------------------------------------------------------------


def test_old_visits_are_counted_when_their_starts_are_forgotten():
    state = VisitorState(id="v")
    for start in range(MAX_HISTORY + 3):
        state.add_session(float(start))
    state.add_session(10.0)  # already known: no new visit
    assert len(state.sessions) == MAX_HISTORY and state.sessions[0] == 3.0
    assert state.visits_before == 3 and state.visits == MAX_HISTORY + 3


def test_a_page_is_remembered_once_with_its_latest_number():
    state = VisitorState(id="v")
    assert state.last_seq("p") is None
    state.mark_seen("p", 3)
    state.mark_seen("q", 1)
    state.mark_seen("p", 5)
    assert state.seen == [["q", 1], ["p", 5]] and state.last_seq("p") == 5
    for i in range(MAX_PAGES_SEEN):
        state.mark_seen(f"n{i}", i)
    assert state.last_seq("q") is None and len(state.seen) == MAX_PAGES_SEEN


# -- merging two tabs' records ----------------------------------------------------------------------


def test_merge_field_by_field():
    mine = load(arm="", first_seen=None, last_seen=50, cart_items=1, cart_value=5, cart_t=10, visits_before=2,
                seen=[["p", 4], ["q", 9]])  # fmt: skip
    theirs = load(arm="holdout", first_seen=20, last_seen=40, cart_items=3, cart_value=9, cart_currency="EUR",
                  cart_t=10, visits_before=5, seen=[["p", 6], ["q", 2], ["r", 1]])  # fmt: skip
    mine.merge(theirs)
    assert mine.arm == "holdout" and mine.first_seen == 20 and mine.last_seen == 50
    assert (mine.cart_items, mine.cart_value, mine.cart_t) == (1, 5.0, 10.0)  # a cart of the same instant: mine stays
    assert mine.visits_before == 5
    assert mine.last_seq("p") == 6 and mine.last_seq("q") == 9 and mine.last_seq("r") == 1
    newer = load(cart_items=0, cart_value=0, cart_currency="GBP", cart_t=10.5, arm="treatment", first_seen=30, last_seen=None)
    mine.merge(newer)
    assert (mine.cart_items, mine.cart_currency, mine.cart_t) == (0, "GBP", 10.5)  # an emptied cart is news too
    assert mine.arm == "holdout" and mine.first_seen == 20 and mine.last_seen == 50


def test_merging_visits_keeps_this_tabs_page():
    page = {"instance": "mine", "url": "/cart"}
    mine = load(session={"start": 100, "last_t": 150, "page_views": 2, "interactions": 4, "machine": False,
                         "scripted": 1, "tracks": {"a": 2}, "client": {"lang": "en"}, "page": page})  # fmt: skip
    same = load(session={"start": 100, "last_t": 140, "page_views": 3, "interactions": 1, "machine": True,
                         "scripted": 0, "tracks": {"a": 1, "b": 4}, "client": {"lang": "de", "tz": "x"},
                         "page": {"instance": "theirs"}})  # fmt: skip
    mine.merge(same)
    s = mine.session
    assert s is not None and s.page is not None
    assert (s.start, s.last_t, s.page_views, s.interactions, s.machine, s.scripted) == (100, 150, 3, 4, True, 1)
    assert s.tracks == {"a": 2, "b": 4} and s.client == {"lang": "en", "tz": "x"}
    assert s.page.instance == "mine"
    earlier = load(session={"start": 50, "last_t": 999, "page_views": 9})
    mine.merge(earlier)
    assert mine.session is s and s.last_t == 150  # another tab's older visit changes nothing
    later = load(session={"start": 300, "page_views": 1, "page": {"instance": "theirs"}})
    mine.merge(later)
    assert mine.session is not None and mine.session.start == 300 and mine.session.page_views == 1
    assert mine.session.page is not None and mine.session.page.instance == "mine"
    later.session.page_views = 7  # type: ignore[union-attr]
    assert mine.session.page_views == 1  # a copy: the records stay independent
    fresh = load()
    fresh.merge(load(session={"start": 300, "page": {"instance": "theirs"}}))
    assert fresh.session is not None and fresh.session.page is None  # no page of its own yet
    fresh.merge(load())  # a record without a visit changes nothing
    assert fresh.session is not None and fresh.session.start == 300


# -- written out to close the gaps a mutation run found ------------------------------------------------


def test_the_stored_dict_is_flat_and_a_copy():
    state = load(extra_field={"n": 1})
    state.dismissals = [(1.0, "a")]  # a tuple, as a caller might build a fact
    stored = state.to_dict()
    assert "extra" not in stored and stored["extra_field"] == {"n": 1}  # unknown fields sit at the top level
    assert stored["dismissals"] == [[1.0, "a"]] and isinstance(stored["dismissals"][0], list)
    state.accepts = [[2.0, "b"]]
    copied = state.to_dict()
    copied["accepts"][0][1] = "changed"
    assert state.accepts == [[2.0, "b"]]


def test_facts_of_the_same_millisecond_are_ordered_by_detail():
    # Two facts within one millisecond sort by their detail, whichever instant was a hair earlier.
    assert load(leads=[[1.0001, "b"], [1.0004, "a"]]).leads == [[1.0004, "a"], [1.0001, "b"]]
    assert union([[1.0001, "b"]], [[1.0004, "a"]]) == [[1.0004, "a"], [1.0001, "b"]]
    assert load(leads=[[2, "x"], [1, "y"]]).leads == [[1.0, "y"], [2.0, "x"]]


def test_decisions_a_fraction_of_a_second_apart_are_two():
    good = {"t": 5, "trigger": "a", "action": "intervene", "reasons": [], "url": "/c", "because": []}
    session = session_of({"decided": [good, {**good, "t": 5.3}, {**good, "t": 5.0002}]})
    assert session is not None and [e["t"] for e in session.decided] == [5, 5.3]


def test_a_count_another_tab_saw_zero_times_stays_zero():
    mine = load(session={"start": 1, "tracks": {"a": 2}})
    mine.merge(load(session={"start": 1, "tracks": {"b": 0}}))
    assert mine.session is not None and mine.session.tracks == {"a": 2, "b": 0}


def test_unreadable_records_say_why():
    with pytest.raises(StateError, match="^a visitor record must be a mapping$"):
        VisitorState.from_dict(None)
    with pytest.raises(StateError, match=f"larger than {MAX_RECORD} bytes"):
        VisitorState.from_bytes(b"\x00" * (MAX_RECORD + 1))
    with pytest.raises(StateError, match="not msgpack"):
        VisitorState.from_bytes(b"\xc1")


def test_a_newer_builds_fields_survive_with_their_types():
    # A later build may store binary data, or a map keyed by numbers, in fields this build does not know.
    state = load(blob=b"\x00\xff", by_hour={9: 2, 17: 1})
    again = VisitorState.from_bytes(state.to_bytes())
    assert again.extra["blob"] == b"\x00\xff" and isinstance(again.extra["blob"], bytes)
    assert again.extra["by_hour"] == {9: 2, 17: 1}
    assert VisitorState.from_bytes(msgpack.packb({"id": "v", "v": 2, "note": "ü"}, use_bin_type=True)).extra["note"] == "ü"


def test_first_and_last_seen_merge_as_the_earliest_and_the_latest():
    for mine, theirs, first, last in [((30, 50), (20, 60), 20, 60), ((5, None), (None, 7), 5, 7),
                                      ((None, 9), (4, None), 4, 9), ((None, None), (None, None), None, None)]:  # fmt: skip
        state = load(first_seen=mine[0], last_seen=mine[1])
        state.merge(load(first_seen=theirs[0], last_seen=theirs[1]))
        assert (state.first_seen, state.last_seen) == (first, last), (mine, theirs)


def test_a_page_seen_as_far_in_both_records_keeps_its_place():
    state = load(seen=[["p", 4], ["q", 9]])
    state.merge(load(seen=[["p", 4]]))
    assert state.seen == [["p", 4], ["q", 9]]  # not moved to the newest end (where the oldest are evicted first)


def test_version_1_counts_of_one_and_of_zero():
    assert VisitorState.from_dict({"id": "v", "visits": 1}).visits_before == 1
    assert VisitorState.from_dict({"id": "v", "conversions": 0, "value_total": 5}).conversions == []
