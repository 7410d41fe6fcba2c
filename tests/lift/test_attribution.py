"""Per-visitor attribution, money, time and the verdict, on vectors computed by hand."""

from __future__ import annotations

import copy
import math

import pytest
from golden import merge

from tactful.core import Playbook
from tactful.lift import attribute, build_report, discount_of, pause_verdicts, render_html, render_text, simulate
from tactful.lift.stats import msprt_diff

DAY = 86400.0
T0 = 1_800_000_000.0


def row(visitor, arm, first=T0, **extra):
    base = {"visitor": visitor, "session": f"{visitor}:1", "arm": arm, "eligible": 1, "intervened": int(arm == "treatment"),
            "converted": 0, "value": 0.0, "trigger": "cart_exit", "phase": 1, "dismissed": 0, "accepted": 0, "bot": 0,
            "synthetic": 0, "updated": first + 60, "storage": None, "variant": None, "eligible_at": first,
            "converted_at": None, "test": 0, "served": int(arm == "treatment"), "source": visitor, "claimed_arm": arm}  # fmt: skip
    return {**base, **extra}


def test_a_purchase_counts_once_within_the_window_after_the_first_eligible_moment(demo_playbook):
    rows = [row("a", "treatment"), row("a", "treatment", first=T0 + 2 * DAY, session="a:2"),  # a second visit
            row("b", "treatment"), row("c", "holdout"), row("d", "holdout")]  # fmt: skip
    conversions = [
        {"visitor": "a", "order_id": "1", "value": 50.0, "at": T0 + 3 * DAY, "code": None, "discount": None},  # the next days
        {"visitor": "a", "order_id": "2", "value": 30.0, "at": T0 + 6.9 * DAY, "code": None, "discount": None},
        {"visitor": "b", "order_id": "3", "value": 99.0, "at": T0 - 60, "code": None, "discount": None},  # before: not ours
        {"visitor": "c", "order_id": "4", "value": 20.0, "at": T0 + 7.5 * DAY, "code": None, "discount": None},  # too late
        {"visitor": "d", "order_id": "5", "value": 40.0, "at": T0 + DAY, "code": None, "discount": None},
    ]  # fmt: skip
    att = attribute(rows, conversions, dict(demo_playbook.offers))
    by_id = {v.id: v for v in att.visitors}
    assert att.confirmed and len(att.visitors) == 4  # a's two visits are one visitor
    assert (by_id["a"].converted, by_id["a"].value) == (True, 80.0)  # counted once; both orders' value
    assert not by_id["b"].converted and not by_id["c"].converted and by_id["d"].converted
    assert att.overall.counts == (1, 2, 1, 2)
    three_days = attribute(rows, conversions, {}, window_days=3)
    assert {v.id: v.value for v in three_days.visitors}["a"] == 50.0
    assert {v.id for v in attribute(rows, conversions, {}, window_days=8).visitors if v.converted} == {"a", "c", "d"}


def test_discount_costs_come_from_the_shop_or_the_offer(demo_playbook, demo_source):
    offers = dict(demo_playbook.offers)
    cart10 = offers["cart10"]
    assert cart10.percent == 10
    assert discount_of({"value": 80.0, "code": cart10.code.lower()}, offers) == pytest.approx(8.0)
    assert discount_of({"value": 80.0, "code": cart10.code, "discount": 5.5}, offers) == 5.5  # the shop's figure wins
    assert discount_of({"value": 80.0, "code": "NOT-OURS"}, offers) == 0.0
    amount = merge(demo_source, {"offers": {"ship": {"type": "discount", "code": "SHIP", "amount": 4.9,
                                                                "description": "free shipping"}}})  # fmt: skip
    offers = dict(Playbook.from_dict(amount).offers)
    assert discount_of({"value": 80.0, "code": "SHIP"}, offers) == 4.9
    assert discount_of({"value": 3.0, "code": "SHIP"}, offers) == 3.0  # never more than the order


def test_net_revenue_per_1000_after_discounts_and_model_cost():
    # treatment: 100 visitors, 10 bought 100 with a 10 discount (net 90); holdout: 100, 5 bought 100.
    rows = [row(f"t{i}", "treatment") for i in range(100)] + [row(f"h{i}", "holdout") for i in range(100)]
    conversions = ([{"visitor": f"t{i}", "order_id": f"t{i}", "value": 100.0, "at": T0 + 60, "code": None,
                     "discount": 10.0} for i in range(10)]
                   + [{"visitor": f"h{i}", "order_id": f"h{i}", "value": 100.0, "at": T0 + 60, "code": None,
                       "discount": None} for i in range(5)])  # fmt: skip
    att = attribute(rows, conversions, {}, model_cost=2.0)
    mean_t, mean_h = 10 * 90 / 100, 5 * 100 / 100  # 9.0 and 5.0 per visitor
    var_t = (10 * (90 - mean_t) ** 2 + 90 * mean_t**2) / 99
    var_h = (5 * (100 - mean_h) ** 2 + 95 * mean_h**2) / 99
    half = 1.959963984540054 * math.sqrt(var_t / 100 + var_h / 100)
    cost = 1000 * 2.0 / 200  # the model's cost per 1,000 eligible visitors
    mid, (lo, hi) = att.net_per_1000()
    assert mid == pytest.approx(1000 * (mean_t - mean_h) - cost)
    assert (lo, hi) == pytest.approx((1000 * (mean_t - mean_h - half) - cost, 1000 * (mean_t - mean_h + half) - cost))
    assert att.overall.always_valid == pytest.approx(msprt_diff(10, 100, 5, 100, 0.05, 0.02))


def test_1000_forged_beacons_do_not_move_the_confirmed_lift():
    honest = [row(f"t{i}", "treatment", first=T0 + i * 3000) for i in range(450)]
    honest += [row(f"h{i}", "holdout", first=T0 + i * 30000) for i in range(50)]
    confirmed = [{"visitor": f"t{i}", "order_id": f"o{i}", "value": 40.0, "at": T0 + i * 3000 + 60, "code": None,
                  "discount": None} for i in range(0, 450, 9)]  # fmt: skip
    before = attribute(honest, confirmed, {})
    for arm in ("treatment", "holdout"):  # any arm, any claim, from one machine
        forged = [row(f"f{arm}{i}", arm, first=T0 + i, converted=1, value=500.0, source="attacker", claimed_arm=arm)
                  for i in range(500)]  # fmt: skip
        after = attribute(honest + forged, confirmed, {})
        assert after.overall.counts == before.overall.counts
        assert after.overall.always_valid == before.overall.always_valid
        assert after.left_out == {"beacon bursts": 500} and "address" in after.anomalies[0]


def test_test_traffic_bots_and_session_only_visits_are_left_out_and_counted():
    rows = [row("a", "treatment"), row("b", "holdout", test=1), row("c", "treatment", bot=1),
            row("d", "treatment", storage="session")]  # fmt: skip
    att = attribute(rows, [], {})
    assert [v.id for v in att.visitors] == ["a"]
    assert att.left_out == {"test traffic": 1, "bots": 1, "session-only visits": 1}
    assert [v.id for v in attribute(rows, [], {}, include_test=True).visitors] == ["a", "b"]


def test_the_verdict_comes_first_and_says_what_to_do(demo_playbook):
    early = build_report([row("a", "treatment")], 0.1, "real")
    assert render_text(early).startswith("Verdict: Not enough evidence yet: no holdout visitor")
    rows = ([row(f"t{i}", "treatment", first=T0 + i * 1000, converted=int(i % 4 == 0), converted_at=T0 + i * 1000 + 5)
             for i in range(900)]
            + [row(f"h{i}", "holdout", first=T0 + i * 10000, converted=int(i % 20 == 0), converted_at=T0 + i * 10000 + 5)
               for i in range(100)])  # fmt: skip
    works = build_report(rows, 0.1, "real")
    assert works.attribution.days >= 7 and works.verdict[0] == "works"
    assert render_text(works).startswith("Verdict: Works: +200.0 conversions per 1,000 eligible visitors")
    too_soon = [dict(r, eligible_at=T0 + (r["eligible_at"] - T0) / 10, updated=T0 + (r["updated"] - T0) / 10) for r in rows]
    assert build_report(too_soon, 0.1, "real").verdict[1].startswith("Too early to read: 1.1 of 7 days")
    page = render_html(works)
    assert page.index('id="verdict"') < page.index("<h2>") and "Glossary" in page and "Attribution window" in page


def beacon_row(b) -> dict:
    """A simulated beacon as the store keeps it (its own account: synthetic rows are not checked)."""
    flags = {k: int(getattr(b, k)) for k in ("eligible", "intervened", "converted", "dismissed", "accepted", "bot")}
    same = {k: getattr(b, k) for k in ("visitor", "session", "arm", "trigger", "phase", "variant", "eligible_at",
                                       "converted_at", "value")}  # fmt: skip
    return {**row("x", "treatment"), **same, **flags, "updated": b.eligible_at or T0, "source": None}


def test_a_simulated_variant_experiment_and_a_harmful_trigger(demo_source):
    source = copy.deepcopy(demo_source)
    source["holdout"]["fraction"] = 0.5
    source["rollout"]["phase"] = 3
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["variants"] = [{"id": "ten"}, {"id": "ship", "message": "Shipping is on us today with code {code}."}]
    playbook = Playbook.from_dict(source)
    result = simulate(playbook, 15000, seed=11, uplift={"cart_exit:ship": 0.3, "cart_exit:ten": 0.0,
                                                        "pricing_compare": -0.08})  # fmt: skip
    rows = [beacon_row(b) for b in result.outcomes]
    att = attribute(rows, [], {})
    variants = {arms.label: arms for arms in att.variants}
    assert set(variants) == {"cart_exit · ship", "cart_exit · ten"}
    assert variants["cart_exit · ship"].lift > variants["cart_exit · ten"].lift + 0.05
    ((trig, a, b, ci),) = att.variant_pairs
    assert (trig, a, b) == ("cart_exit", "ship", "ten") and ci[0] > 0  # ship beats ten, surely
    assert list(pause_verdicts(att)) == ["pricing_compare"]
    summary = build_report([dict(r, synthetic=1) for r in rows], 0.5, "synthetic", paused={"pricing_compare": "hurts"})
    text = render_text(summary)
    assert "cart_exit · ship" in text and "ship vs ten" in text and "Paused: pricing_compare" in text
    assert text.startswith("SYNTHETIC DATA") and 'class="syn"' in render_html(summary)
