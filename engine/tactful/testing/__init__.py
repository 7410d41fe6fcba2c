"""tactful.testing: Tactful in your own Playwright suite.

Your end-to-end tests run an automated browser, which Tactful rightly treats as a bot; one visitor
in ten is in the holdout; and the moments that matter take seconds to minutes of waiting. Serve a
**test build** of your bundle (``tactful build --test``: never deploy it) and this module makes
the test's browser an ordinary visitor of the arm you choose, moves the engine's time with
Playwright's clock instead of waiting, and asserts in the product's words::

    def test_the_cart_offer(tactful):                      # the pytest fixture (this package's plugin)
        shop = tactful.visit("http://127.0.0.1:8000/cart.html")
        shop.page.click("[data-add]")
        shop.advance(9)                                    # nine seconds on the page
        shop.leave()                                       # the pointer out through the top
        card = shop.expect_intervention("cart_exit")
        assert card.kind == "discount" and card.offer == "cart10"
        card.dismiss()

    def test_a_holdout_visitor_sees_nothing(tactful):
        shop = tactful.visit("http://127.0.0.1:8000/cart.html", arm="holdout")
        ...
        assert shop.expect_no_intervention("cart_exit") == ["holdout"]

A production bundle ignores every test hook (they are compiled out of it): there the same test
sees a bot and nothing is shown. The JavaScript twin of this module, for ``@playwright/test``,
is ``dist/testing/tactful-playwright.mjs``.
"""

from ._visit import Card, Visit, card, freeze, leave_through_top, page_time, poll, settled, visit, wait_ready

__all__ = ["Card", "Visit", "card", "freeze", "leave_through_top", "page_time", "poll", "settled", "visit", "wait_ready"]
