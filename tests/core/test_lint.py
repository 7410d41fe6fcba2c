"""The playbook linter: valid playbooks that would not do what their author meant."""

from __future__ import annotations

import copy
import itertools
import math

import pytest

from tactful.cli import main
from tactful.core import Playbook, lint


def with_trigger(demo_source, **changes):
    source = copy.deepcopy(demo_source)
    source["triggers"][0].update(changes)  # cart_exit
    return Playbook.from_dict(source)


def messages(playbook):
    return [str(f) for f in lint(playbook)]


def test_the_demo_playbook_is_clean(demo_playbook):
    assert lint(demo_playbook) == []


@pytest.mark.parametrize(
    "when, path, fragment",
    [
        ({"all": [{"signal": "cart_items"}, {"signal": "scroll_depth", "op": ">=", "value": 1.5}]},
         "triggers[0].when.all[1]", "scroll_depth >= 1.5 can never hold"),
        ({"all": [{"signal": "cart_items"}, {"signal": "hovers", "op": "==", "value": 1.5}]},
         "triggers[0].when.all[1]", "hovers[*] == 1.5 can never hold"),
        ({"all": [{"signal": "visits", "op": "<", "value": 1}, {"signal": "cart_items"}]},
         "triggers[0].when.all[0]", "visits < 1 can never hold"),
        ({"all": [{"signal": "cart_items"}, {"signal": "idle_for", "op": ">=", "value": 60},
                  {"signal": "idle_for", "op": "<", "value": 30}]},
         "triggers[0].when.all[2]", "contradicts the other thresholds on the same signal"),
        ({"all": [{"signal": "cart_items", "op": ">", "value": 3}, {"signal": "cart_items", "op": "<", "value": 4}]},
         "triggers[0].when.all[1]", "contradicts"),
        ({"any": [{"signal": "scroll_depth", "op": ">", "value": 1}, {"signal": "exit_intent", "op": "<", "value": 0}]},
         "triggers[0].when.any[0]", "can never hold"),
    ],
)  # fmt: skip
def test_a_trigger_that_can_never_fire(demo_source, when, path, fragment):
    found = messages(with_trigger(demo_source, when=when))
    assert any(m.startswith(path) and fragment in m for m in found), found


def test_an_any_with_one_possible_branch_is_fine(demo_source):
    when = {"all": [{"signal": "cart_items"},
                    {"any": [{"signal": "scroll_depth", "op": ">", "value": 1}, {"signal": "exit_intent"}]}]}  # fmt: skip
    assert messages(with_trigger(demo_source, when=when)) == []


def test_urls_that_are_pages_of_another_kind(demo_source):
    found = messages(with_trigger(demo_source, urls=["/blog/*"]))
    assert found == ["triggers[0].urls[0]: '/blog/x' is a article page by [pages], and the trigger only fires on "
                     "cart, product, pricing, checkout"]  # fmt: skip


@pytest.mark.parametrize(
    "message, fragment",
    [
        ("Take {percnt}% off", "unknown placeholder {percnt}"),
        ("Take {percnt}% off", "did you mean {percent}?"),
        ("Save {amount} today with {code}", "{amount} has nothing to fill it"),
    ],
)
def test_placeholders(demo_source, message, fragment):
    assert any(fragment in m for m in messages(with_trigger(demo_source, message=message)))


def test_code_without_an_offer(demo_source):
    source = copy.deepcopy(demo_source)
    source["triggers"][2]["message"] = "Use {code} to compare"  # pricing_compare has no offer
    assert messages(Playbook.from_dict(source)) == [
        "triggers[2].message: {code} has nothing to fill it: the trigger's offer does not define it"
    ]


def test_big_discounts_noisy_pages_and_short_cooldowns(demo_source):
    source = copy.deepcopy(demo_source)
    source["offers"]["cart10"]["percent"] = 40
    source["limits"]["cooldown"] = 600
    source["triggers"][0]["pages"] = ["cart", "home"]
    found = messages(Playbook.from_dict(source))
    assert any(m.startswith("offers.cart10.percent: 40%") for m in found)
    assert any(m.startswith("limits.cooldown: 600 s") for m in found)
    assert any(m.startswith("triggers[0].pages: fires on home pages") for m in found)


def test_check_prints_warnings_and_strict_fails(tmp_path, capsys, demo_source):
    import json

    source = copy.deepcopy(demo_source)
    source["triggers"][0]["message"] = "Take {percnt}% off with {code}"
    path = tmp_path / "pb.json"
    path.write_text(json.dumps(source))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: triggers[0].message: unknown placeholder {percnt}" in out and "1 warning" in out
    assert main(["check", "--strict", str(path)]) == 2
    assert main(["check", "--strict", "demo/playbook.toml"]) == 0


OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
       "==": lambda a, b: a == b, "!=": lambda a, b: a != b}  # fmt: skip
VALUES = (0, 0.5, 1, 2)
# signal: (its smallest value, its largest, whether it counts whole things)
DOMAINS = {"cart_items": (0, math.inf, True), "scroll_depth": (0, 1.0, False), "idle_for": (0, math.inf, False)}


def can_hold(signal, leaves):
    """The oracle: try every value that could matter (each threshold, just beside it, between two)."""
    lo, hi, whole = DOMAINS[signal]
    if whole:
        candidates = range(0, 6)
    else:
        points = sorted({lo, *(v for _, v in leaves), *(v + d for _, v in leaves for d in (-1e-6, 1e-6))})
        candidates = [*points, *((a + b) / 2 for a, b in itertools.pairwise(points)), 1000.0]
    return any(lo <= x <= hi and all(OPS[op](x, v) for op, v in leaves) for x in candidates)


@pytest.mark.parametrize("signal", sorted(DOMAINS))
def test_never_fires_agrees_with_trying_every_value_that_matters(demo_source, signal):
    # (It found that "== 2, <= 0, == 2" passed: an equality was checked against one bound at a time.)
    ops = (">=", "<", "<=") if signal == "idle_for" else tuple(OPS)  # a time signal only grows, then resets
    leaves = [(op, v) for op in ops for v in VALUES]
    cases = [list(pair) for pair in itertools.product(leaves, repeat=2)]
    cases += [list(triple) for i, triple in enumerate(itertools.product(leaves, repeat=3)) if i % 7 == 0]
    wrong = []
    for case in cases:
        when = {"all": [{"signal": "exit_intent"}, *({"signal": signal, "op": op, "value": v} for op, v in case)]}
        flagged = any(m.startswith("triggers[0].when") for m in messages(with_trigger(demo_source, when=when)))
        if flagged == can_hold(signal, case):
            wrong.append((case, flagged))
    assert not wrong, wrong[:5]


def test_variants_on_two_triggers_need_hash_version_two(demo_source):
    source = copy.deepcopy(demo_source)
    source["triggers"][0]["variants"] = [{"id": "a"}, {"id": "b"}]
    assert messages(Playbook.from_dict(source)) == []  # one trigger with variants: nothing to tie
    source["triggers"][1]["variants"] = [{"id": "c"}, {"id": "d"}]
    assert messages(Playbook.from_dict(source)) == [
        "holdout.hash_version: cart_exit and pricing_compare have variants: under hash version 1 a visitor's "
        "variant of one decides their variant of the others (FNV-1a's low bits); set hash_version = 2 before "
        "their experiment starts (it reassigns every visitor)"]  # fmt: skip
    source["holdout"]["hash_version"] = 2
    assert messages(Playbook.from_dict(source)) == []


# -- each warning word for word, at its boundary -----------------------------------------------------

KNOWN = "known: code, percent, amount, description, product"


def test_the_warnings_read_word_for_word(demo_source):
    source = copy.deepcopy(demo_source)
    source["offers"]["cart10"]["percent"] = 20.5
    source["limits"]["cooldown"] = 86399.5
    source["triggers"][0]["pages"] = ["home", "cart", "category"]
    assert messages(Playbook.from_dict(source)) == [
        "triggers[0].pages: fires on home and category pages: the lift there is small and visitors learn to dismiss; "
        "prefer product, pricing or cart",
        "offers.cart10.percent: 20.5% is more than a small nudge (above 20%)",
        "limits.cooldown: 86399.5 s of quiet after a dismissal is less than a day: too short and you nag",
    ]  # fmt: skip
    source["offers"]["cart10"]["percent"] = 20  # exactly the guide's small discount, and exactly a day
    source["limits"]["cooldown"] = 86400
    source["triggers"][0]["pages"] = ["cart"]
    assert messages(Playbook.from_dict(source)) == []


def test_warnings_come_in_the_order_the_author_wrote_the_triggers(demo_source):
    source = copy.deepcopy(demo_source)
    source["triggers"][0]["priority"] = -5  # decided last, written first
    source["triggers"][0]["message"] = "Use {cde}"
    source["triggers"][3]["message"] = "Use {zzz}"  # welcome_back_cart, fourth in the file
    source["triggers"][2]["message"] = "Use {prise}"
    assert [f.path for f in lint(Playbook.from_dict(source))] == ["triggers[0].message", "triggers[2].message", "triggers[3].message"]
    assert messages(Playbook.from_dict(source)) == [
        f"triggers[0].message: unknown placeholder {{cde}}: visitors would read it as is ({KNOWN}); did you mean {{code}}?",
        f"triggers[2].message: unknown placeholder {{prise}}: visitors would read it as is ({KNOWN}); did you mean {{percent}}?",
        f"triggers[3].message: unknown placeholder {{zzz}}: visitors would read it as is ({KNOWN})",  # no near name, no hint
    ]  # fmt: skip


@pytest.mark.parametrize("offer, fillable", [
    ({"type": "discount", "code": "TEN", "percent": 10}, {"code", "percent", "product"}),
    ({"type": "discount", "code": "FIVE", "amount": 5}, {"code", "amount", "product"}),
    ({"type": "info", "description": "Our size guide"}, {"description", "product"}),
    ({"type": "info"}, {"product"}),
])  # fmt: skip
def test_a_placeholder_is_fillable_exactly_when_the_offer_defines_it(demo_source, offer, fillable):
    source = copy.deepcopy(demo_source)
    source["offers"] = {"only": offer}
    source["triggers"][0].update(kind="questions", offer="only", message="{code} {percent} {amount} {description} {product}")
    found = messages(Playbook.from_dict(source))
    empty = [name for name in ("code", "percent", "amount", "description", "product") if name not in fillable]
    assert found == [f"triggers[0].message: {{{name}}} has nothing to fill it: the trigger's offer does not define it" for name in empty]


def test_three_contradicting_thresholds_are_named_at_the_last(demo_source):
    when = {"all": [{"signal": "cart_items", "op": ">=", "value": 5}, {"signal": "cart_items", "op": "<=", "value": 6},
                    {"signal": "cart_items", "op": "!=", "value": 5}, {"signal": "cart_items", "op": "!=", "value": 6}]}  # fmt: skip
    assert messages(with_trigger(demo_source, when=when)) == [
        "triggers[0].when.all[3]: contradicts the other thresholds on the same signal: "
        "cart_items >= 5 and cart_items <= 6 and cart_items != 5 and cart_items != 6"]  # fmt: skip
    when["all"][3]["value"] = 7  # 6 is left
    assert messages(with_trigger(demo_source, when=when)) == []


def test_a_url_glob_is_tried_with_its_wildcards_filled(demo_source):
    source = copy.deepcopy(demo_source)
    source["pages"]["product"] = ["/px/*"]
    source["triggers"][0].update(pages=["cart"], urls=["/p?/x", "/nowhere/*"])  # the second is no kind: fine
    assert messages(Playbook.from_dict(source)) == [
        "triggers[0].urls[0]: '/px/x' is a product page by [pages], and the trigger only fires on cart"]  # fmt: skip
