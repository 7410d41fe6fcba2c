""""Why didn't it show?": every trigger's status, conditions with their values, gates with when they lift."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from tactful.core import Engine, Host, Playbook, VisitorState, utc_text, why_not

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


def test_the_visits_decisions_are_kept_across_pages_with_what_fired_them(demo_source):
    host = Host(json.dumps(demo_source), TREATED)
    host.feed(json.dumps([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a",
                                           "n": 1}, {"t": 2, "type": "activity", "p": "a", "n": 2},
                          {"t": 3, "type": "cart", "items": 1, "value": 20, "p": "a", "n": 3}]), 70)  # fmt: skip
    # The next page, in the same visit: a new Host from the stored record, as the next page's worker.
    nxt = Host(json.dumps(demo_source), TREATED, host.state_b64())
    (entry,) = json.loads(nxt.history_json(80))
    assert (entry["trigger"], entry["action"], entry["url"], entry["t"]) == ("cart_exit", "intervene", "/p/mug", 62)
    # It names the branch of the condition that fired: 60 s still, not the exit or the hidden tab.
    assert entry["because"] == ["cart_items >= 1", "idle_for >= 60"]
    assert entry["why"] == "shown, because cart_items >= 1 and idle_for >= 60"
    assert entry["at"] == "1970-01-01 00:01:02 UTC" and entry["earlier"] is True
    assert json.loads(nxt.history_json(62 + 1801)) == []  # the visit is over: nothing of it is "this visit"
    cards = json.loads(nxt.feed(json.dumps([{"t": 80, "type": "page_view", "url": "/cart", "kind": "cart", "p": "b",
                                             "n": 1}, {"t": 81, "type": "activity", "p": "b", "n": 2}]), 150))  # fmt: skip
    (card,) = cards
    assert card["why"] == ("not shown: the visit already had limits.per_session interventions (also: min_gap); "
                           "it would have fired because cart_items >= 1 and idle_for >= 60")
    assert [e["trigger"] for e in json.loads(nxt.history_json(150))] == ["cart_exit", "cart_exit"]


def test_two_tabs_logs_merge_once_each_and_malformed_entries_are_dropped(demo_source):
    from tactful.core import VisitorState

    one, two = Host(json.dumps(demo_source), TREATED), Host(json.dumps(demo_source), TREATED)
    for host, tab in ((one, "a"), (two, "b")):
        host.feed(json.dumps([client(0, tab), {"t": 0, "type": "page_view", "url": f"/p/{tab}", "kind": "product",
                                               "p": tab, "n": 1}, {"t": 2, "type": "activity", "p": tab, "n": 2},
                              {"t": 3, "type": "cart", "items": 1, "p": tab, "n": 3}]), 70)  # fmt: skip
    one.merge(two.state_b64())
    one.merge(two.state_b64())  # twice: still once each
    assert [(e["url"], e["action"]) for e in json.loads(one.history_json(70))] == [("/p/a", "intervene"),
                                                                                  ("/p/b", "intervene")]
    raw = one.engine.state.to_dict()
    raw["session"]["decided"] += [{"t": "x"}, "junk", {"t": 1, "trigger": 3}]
    again = VisitorState.from_dict(raw)
    assert len(again.session.decided) == 2


@pytest.mark.parametrize("t", [0, 59.999, 951782400, 951868799.5, 1709164800 + 90061, 1764754867, 4102444799])
def test_readable_times_match_the_calendar(t):
    from tactful.core import utc_text

    assert utc_text(t) == datetime.datetime.fromtimestamp(int(t), datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_readable_times_hold_at_every_year_month_and_century_edge():
    from tactful.core import utc_text

    edges = []
    for year in range(1970, 2401):
        for month in (1, 2, 3, 12):
            start = datetime.datetime(year, month, 1, tzinfo=datetime.UTC).timestamp()
            edges += [start, start - 1, start + 86399, *(start + 3600 * hour for hour in range(24))]
    for t in edges:
        assert utc_text(t) == datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), t


def test_the_report_states_every_field_exactly(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    on_product_with_cart(engine)
    report = why_not(engine, 40.0)
    assert {k: v for k, v in report.items() if k != "triggers"} == {
        "at": 40.0, "arm": "treatment", "page_kind": "product", "interacted": True, "bot_score": 0.0,
        "bot_threshold": 1.0}  # fmt: skip
    assert report["triggers"][0] == {
        "trigger": "cart_exit", "kind": "discount", "phase": 1, "holds": False, "gates": [], "status": "waiting",
        "conditions": [
            {"signal": "cart_items", "op": ">=", "value": 1.0, "now": 1, "holds": True},
            {"signal": "exit_intent_dwell", "op": ">=", "value": 8.0, "now": 0.0, "holds": False},
            {"signal": "hidden_for", "op": ">=", "value": 45.0, "now": None, "holds": False},
            {"signal": "idle_for", "op": ">=", "value": 60.0, "now": 38.0, "holds": False}]}  # fmt: skip
    fresh = why_not(Engine(demo_playbook, visitor_id=TREATED), 5.0)
    assert (fresh["page_kind"], fresh["interacted"], fresh["bot_score"]) == (None, False, 0.0)
    assert {t["status"] for t in fresh["triggers"]} == {"not_this_page"}
    # Before any visit every signal reads its baseline: counts 0, times on a page "not started".
    nows = {(t["trigger"], c["signal"]): c["now"] for t in fresh["triggers"] for c in t["conditions"]}
    assert nows == {("cart_exit", "cart_items"): 0, ("cart_exit", "exit_intent_dwell"): 0.0,
                    ("cart_exit", "hidden_for"): None, ("cart_exit", "idle_for"): None,
                    ("welcome_back_cart", "visits"): 0, ("welcome_back_cart", "cart_items"): 0,
                    ("welcome_back_cart", "active_time"): 0.0, ("welcome_back_cart", "page_dwell"): None,
                    ("pricing_compare", "scroll_depth"): 0.0, ("pricing_compare", "hover_max[tier:*]"): 0,
                    ("pricing_compare", "hover_targets[tier:*]"): 0, ("pricing_compare", "idle_for"): None,
                    ("product_questions", "active_time"): 0.0, ("product_questions", "scroll_depth"): 0.0,
                    ("product_questions", "page_dwell"): None, ("product_questions", "cart_added"): 0.0,
                    ("longform_lead", "scroll_depth"): 0.0, ("longform_lead", "active_time"): 0.0}  # fmt: skip


def test_the_bot_score_is_the_visits_own(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([{**client(0, "a"), "webdriver": True}, {"t": 0, "type": "page_view", "url": "/cart", "p": "a", "n": 1}],
                now=1)  # fmt: skip
    report = why_not(engine, 2.0)
    assert report["bot_score"] >= report["bot_threshold"] == 1.0
    cart = {t["trigger"]: t for t in report["triggers"]}["cart_exit"]
    assert cart["status"] == "blocked" and cart["gates"][0]["code"] == "bot" and cart["gates"][0]["until"] is None


def test_a_holdout_decision_says_why_in_one_sentence(demo_source):
    host = Host(json.dumps(demo_source), TREATED, arm="holdout")
    (card,) = json.loads(host.feed(json.dumps([client(0, "a"), {"t": 0, "type": "page_view", "url": "/cart",
                                                                 "kind": "cart", "p": "a", "n": 1},
                                               {"t": 2, "type": "activity", "p": "a", "n": 2},
                                               {"t": 3, "type": "cart", "items": 1, "p": "a", "n": 3}]), 70))  # fmt: skip
    assert card["why"] == ("not shown: the visitor is in the holdout arm: nothing is shown, the would-be intervention "
                           "is logged; it would have fired because cart_items >= 1 and idle_for >= 60")
    assert (card["url"], card["at"], card["because"]) == ("/cart", "1970-01-01 00:01:02 UTC",
                                                         ["cart_items >= 1", "idle_for >= 60"])  # fmt: skip


def visit_and_show(engine, start, tab, dismiss=False):
    """A new visit to the cart at ``start``, then still for a minute: the first visit's card is
    cart_exit (at start + 62), a later one's the welcome back (at start + 3). Returns what was shown."""
    decided = engine.feed([client(start, tab), {"t": start, "type": "page_view", "url": "/cart", "kind": "cart",
                                                "p": tab, "n": 1}, {"t": start + 2, "type": "activity", "p": tab, "n": 2},
                           {"t": start + 3, "type": "cart", "items": 1, "value": 20, "p": tab, "n": 3}], now=start + 4)
    decided += engine.feed([], now=start + 70)  # fmt: skip
    shown = [(d.trigger, d.t) for d in decided if d.intervene]
    if dismiss:
        engine.feed([{"t": start + 71, "type": "dismiss", "trigger": shown[0][0], "p": tab, "n": 4}], now=start + 71)
    return shown


def gates_at(engine, at):
    cart = {t["trigger"]: t for t in why_not(engine, at)["triggers"]}["cart_exit"]
    return cart["status"], {g["code"]: g["until"] for g in cart["gates"]}


def test_ready_means_it_fires_at_the_next_instant_and_values_are_rounded(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    on_product_with_cart(engine)
    assert gates_at(engine, 70.0) == ("ready", {})
    idle = {c["signal"]: c["now"] for c in why_not(engine, 40.456)["triggers"][0]["conditions"]}["idle_for"]
    assert idle == 38.46  # 40.456 - 2, to two places


def test_until_for_the_gap_the_weekly_cap_and_too_many_dismissals(demo_playbook):
    lim = demo_playbook.limits  # 1 h gap, 3 a week, a day's cooldown, 2 dismissals in 30 days
    engine = Engine(demo_playbook, visitor_id=TREATED)
    assert visit_and_show(engine, 0, "a") == [("cart_exit", 62)]
    engine.feed([client(2000, "b"), {"t": 2000, "type": "page_view", "url": "/cart", "kind": "cart", "p": "b", "n": 1},
                 {"t": 2001, "type": "activity", "p": "b", "n": 2}], now=2002)  # fmt: skip
    assert gates_at(engine, 2002.0) == ("blocked", {"min_gap": 62 + lim.min_gap})
    assert visit_and_show(engine, 10_000, "c") == [("welcome_back_cart", 10_003)]
    assert visit_and_show(engine, 20_000, "d") == [("welcome_back_cart", 20_003)]  # three this week
    engine.feed([client(30_000, "e"), {"t": 30_000, "type": "page_view", "url": "/cart", "kind": "cart", "p": "e",
                                       "n": 1}, {"t": 30_001, "type": "activity", "p": "e", "n": 2}], now=30_002)  # fmt: skip
    assert gates_at(engine, 30_002.0) == ("blocked", {"visitor_cap": 62 + lim.visitor_window})  # the oldest of three ages out

    other = Engine(demo_playbook, visitor_id=TREATED)
    assert visit_and_show(other, 0, "a", dismiss=True) == [("cart_exit", 62)]  # dismissed at 71
    assert visit_and_show(other, 100_000, "b", dismiss=True) == [("welcome_back_cart", 100_003)]  # again, a day on
    other.feed([client(200_000, "c"), {"t": 200_000, "type": "page_view", "url": "/cart", "kind": "cart", "p": "c",
                                       "n": 1}, {"t": 200_001, "type": "activity", "p": "c", "n": 2}], now=200_002)  # fmt: skip
    assert gates_at(other, 200_002.0) == ("blocked", {"dismissed_too_often": 71 + lim.dismissal_window})


def test_a_time_before_1970_reads_as_the_second_it_falls_in():
    assert utc_text(-0.5) == "1969-12-31 23:59:59 UTC"  # a wall clock set far back: floored, not cut toward 0
    assert utc_text(-86400) == "1969-12-31 00:00:00 UTC"


T0 = 1_800_000_000  # an instant of 2027, as a real page clock reads: windows are short beside it


def visit(engine, t0, tab, now):
    engine.feed([client(t0, tab), {"t": t0, "type": "page_view", "url": "/cart", "kind": "cart", "p": tab, "n": 1},
                 {"t": t0 + 1, "type": "activity", "p": tab, "n": 2},
                 {"t": t0 + 2, "type": "cart", "items": 1, "value": 20, "p": tab, "n": 3}], now=now)  # fmt: skip


def test_caps_lift_when_their_window_lets_the_oldest_counted_instant_go(demo_source):
    source = json.loads(json.dumps(demo_source))
    source["limits"].update(per_visitor=1, max_dismissals=1, cooldown=0, min_gap=0)
    engine = Engine(Playbook.from_dict(source), visitor_id=TREATED)
    visit(engine, T0, "a", T0 + 70)  # cart_exit at T0 + 61: 60 s still after the activity at T0 + 1
    engine.feed([{"t": T0 + 71, "type": "dismiss", "trigger": "cart_exit", "p": "a", "n": 4}], now=T0 + 71)
    visit(engine, T0 + 5000, "b", T0 + 5003)  # the next visit
    cart = {t["trigger"]: t for t in why_not(engine, T0 + 5003.0)["triggers"]}["cart_exit"]
    assert {g["code"]: g["until"] for g in cart["gates"]} == {
        "visitor_cap": T0 + 61 + 7 * 86400, "dismissed_too_often": T0 + 71 + 30 * 86400}  # fmt: skip


def test_a_cap_of_no_interventions_never_lifts(demo_source):
    source = json.loads(json.dumps(demo_source))
    source["limits"]["per_visitor"] = 0  # a site owner pausing every card
    engine = Engine(Playbook.from_dict(source), visitor_id=TREATED)
    visit(engine, T0, "a", T0 + 3)
    cart = {t["trigger"]: t for t in why_not(engine, T0 + 3.0)["triggers"]}["cart_exit"]
    assert cart["status"] == "blocked" and [(g["code"], g["until"]) for g in cart["gates"]] == [("visitor_cap", None)]


def test_the_report_scores_input_and_machine_behaviour(demo_playbook):
    still = Engine(demo_playbook, visitor_id=TREATED)
    still.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a", "n": 1}], now=1)
    assert why_not(still, 2.0)["bot_score"] == 1.0  # no human input yet
    scripted = Engine(demo_playbook, visitor_id=TREATED)
    scroll = [{"t": 1 + i * 0.5, "type": "scroll", "depth": 0.1 * (i + 1), "human": False, "p": "a", "n": 2 + i} for i in range(9)]
    scripted.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a", "n": 1},
                   *scroll], now=6)  # fmt: skip
    assert why_not(scripted, 6.0)["bot_score"] == 2.0  # no input, and a scroll train nobody's hand made


def test_a_visit_without_a_page_yet_has_no_trigger_on_this_page(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([client(0, "a")], now=1)
    report = why_not(engine, 1.0)
    assert report["page_kind"] is None and {t["status"] for t in report["triggers"]} == {"not_this_page"}


def test_a_trigger_narrowed_by_urls_is_judged_on_this_pages_path(demo_source):
    source = json.loads(json.dumps(demo_source))
    source["triggers"][0]["urls"] = ["/cart/big*"]  # cart_exit
    engine = Engine(Playbook.from_dict(source), visitor_id=TREATED)
    for url, status in (("/cart/small", "not_this_page"), ("/cart/big-one?x=1", "waiting")):
        engine.feed([client(0, "a"), {"t": 0, "type": "page_view", "url": url, "kind": "cart", "p": url, "n": 1},
                     {"t": 1, "type": "activity", "p": url, "n": 2}], now=2)  # fmt: skip
        assert {t["trigger"]: t["status"] for t in why_not(engine, 2.0)["triggers"]}["cart_exit"] == status, url


def test_a_logged_decision_from_another_build_still_reads_as_a_sentence(demo_source):
    host = Host(json.dumps(demo_source), TREATED)
    host.feed(json.dumps([client(0, "a"), {"t": 0, "type": "page_view", "url": "/p/mug", "kind": "product", "p": "a",
                                           "n": 1}, {"t": 2, "type": "activity", "p": "a", "n": 2}]), 3)  # fmt: skip
    raw = host.engine.state.to_dict()
    entry = {"t": 1.0, "trigger": "cart_exit", "url": "/p/mug"}
    raw["session"]["decided"] = [  # as a newer build (or another tab's) might have logged them
        {**entry, "action": "suppress", "reasons": ["future_gate", "holdout", "min_gap"], "because": []},
        {**entry, "t": 2.0, "action": "suppress", "reasons": [], "because": ["cart_items >= 1"]},
        {**entry, "t": 3.0, "action": "intervene", "reasons": [], "because": []},
    ]
    nxt = Host(json.dumps(demo_source), TREATED, base64.b64encode(VisitorState.from_dict(raw).to_bytes()).decode())
    assert [e["why"] for e in json.loads(nxt.history_json(4))] == [
        "not shown: future_gate (also: holdout, min_gap); it would have fired because its condition held",
        "not shown: suppressed; it would have fired because cart_items >= 1",
        "shown, because its condition held",
    ]  # fmt: skip
