"""The lift report on a fixed data set, checked against statsmodels; simulate is labelled synthetic."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from loopback import run_async
from statsmodels.stats.proportion import confint_proportions_2indep, samplesize_proportions_2indep_onetail

from tactful.cli import main
from tactful.core import OutcomeBeacon
from tactful.demo import report_from_store
from tactful.lift import build_report, render_html, render_text, simulate, summarize
from tactful.proxy import load_config, open_store, price_requests


def row(visitor, arm, eligible=True, converted=False, trigger="cart_exit", phase=1, bot=False, dismissed=False,
        accepted=False, synthetic=0):  # fmt: skip
    return {"visitor": visitor, "session": f"{visitor}:0", "arm": arm, "eligible": int(eligible),
            "intervened": int(eligible and arm == "treatment"), "converted": int(converted), "value": 30.0 if converted else 0.0,
            "trigger": trigger if eligible else None, "phase": phase if eligible else None, "dismissed": int(dismissed),
            "accepted": int(accepted), "bot": int(bot), "synthetic": synthetic, "updated": 0.0}  # fmt: skip


@pytest.fixture()
def fixed_rows():
    rows = []
    # cart_exit: treatment 60/600, holdout 4/70; pricing_compare: treatment 21/300, holdout 2/30
    for i in range(600):
        rows.append(row(f"t{i}", "treatment", converted=i < 60, dismissed=i % 5 == 0, accepted=i % 4 == 1))
    for i in range(70):
        rows.append(row(f"h{i}", "holdout", converted=i < 4))
    for i in range(300):
        rows.append(row(f"tp{i}", "treatment", converted=i < 21, trigger="pricing_compare", phase=2))
    for i in range(30):
        rows.append(row(f"hp{i}", "holdout", converted=i < 2, trigger="pricing_compare", phase=2))
    for i in range(1000):  # visits where nothing fired
        rows.append(row(f"n{i}", "treatment" if i % 10 else "holdout", eligible=False, converted=i % 50 == 0))
    for i in range(40):  # bots are excluded
        rows.append(row(f"b{i}", "treatment", converted=False, bot=True))
    return rows


def test_summary_matches_the_reference(fixed_rows):
    s = summarize(fixed_rows, 0.10, model_calls=450, cost_usd=0.9, synthetic=False)
    o = s.overall
    assert (o.treated_conv, o.treated, o.holdout_conv, o.holdout) == (81, 900, 6, 100)
    want = confint_proportions_2indep(81, 900, 6, 100, method="newcomb", compare="diff")
    assert o.newcombe == pytest.approx(tuple(map(float, want)), abs=1e-6)
    assert [c.label for c in s.by_trigger] == ["cart_exit", "pricing_compare"]
    cart = s.by_trigger[0]
    want = confint_proportions_2indep(60, 600, 4, 70, method="newcomb", compare="diff")
    assert cart.newcombe == pytest.approx(tuple(map(float, want)), abs=1e-6)
    assert [c.label for c in s.by_phase] == ["phase 1", "phase 2"]
    assert s.bots == 40 and s.visits == len(fixed_rows) - 40
    assert s.visitors == {"treatment": 1800, "holdout": 200}
    assert s.shown == 900 and s.dismissed == 120 and s.accepted == 150
    assert s.cost_per_1000 == pytest.approx(1000 * 0.9 / s.visits)
    assert s.incremental_conversions == pytest.approx((81 / 900 - 6 / 100) * 900)
    assert s.cost_per_incremental == pytest.approx(0.9 / s.incremental_conversions)
    n = samplesize_proportions_2indep_onetail(0.06 * 0.2, 0.06, 0.8, ratio=0.1 / 0.9)
    assert s.power[1]["treated"] == pytest.approx(float(n), rel=1e-9)
    text = render_text(s)
    assert "+3.00 pts" in text and "ALARM" not in text and "SYNTHETIC" not in text


def test_srm_alarm_is_shown(fixed_rows):
    skewed = fixed_rows + [row(f"x{i}", "treatment", eligible=False) for i in range(2000)]
    s = summarize(skewed, 0.10, 0, 0.0, synthetic=False)
    assert s.srm_alarm and "ALARM" in render_text(s) and "Sample ratio mismatch" in render_html(s)


def test_html_is_self_contained(fixed_rows):
    page = render_html(build_report([dict(r, synthetic=1) for r in fixed_rows], 0.10, "auto", (450, 0.9)))
    assert "SYNTHETIC DATA" in page and "<svg" in page
    assert not re.search(r"""(src|href)=["']?https?://""", page)


def test_simulation_is_deterministic_and_never_bothers_buyers_or_bots(demo_playbook):
    first = simulate(demo_playbook, 600, seed=3)
    first = first.priced(*price_requests(demo_playbook, first.requests))
    again = simulate(demo_playbook, 600, seed=3)
    again = again.priced(*price_requests(demo_playbook, again.requests))
    assert first.outcomes == again.outcomes and first.model_calls == again.model_calls
    assert first.shown_to_converted == 0 and first.shown_to_bots == 0
    assert first.interventions > 0 and 0 < first.model_calls <= first.message_requests
    arms = {o.arm for o in first.outcomes}
    assert arms == {"treatment", "holdout"}
    assert not any(o.intervened for o in first.outcomes if o.arm == "holdout" or o.bot)


def test_simulate_then_report_from_the_command_line(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["simulate", "--visitors", "800", "--data-dir", str(data)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(data), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("SYNTHETIC DATA") and "Newcombe" in text and "per 1,000 visits" in text
    assert "SYNTHETIC DATA" in out.read_text()
    real = OutcomeBeacon(visitor="real", session="real:1", arm="treatment", eligible=True, intervened=True,
                         converted=True, value=9.0, trigger="cart_exit", phase=1, accepted=True)  # fmt: skip

    async def check():
        store = open_store(load_config(None, env={}, data_dir=data))
        await store.start()
        try:
            assert all(r["synthetic"] == 1 for r in await store.outcomes())
            await store.upsert_outcome(real, 0.0)
            # One beacon (forged or not) does not turn a simulation into evidence; a hundred real visits do.
            assert (await report_from_store(store, 0.1)).synthetic is True
            assert (await report_from_store(store, 0.1, "real")).synthetic is False
            for i in range(99):
                await store.upsert_outcome(replace(real, session=f"real:{i + 2}"), 0.0)
            assert (await report_from_store(store, 0.1)).synthetic is False
            assert (await report_from_store(store, 0.1, "synthetic")).synthetic is True
        finally:
            await store.close()

    run_async(check)


def test_report_without_data_says_so(tmp_path, capsys):
    assert main(["report", "--data-dir", str(tmp_path / "empty")]) == 1
    assert "no outcomes yet" in capsys.readouterr().err
