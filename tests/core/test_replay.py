"""The replay driver itself (tactful replay, the golden spec and simulate go through it): what it
does with each kind of bad line, the instant it decides at, and what a reload keeps."""

from __future__ import annotations

import json

from tactful.core import LineProblem, Replay, Row, replay_lines

UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"


def cart_exit(visitor: str | None, t: float = 0.0) -> list[dict]:
    """A visit that ends in the demo's cart_exit intervention at t + 12; log lines name ``visitor``
    (None: events as Replay.feed takes them, without it)."""
    events = [
        {"t": t, "type": "client", "user_agent": UA, "webdriver": False, "languages": ["en"]},
        {"t": t, "type": "page_view", "url": "/p/mug"},
        {"t": t + 1, "type": "activity"},
        {"t": t + 2, "type": "cart", "items": 1, "value": 24},
        {"t": t + 3, "type": "page_view", "url": "/cart"},
        {"t": t + 4, "type": "activity"},
        {"t": t + 12, "type": "exit_intent"},
    ]
    return [{"visitor": visitor, **e} for e in events] if visitor else events


def test_each_bad_line_is_named_and_the_rest_replays(demo_playbook):
    good = [json.dumps(e) for e in cart_exit("alice")]
    bad = ["{not json", "[1, 2]", json.dumps({"t": 1, "type": "activity"}), json.dumps({"visitor": "", "t": 1}),
           json.dumps({"visitor": 7, "t": 1}), json.dumps({"visitor": "v" * 129, "t": 1}),
           json.dumps({"visitor": "bob", "type": "activity"}), json.dumps({"visitor": "bob", "t": True}),
           json.dumps({"visitor": "bob", "t": "3"}), '{"visitor": "bob", "t": NaN}', '{"visitor": "bob", "t": Infinity}']  # fmt: skip
    lines = [*good[:3], "", "   ", *bad, *good[3:]]
    out = list(replay_lines(Replay(demo_playbook), lines))
    problems = [(p.line, p.message.split(" (")[0] if p.message.startswith("not JSON") else p.message)
                for p in out if isinstance(p, LineProblem)]  # fmt: skip
    assert problems == [(6, "not JSON"), (7, "needs a `visitor` string; skipped"), (8, "needs a `visitor` string; skipped"),
                        (9, "needs a `visitor` string; skipped"), (10, "needs a `visitor` string; skipped"),
                        (11, "needs a `visitor` string; skipped"), (12, "needs a numeric `t`; skipped"),
                        (13, "needs a numeric `t`; skipped"), (14, "needs a numeric `t`; skipped"),
                        (15, "needs a numeric `t`; skipped"), (16, "needs a numeric `t`; skipped")]  # fmt: skip
    assert out[0].message.startswith("not JSON (Expecting property name")
    rows = [r for r in out if isinstance(r, Row)]
    assert [(r.line, r.visitor, r.decision.trigger, r.decision.action) for r in rows] == [
        (20, "alice", "cart_exit", "intervene")]  # fmt: skip
    # A visitor id of 128 characters is a visitor.
    longest = [json.dumps({**e, "visitor": "v" * 128}) for e in cart_exit("x")]
    assert [r.visitor for r in replay_lines(Replay(demo_playbook), longest) if isinstance(r, Row)] == ["v" * 128]


def test_an_event_the_engine_skips_is_reported_with_its_reason(demo_playbook):
    lines = [json.dumps(e) for e in cart_exit("alice")]
    lines.insert(2, json.dumps({"visitor": "alice", "t": 1.5, "type": "scroll", "depth": 2}))  # past 1
    out = list(replay_lines(Replay(demo_playbook), lines))
    skipped = [p for p in out if isinstance(p, LineProblem)]
    assert [(p.line, p.skipped_event) for p in skipped] == [(3, True)]
    assert skipped[0].message.startswith("event skipped (") and skipped[0].message.endswith(")")
    assert any(isinstance(r, Row) and r.line == 8 for r in out)


def test_feed_decides_at_the_latest_event_time_unless_told(demo_playbook):
    replay = Replay(demo_playbook)
    events = cart_exit(None)
    junk = ["junk", {"t": "late", "type": "activity"}, {"t": float("nan"), "type": "activity"}]
    decisions = replay.feed("ana", events[:3] + junk + events[3:6])
    assert decisions == [] and replay.engine("ana").state.clock == 4.0  # the latest finite t, junk ignored
    assert replay.feed("ana", junk) == [] and replay.engine("ana").state.clock == 4.0  # no time: the clock stays
    assert [d.trigger for d in replay.feed("ana", [events[6]])] == ["cart_exit"]
    assert replay.engine("ana").state.clock == 12.0
    replay.feed("ana", [], now=20.0)
    assert replay.engine("ana").state.clock == 20.0


def test_a_reload_keeps_the_record_and_the_skip_counts(demo_playbook):
    replay = Replay(demo_playbook)
    events = cart_exit(None)
    assert [d.trigger for d in replay.feed("ana", events)] == ["cart_exit"]
    replay.feed("ana", ["junk", {"t": "x", "type": "activity"}])  # skipped: not_a_mapping, then bad_time
    replay.feed("bo", ["junk"])
    before = replay.skipped
    fresh = replay.reload("ana")
    assert replay.engine("ana") is fresh and fresh.state.interventions == replay.engine("ana").state.interventions
    assert len(fresh.state.interventions) == 1 and fresh.skipped == {}
    assert replay.skipped == before and before == {"bad_time": 1, "not_a_mapping": 2} and list(before) == ["bad_time", "not_a_mapping"]
    fresh.feed(["junk"], 14.0)
    assert replay.skipped["not_a_mapping"] == 3
    replay.reload("ana")
    assert replay.skipped["not_a_mapping"] == 3


def test_the_default_instant_is_on_the_pages_clock_as_the_browser_stamps_it(demo_playbook):
    # The wall clock stepped back 90 s between two pages: the engine shifts the second page's times.
    # The browser stamps a batch with the page's own clock; so does the replay's default, and no time
    # passes that the visitor did not spend (it once took the engine's clock as the page's: 91 s more).
    replay = Replay(demo_playbook)
    replay.feed("v", [{"t": 100, "type": "page_view", "url": "/p/mug", "p": "a", "n": 0},
                      {"t": 101, "type": "activity", "p": "a", "n": 1}])  # fmt: skip
    engine = replay.engine("v")
    replay.feed("v", [{"t": 10, "type": "page_view", "url": "/p/mug", "p": "b", "n": 0},
                      {"t": 11, "type": "activity", "p": "b", "n": 1}])  # fmt: skip
    assert (engine.page.shift, engine.state.clock) == (91.0, 102.0)
    replay.feed("v", ["junk"])  # no time in it: the engine stays where it is
    assert engine.state.clock == 102.0
    replay.feed("v", [], now=12.5)  # an explicit instant is on the page's clock too
    assert engine.state.clock == 103.5


def test_a_new_visitor_fed_no_time_stays_at_the_start_and_a_reload_keeps_paused_triggers(demo_playbook):
    replay = Replay(demo_playbook, paused=frozenset({"cart_exit"}))
    replay.feed("w", ["junk"])
    assert replay.engine("w").state.clock == 0.0
    replay.reload("ana")
    events = cart_exit(None)
    decisions = replay.feed("ana", events)
    assert [(d.trigger, d.action, d.reasons) for d in decisions] == [("cart_exit", "suppress", ("paused",))]
