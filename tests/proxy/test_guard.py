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
        ("   ", "empty"),
        ("x" * 401, "too long"),
        ("Pick\x07 it", "control characters"),
        ("Pick\x85 it", "control characters"),  # C1 controls too
        ("A line\u2028break", "line separator U+2028"),
        ("A paragraph\u2029break", "line separator U+2029"),
        ("Only \u20a8 150", "money"),  # a currency sign, before NFKC turns it into "Rs"
        ("Just \u00a3 a little", "money"),
        ("Plus a Lifetime Warranty.", "policy claim"),  # claims in any case
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


def test_length_is_a_limit_not_a_target():
    assert check_output(("Nice pick. " * 37)[:400], POLICY) is None
    assert check_output(("Nice pick. " * 37)[:401], POLICY).startswith("too long")


def test_six_words_of_the_system_prompt_are_a_leak_five_are_not():
    assert check_output("Answer: plain text in the requested language, of course.", POLICY) is not None
    assert check_output("Answer: text in the requested language, of course.", POLICY) is None
    assert check_output("plain text in the requested language", POLICY) == "repeats the system prompt"


def test_characters_are_judged_before_nfkc_and_nfkc_creates_no_refused_one():
    import unicodedata

    from tactful.proxy import check_output as check

    hidden = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        plain = unicodedata.normalize("NFKC", char)
        if plain != char and check(f"a{char}b", POLICY) is None and check(f"a{plain}b", POLICY) is not None:
            reason = check(f"a{plain}b", POLICY)
            if reason.split()[0] in ("control", "invisible", "private-use", "lone", "unassigned", "line"):
                hidden.append((hex(code), reason))
    assert hidden == []
    assert check("Only \u20a8 150", POLICY) == "money"


def test_clean_collapses_space_and_strips_the_quotes_models_add():
    from tactful.proxy import clean_output

    assert clean_output('  "Nice\n\n  pick."  ') == "Nice pick."
    assert clean_output("\u201cA fine choice.\u201d") == "A fine choice."
    assert clean_output("XXNice XX") == "XXNice XX"


def test_a_no_break_space_is_typography_not_a_control_character():
    assert check_output("A fine\u00a0pick for rainy days.", POLICY) is None


def test_a_leak_is_any_six_consecutive_words_of_the_prompt_and_nothing_shorter():
    prompt = "alpha bravo charlie delta echo foxtrot golf hotel"
    policy = OutputPolicy(claims=DEFAULT_CLAIMS, system_prompt=prompt)
    assert check_output("Well: alpha bravo charlie delta echo foxtrot.", policy) == "repeats the system prompt"
    assert check_output("So charlie delta echo foxtrot golf hotel it is.", policy) == "repeats the system prompt"
    assert check_output("So delta echo foxtrot golf hotel it is.", policy) is None  # the last five: not a leak
    short = OutputPolicy(claims=DEFAULT_CLAIMS, system_prompt="be brief")
    assert check_output("Be brief, and enjoy the walk.", short) is None  # a prompt under six words cannot leak
    exact = OutputPolicy(claims=DEFAULT_CLAIMS, system_prompt="alpha bravo charlie delta echo foxtrot")
    assert check_output("alpha bravo charlie delta echo foxtrot", exact) == "repeats the system prompt"
