"""Every signal's value and every comparison, read through "why not?" (the site owner's view of
a trigger), and every condition problem with the exact words `tactful check` prints. Expected
values are derived by hand from the event vocabulary and the signal table (README.md)."""

from __future__ import annotations

import copy

import pytest

from tactful.core import SIGNALS, Engine, Playbook, PlaybookError, why_not

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
TREATED = "809d4580aaed41565abc38d58f77f840"

# (leaf, its value at 20 s in the visit below, whether it holds then): one leaf per signal, and
# every comparison operator at least once, at and around its boundary.
LEAVES = [
    ({"signal": "page_dwell", "value": 20}, 20.0, True),  # the page opened at 0; ">=" by default
    ({"signal": "idle_for", "op": "<", "value": 6}, 6.0, False),  # last interaction at 14: 6 s, not < 6
    ({"signal": "hidden_for", "op": "<=", "value": 5}, 5.0, True),  # hidden at 15
    ({"signal": "session_time", "op": ">=", "value": 21}, 20.0, False),
    ({"signal": "scroll_depth", "op": "<=", "value": 0.5}, 0.5, True),
    ({"signal": "active_time", "op": ">", "value": 12}, 12.0, False),  # 1 + 2 + 1.25 + .75 + 1.5 + .5 + 5
    ({"signal": "hovers", "target": "tier:*", "op": "==", "value": 3}, 3, True),
    ({"signal": "hovers", "value": 5}, 4, False),  # every target by default
    ({"signal": "hover_max", "target": "tier:*", "op": "!=", "value": 2}, 2, False),
    ({"signal": "hover_targets", "target": "tier:*", "op": "==", "value": 2}, 2, True),
    ({"signal": "exit_intent"}, 1, True),  # ">= 1" by default
    ({"signal": "exit_intent_dwell", "op": "<", "value": 9}, 9.0, False),  # the gesture 9 s into the page
    ({"signal": "cart_items", "op": "==", "value": 2}, 2, True),
    ({"signal": "cart_value", "op": ">", "value": 29.5}, 30.0, True),
    ({"signal": "cart_added", "op": "!=", "value": 0}, 1, True),
    ({"signal": "visits", "op": ">", "value": 1}, 1, False),
    ({"signal": "page_views", "op": "<=", "value": 1}, 1, True),
    ({"signal": "track", "name": "video", "op": ">=", "value": 2}, 2, True),
]


def probe_playbook(demo_source, leaves):
    source = copy.deepcopy(demo_source)
    source["triggers"].append({"id": "probe", "phase": 1, "kind": "compare", "pages": ["product"],
                               "title": "Probe", "message": "Probe", "when": {"all": leaves}})  # fmt: skip
    return Playbook.from_dict(source)


def visit(engine):
    def ev(t, etype, **fields):
        visit.n = getattr(visit, "n", 0) + 1
        return {"t": t, "type": etype, "p": "a", "n": visit.n, **fields}

    engine.feed([
        ev(0, "client", user_agent=UA, languages=["en"]), ev(0, "page_view", url="/p/mug", kind="product"),
        ev(1, "activity"), ev(3, "scroll", depth=0.5), ev(4.25, "hover", target="tier:pro"),
        ev(5, "hover", target="tier:pro"), ev(6.5, "hover", target="tier:team"), ev(7, "hover", target="nav:home"),
        ev(8, "cart", items=2, value=30), ev(9, "exit_intent"), ev(10, "track", name="video"),
        ev(11, "track", name="video"), ev(12, "track", name="other"), ev(14, "activity"),
        ev(15, "visibility", state="hidden"),
    ], now=15)  # fmt: skip


def probe(engine, at):
    return next(t for t in why_not(engine, at)["triggers"] if t["trigger"] == "probe")


def test_every_signal_reads_what_the_visit_did(demo_source):
    engine = Engine(probe_playbook(demo_source, [leaf for leaf, _, _ in LEAVES]), TREATED)
    visit(engine)
    report = probe(engine, 20.0)
    got = [(c["signal"], c["op"], c["value"], c["now"], c["holds"]) for c in report["conditions"]]
    labels = [leaf["signal"] + (f"[{leaf.get('target', leaf.get('name'))}]" if leaf["signal"] in ("hovers", "hover_max", "hover_targets", "track") else "")
              for leaf, _, _ in LEAVES]  # fmt: skip
    labels[7] = "hovers[*]"
    want = [(label, leaf.get("op", ">="), float(leaf.get("value", 1)), now, holds)
            for label, (leaf, now, holds) in zip(labels, LEAVES, strict=True)]  # fmt: skip
    assert got == want
    assert report["holds"] is False


def test_time_signals_have_no_value_before_they_start(demo_source):
    engine = Engine(probe_playbook(demo_source, [leaf for leaf, _, _ in LEAVES]), TREATED)
    report = probe(engine, 0.0)  # no visit yet
    now = {c["signal"]: c["now"] for c in report["conditions"]}
    assert [now[s] for s in ("page_dwell", "idle_for", "hidden_for", "session_time")] == [None] * 4
    assert (now["scroll_depth"], now["page_views"], now["visits"], now["track[video]"]) == (0.0, 1.0, 0, 0.0)
    held = {c["signal"]: c["holds"] for c in report["conditions"]}
    # A time signal not running compares 0 with its threshold: "idle_for < 6" holds, ">= 20" does not.
    assert (held["idle_for"], held["page_dwell"], held["hidden_for"]) == (True, False, True)


def test_a_time_threshold_holds_from_its_exact_instant(demo_source):
    # 7.5 s of stillness: longer than any pause in the visit (7 s from 7 to 14), so first due at 21.5.
    leaves = [{"signal": "scroll_depth", "value": 0.1}, {"signal": "idle_for", "op": ">=", "value": 7.5}]
    engine = Engine(probe_playbook(demo_source, leaves), TREATED)
    visit(engine)  # last interaction at 14
    assert probe(engine, 21.4999)["holds"] is False
    assert probe(engine, 21.5)["holds"] is True
    engine.feed([], now=15.5)
    assert engine.next_due() == 21.5  # the same instant the engine decides at
    (decided,) = engine.feed([], now=30)
    assert (decided.trigger, decided.t) == ("probe", 21.5)


def test_the_signal_table_is_what_the_reference_lists():
    time = {name for name, s in SIGNALS.items() if s.time}
    assert time == {"page_dwell", "idle_for", "hidden_for", "session_time"}
    assert {name for name, s in SIGNALS.items() if s.behavioural} == set(SIGNALS) - time - {"page_views"}
    assert {name: s.param for name, s in SIGNALS.items() if s.param} == {
        "hovers": "target", "hover_max": "target", "hover_targets": "target", "track": "name"}  # fmt: skip
    assert {name for name, s in SIGNALS.items() if s.baseline} == {"visits", "page_views"}


# -- problems --------------------------------------------------------------------------------------


def problems_of(demo_source, when) -> dict[str, str]:
    with pytest.raises(PlaybookError) as info:
        probe_playbook(demo_source, [{"signal": "scroll_depth", "value": 0.1}, when])
    return {path.removeprefix("triggers[5].when.all[1]"): text for path, text in info.value.problems}


@pytest.mark.parametrize(("when", "expected"), [
    ("idle", {"": "must be a table with `all`, `any` or `signal`"}),
    ({"all": [], "any": []}, {"": "needs exactly one of `all`, `any` or `signal`"}),
    ({"colour": "red"}, {"": "needs exactly one of `all`, `any` or `signal`"}),
    ({"all": []}, {".all": "must be a non-empty list of conditions"}),
    ({"any": "x"}, {".any": "must be a non-empty list of conditions"}),
    ({"any": [{"signal": "exit_intent"}], "colour": 1}, {".colour": "unknown field"}),
    ({"any": [{"signal": "exit_intent"}, 5]}, {".any[1]": "must be a table with `all`, `any` or `signal`"}),
    ({"signal": 5}, {".signal": "unknown signal 5; known: " + ", ".join(SIGNALS)}),
    ({"signal": ["idle_for"]}, {".signal": "unknown signal ['idle_for']; known: " + ", ".join(SIGNALS)}),
    ({"signal": "cart_items", "target": "x"}, {".target": "unknown field for signal 'cart_items'"}),
    ({"signal": "cart_items", "op": "=>"}, {".op": "must be one of >=, >, <=, <, ==, !="}),
    ({"signal": "idle_for", "op": "=="}, {".op": "time signal 'idle_for' supports only >=, <, <="}),
    ({"signal": "idle_for", "op": ">"}, {".op": "time signal 'idle_for' supports only >=, <, <="}),
    ({"signal": "cart_items", "value": True}, {".value": "must be a finite number"}),
    ({"signal": "cart_items", "value": "1"}, {".value": "must be a finite number"}),
    ({"signal": "cart_items", "value": float("nan")}, {".value": "must be a finite number"}),
    ({"signal": "cart_items", "value": 1e9 + 1}, {".value": "must be a finite number"}),
    ({"signal": "cart_items", "value": -1e9 - 1}, {".value": "must be a finite number"}),
    ({"signal": "track"}, {".name": "signal 'track' needs a `name` string"}),
    ({"signal": "hovers", "target": ""}, {".target": "signal 'hovers' needs a `target` string"}),
    ({"signal": "cart_items", "op": "=>", "value": "x", "colour": 1},
     {".colour": "unknown field for signal 'cart_items'", ".op": "must be one of >=, >, <=, <, ==, !=",
      ".value": "must be a finite number"}),
])  # fmt: skip
def test_each_problem_is_named(demo_source, when, expected):
    assert problems_of(demo_source, when) == expected


def test_the_largest_values_are_allowed(demo_source):
    leaves = [{"signal": "scroll_depth", "value": 0.1}, {"signal": "cart_value", "value": 1e9},
              {"signal": "cart_value", "op": ">", "value": -1e9}]  # fmt: skip
    assert probe_playbook(demo_source, leaves).trigger("probe") is not None


def test_a_time_signal_not_running_reads_as_zero(demo_source):
    # A visible page has no hidden_for running: "hidden_for >= 1" is false, "idle_for"... runs.
    leaves = [{"signal": "scroll_depth", "value": 0.1}, {"any": [{"signal": "hidden_for", "op": ">=", "value": 1},
                                                                 {"signal": "hidden_for", "op": "<", "value": 1}]}]  # fmt: skip
    engine = Engine(probe_playbook(demo_source, leaves), TREATED)
    engine.feed([{"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "z", "n": 1}], now=0)
    report = probe(engine, 0.5)
    assert [(c["now"], c["holds"]) for c in report["conditions"][1:]] == [(None, False), (None, True)]


def test_the_reasons_of_a_nested_tree_name_the_behaviour_that_held(demo_source):
    # any[ all[ scroll_depth, any[ idle_for, exit_intent ] ], hovers ]: the path that held gives the reasons.
    tree = [{"any": [{"all": [{"signal": "scroll_depth", "value": 0.5},
                              {"any": [{"signal": "idle_for", "value": 3}, {"signal": "exit_intent"}]}]},
                     {"signal": "hovers", "target": "tier:*", "value": 5}]}]  # fmt: skip
    engine = Engine(probe_playbook(demo_source, tree), TREATED)
    decided = engine.feed([
        {"t": 0, "type": "client", "user_agent": UA, "languages": ["en"], "p": "z", "n": 1},
        {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "z", "n": 2},
        {"t": 0.5, "type": "activity", "p": "z", "n": 3},  # a hand on the page: not a bot
        {"t": 1, "type": "scroll", "depth": 0.6, "p": "z", "n": 4},
    ], now=10)  # fmt: skip
    (probe_card,) = [d for d in decided if d.trigger == "probe"]
    assert (probe_card.t, probe_card.action, probe_card.reasons) == (4.0, "intervene", ("signal:scroll_depth",))
