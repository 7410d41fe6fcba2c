"""tactful.testing, as a site owner's suite uses it: the pytest fixture and the @playwright/test
helper against a test build; and a production bundle that refuses every test hook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import wait_ready

from tactful.testing import visit

ROOT = Path(__file__).resolve().parents[2]


def test_a_treated_visitor_gets_the_cart_offer(tactful, test_site):
    shop = tactful.visit(test_site.url + "/site/cart.html")  # a plainly automated browser, treated as a person
    assert shop.ready["bot"] is False and shop.ready["arm"] == "treatment"
    shop.page.click("[data-add]")
    assert shop.expect_no_intervention("cart_exit") == []  # not on arrival
    shop.advance(9)
    shop.leave()
    card = shop.expect_intervention("cart_exit", within=2)
    assert card.kind == "discount" and card.offer == "cart10" and "SAVE10" in card.text
    card.dismiss()
    assert shop.expect_no_intervention(within=60) == []  # dismissed: quiet


def test_a_holdout_visitor_is_logged_not_shown(tactful, test_site):
    shop = tactful.visit(test_site.url + "/site/cart.html", arm="holdout")
    shop.page.click("[data-add]")
    shop.advance(9)
    shop.leave()
    assert shop.expect_no_intervention("cart_exit") == ["holdout"]


def test_stillness_is_fast_forwarded_not_waited_for(tactful, test_site):
    shop = tactful.visit(test_site.url + "/site/cart.html")
    shop.page.click("[data-add]")
    shop.page.mouse.move(300, 300)
    card = shop.expect_intervention("cart_exit", within=70)  # a minute of stillness, in a moment
    assert card.kind == "discount"


def test_a_test_build_says_so_and_a_production_bundle_refuses_every_hook(robot_browser, site, test_site, built_dist,
                                                                         test_dist):  # fmt: skip
    production = (built_dist / "tactful.js").read_text()
    assert "__tactfulTest" not in production and "TEST BUILD" not in production  # compiled out, not switched off
    assert "__tactfulTest" in (test_dist / "tactful.js").read_text()
    assert json.loads((test_dist / "manifest.json").read_text())["test"] is True
    assert json.loads((built_dist / "manifest.json").read_text())["test"] is False
    # The hooks set, on the production bundle: the automated browser is a bot, the arm is the hash's.
    with pytest.raises(AssertionError, match="not an ordinary holdout visitor"):
        visit(robot_browser, site.url + "/site/cart.html", arm="holdout")
    context = robot_browser.new_context()
    context.add_init_script("window.__tactfulTest = { arm: 'holdout', automation: true };")
    page = context.new_page()
    page.goto(site.url + "/site/cart.html")
    state = wait_ready(page)
    assert state["bot"] is True
    context.close()
    # ...and the test build warns in the console, every page.
    context = robot_browser.new_context()
    warnings = []
    page = context.new_page()
    page.on("console", lambda message: warnings.append(message.text))
    page.goto(test_site.url + "/site/cart.html")
    wait_ready(page)
    assert any("TEST BUILD" in text and "Never deploy" in text for text in warnings)
    context.close()


def test_the_playwright_helper_for_javascript_suites(test_site, test_dist):
    helper = test_dist / "testing" / "tactful-playwright.mjs"
    assert helper.read_bytes() == (ROOT / "browser" / "testing" / "tactful-playwright.mjs").read_bytes()
    result = subprocess.run(["node", str(ROOT / "tests" / "e2e" / "js_helper_check.mjs"), str(helper),
                             test_site.url + "/site/cart.html"], capture_output=True, text=True, timeout=240)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"treatment": {"kind": "discount", "offer": "cart10"}, "holdout": ["holdout"]}


def test_the_demo_shops_own_suite_passes_as_a_site_owner_runs_it(tmp_path):
    # demo/tests is written against the installed package only; it starts `tactful demo --test` itself.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                             str(ROOT / "demo" / "tests")], capture_output=True, text=True, timeout=1200, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
