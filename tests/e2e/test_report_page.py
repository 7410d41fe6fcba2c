"""The lift report as a marketer reads it on a phone: verdict first, nothing scrolls sideways."""

from __future__ import annotations

import copy

import pytest

from tactful.core import Playbook
from tactful.lift import build_report, render_html, simulate

T0 = 1_800_000_000.0


def beacon_rows(outcomes) -> list[dict]:
    """Simulated beacons as the store keeps them (synthetic rows are their own account)."""
    rows = []
    for b in outcomes:
        flags = {k: int(getattr(b, k)) for k in ("eligible", "intervened", "converted", "dismissed", "accepted", "bot")}
        same = {k: getattr(b, k) for k in ("visitor", "session", "arm", "trigger", "phase", "variant", "eligible_at",
                                           "converted_at", "value", "storage")}  # fmt: skip
        rows.append({**same, **flags, "synthetic": 1, "updated": b.eligible_at or T0, "test": 0, "served": flags["intervened"],
                     "source": None, "claimed_arm": b.arm})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def rich_report(demo_source) -> str:
    source = copy.deepcopy(demo_source)
    source["rollout"]["phase"] = 3
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["variants"] = [{"id": "ten"}, {"id": "free_shipping_for_everyone_today", "message": "Shipping is on us: {code}."}]
    result = simulate(Playbook.from_dict(source), 1500, seed=5, uplift={"pricing_compare": -0.05})
    said = [{"at": T0 + i, "visitor": f"v{i}", "trigger": "product_questions", "variant": None, "kind": "answer",
             "source": "model", "text": "Our wool socks run true to size; the size guide on this page shows each "
             "measurement in centimetres and inches, so choose your usual size." * 2} for i in range(5)]  # fmt: skip
    summary = build_report(beacon_rows(result.outcomes), 0.1, "synthetic", (120, 0.04),
                           paused={"pricing_compare": "its always-valid lift interval [-9.10, -0.40] pts lies below zero"},
                           said=said)  # fmt: skip
    return render_html(summary)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_report_leads_with_its_verdict_and_fits_the_screen(human_browser, rich_report, width):
    context = human_browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_content(rich_report)
    layout = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        verdict: document.getElementById('verdict').getBoundingClientRect().top,
        firstChart: document.querySelector('h2').getBoundingClientRect().top,
        smallest: Math.min(...[...document.querySelectorAll('body *')]
            .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
            .map((e) => parseFloat(getComputedStyle(e).fontSize))),
        marks: document.querySelectorAll('sup.syn').length,
        verdictText: document.getElementById('verdict').textContent,
    })""")
    context.close()
    assert layout["scroll"] <= layout["inner"], layout  # no sideways scrolling
    assert layout["verdict"] < layout["firstChart"] and layout["verdict"] < 844  # the verdict is read first
    assert layout["smallest"] >= 11, layout  # no 6 px labels
    assert layout["marks"] >= 5 and "Paused: pricing_compare" in layout["verdictText"]
