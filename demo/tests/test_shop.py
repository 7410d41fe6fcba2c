"""The demo shop's own Tactful tests, as a site owner writes them with the `tactful` fixture."""


def test_a_hesitating_shopper_is_offered_the_discount(tactful, shop):
    visitor = tactful.visit(shop + "/p/enamel-mug.html")
    visitor.page.click("[data-add]")
    visitor.goto(shop + "/cart.html")
    visitor.advance(9)
    visitor.leave()
    card = visitor.expect_intervention("cart_exit", within=2)
    assert card.kind == "discount" and card.offer == "cart10"
    card.accept()
    assert visitor.page.locator("#cart-discount").is_visible()  # the shop applied the offer


def test_nothing_on_arrival_and_nothing_for_the_holdout(tactful, shop):
    visitor = tactful.visit(shop + "/p/enamel-mug.html", arm="holdout")
    assert visitor.expect_no_intervention(within=5) == []  # arriving is not a signal
    visitor.page.click("[data-add]")
    visitor.goto(shop + "/cart.html")
    visitor.advance(9)
    visitor.leave()
    assert visitor.expect_no_intervention("cart_exit") == ["holdout"]
