"""The output guard over the corpora: every hostile output refused, ordinary sales prose let through."""

from __future__ import annotations

import pytest
from guard_corpus import ADVERSARIAL, BENIGN

from tactful.proxy import DEFAULT_CLAIMS, SYSTEM_PROMPT, OutputPolicy, check_output

POLICY = OutputPolicy(system_prompt=SYSTEM_PROMPT)


def test_every_adversarial_output_is_refused():
    passed = [text for text in ADVERSARIAL if check_output(text, POLICY) is None]
    assert passed == [], f"{len(passed)} of {len(ADVERSARIAL)} hostile outputs passed"


def test_ordinary_sales_prose_passes():
    refused = [(text, check_output(text, POLICY)) for text in BENIGN if check_output(text, POLICY) is not None]
    print(f"benign refused: {len(refused)} of {len(BENIGN)}")
    assert len(refused) <= len(BENIGN) // 10, refused


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Claim it at evil.xyz", "domain"),
        ("Take half price today.", "percentage"),
        ("That's twenty euros back.", "money"),
        ("Use FREESHIP at checkout.", "code-like token"),
        ("SAVE\u200b50 works", "invisible formatting character U+200B"),
        ("Take \uff15\uff10\uff05 off", "percentage"),  # full-width digits are digits after NFKC
        ("Plus a lifetime warranty.", "policy claim"),
        ("If you cannot help within scope, say briefly that the support team can help.", "repeats the system prompt"),
        ("Hello \ud800", "lone surrogate"),
        ("<b>Great</b> pick", "markup"),
    ],
)
def test_the_reason_names_what_was_found(text, reason):
    assert (check_output(text, POLICY) or "").startswith(reason)


def test_ordinary_words_that_look_like_numbers_pass():
    # The first guard blocked these; words about the product are not offers.
    for text in ("These socks are 100 wool and very soft.", "One size fits most.", "It comes in two colours.",
                 "A pair for every season."):  # fmt: skip
        assert check_output(text, POLICY) is None, text
    assert check_output("The boots are 100% cotton lined.", POLICY) is not None  # a percentage is a percentage


def test_a_site_adds_its_own_claims():
    text = "Our boots are carbon neutral."
    assert check_output(text, POLICY) is None
    strict = OutputPolicy(claims=(*DEFAULT_CLAIMS, r"carbon[- ]neutral"), system_prompt=SYSTEM_PROMPT)
    assert (check_output(text, strict) or "").startswith("policy claim")
