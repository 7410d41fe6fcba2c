"""Playbook validation names the field and refuses the guide's failure modes."""

from __future__ import annotations

import copy
import json

import pytest
from golden import merge

from tactful.cli import main
from tactful.core import Playbook, PlaybookError, load_playbook


def problems(source) -> dict[str, str]:
    with pytest.raises(PlaybookError) as info:
        Playbook.from_dict(source)
    return dict(info.value.problems)


def with_trigger(demo_source, index, **changes):
    source = copy.deepcopy(demo_source)
    source["triggers"][index].update(changes)
    return source


def test_demo_playbook_is_valid(demo_playbook):
    assert [t.id for t in demo_playbook.triggers] == [
        "cart_exit", "welcome_back_cart", "pricing_compare", "product_questions", "longform_lead",
    ]  # fmt: skip
    assert {t.id: t.phase for t in demo_playbook.triggers}["cart_exit"] == 1
    assert demo_playbook.holdout.fraction == 0.10


def test_ghost_greeter_is_refused(demo_source):
    source = with_trigger(demo_source, 1, when={"signal": "page_dwell", "op": ">=", "value": 5})
    assert "ghost greeter" in problems(source)["triggers[1].when"]


def test_time_alone_through_any_is_refused(demo_source):
    # One branch needs behaviour, the other only time: the tree can fire on time alone.
    when = {"any": [{"signal": "scroll_depth", "value": 0.5}, {"signal": "idle_for", "value": 30}]}
    assert "ghost greeter" in problems(with_trigger(demo_source, 0, when=when))["triggers[0].when"]


def test_a_negated_behaviour_is_not_behaviour(demo_source):
    when = {"all": [{"signal": "cart_added", "op": "==", "value": 0}, {"signal": "page_dwell", "value": 9}]}
    assert "ghost greeter" in problems(with_trigger(demo_source, 3, when=when))["triggers[3].when"]


def test_dead_handoff_is_refused(demo_source):
    source = copy.deepcopy(demo_source)
    del source["followup"]
    assert "dead handoff" in problems(source)["triggers[4].followup"]
    source["triggers"][4]["followup"] = {"webhook": "https://crm.example/hooks/leads"}
    Playbook.from_dict(source)


def test_zero_holdout_needs_force(demo_source):
    source = merge(demo_source, {"holdout": {"fraction": 0}})
    assert "holdout.force" in problems(source)["holdout.fraction"]
    assert Playbook.from_dict(merge(source, {"holdout": {"force": True}})).holdout.fraction == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"pages": ["support"]}, "triggers[2].pages[0]"),
        ({"pages": ["product", "account"]}, "triggers[2].pages[1]"),
        ({"urls": ["/returns/*"]}, "triggers[2].urls[0]"),
        ({"urls": ["/help/shipping*"]}, "triggers[2].urls[0]"),
    ],
)
def test_everything_chatbot_is_refused(demo_source, change, field):
    assert "support" in problems(with_trigger(demo_source, 2, **change))[field]


@pytest.mark.parametrize(
    "when, field, words",
    [
        ({"signal": "mood"}, "triggers[0].when.signal", "unknown signal"),
        ({"signal": "scroll_depth", "op": "~"}, "triggers[0].when.op", "must be one of"),
        ({"signal": "idle_for", "op": ">", "value": 4}, "triggers[0].when.op", "time signal"),
        ({"signal": "scroll_depth", "value": "deep"}, "triggers[0].when.value", "finite number"),
        ({"signal": "track"}, "triggers[0].when.name", "needs a `name`"),
        ({"all": []}, "triggers[0].when.all", "non-empty"),
        ({"all": [{"signal": "hovers", "colour": 1}]}, "triggers[0].when.all[0].colour", "unknown field"),
        ({"any": [{"signal": "exit_intent"}, {"nope": 1}]}, "triggers[0].when.any[1]", "exactly one"),
    ],
)
def test_condition_errors_name_the_field(demo_source, when, field, words):
    assert words in problems(with_trigger(demo_source, 0, when=when))[field]


def test_every_problem_is_reported_at_once(demo_source):
    source = merge(demo_source, {"limits": {"per_session": -1}, "privacy": {"level": "everything"}})
    source["triggers"][0]["kind"] = "popup"
    source["triggers"][1]["offer"] = "nope"
    found = problems(source)
    assert {"limits.per_session", "privacy.level", "triggers[0].kind", "triggers[1].offer"} <= set(found)


def test_discount_without_code_and_unknown_fields(demo_source):
    source = merge(demo_source, {"offers": {"cart10": {"code": ""}}, "colour": "red"})
    found = problems(source)
    assert "code" in found["offers.cart10.code"]
    assert found["colour"] == "unknown field"


def test_duplicate_ids_and_bad_version(demo_source):
    source = copy.deepcopy(demo_source)
    source["version"] = 9
    source["triggers"][1]["id"] = "cart_exit"
    found = problems(source)
    assert "duplicate" in found["triggers[1].id"]
    assert "unsupported" in found["version"]


def test_json_and_toml_give_the_same_playbook(demo_source, demo_playbook):
    from_json = load_playbook(json.dumps(demo_source), "json")
    assert from_json.to_json() == demo_playbook.to_json()


def test_syntax_errors_are_playbook_errors():
    with pytest.raises(PlaybookError, match="not valid TOML"):
        load_playbook("site = ")


def test_page_kinds_and_scope(demo_playbook):
    assert demo_playbook.page_kind("https://shop.test/p/boots?ref=x") == "product"
    assert demo_playbook.page_kind("/unknown") == "other"
    assert not demo_playbook.in_scope("other", "/faq/shipping")
    assert not demo_playbook.in_scope("support", "/anything")
    assert demo_playbook.in_scope("cart", "/cart")


def test_templates_fill_offer_fields(demo_playbook):
    text = demo_playbook.trigger("cart_exit").render()
    assert "10%" in text and "SAVE10" in text and "{" not in text


def test_check_cli_ok(root, capsys):
    assert main(["check", str(root / "demo" / "playbook.toml")]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "cart_exit" in out and "holdout 10%" in out


def test_check_cli_names_fields_and_exits_2(tmp_path, demo_source, capsys):
    bad = copy.deepcopy(demo_source)
    bad["triggers"][4]["when"] = {"signal": "session_time", "value": 60}
    bad["holdout"] = {"fraction": 0}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "triggers[4].when:" in err and "holdout.fraction:" in err


def test_check_cli_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_public_copy_keeps_that_a_lead_has_a_follow_up_but_not_where(demo_playbook, demo_source):
    public = Playbook.from_dict(json.loads(demo_playbook.public_json()))
    lead = next(t for t in public.triggers if t.kind == "lead")
    assert lead.followup.configured and not lead.followup.email and not lead.followup.webhook
    with pytest.raises(PlaybookError) as err:
        Playbook.from_dict({**demo_source, "followup": {"email": "a@b.example", "held_by_server": True}})
    assert "followup.held_by_server" in str(err.value.problems)


def test_variant_errors_name_the_field(demo_source):
    bad = [{"id": "ten"}, {"id": "ten"}, {"id": "x", "offer": "nope", "colour": "red"}, "plain"]
    found = problems(with_trigger(demo_source, 0, variants=bad))
    assert "unique" in found["triggers[0].variants[1].id"]
    assert "unknown offer 'nope'" in found["triggers[0].variants[2].offer"]
    assert found["triggers[0].variants[2].colour"] == "unknown field"
    assert "table" in found["triggers[0].variants[3]"]
    assert "2 to 8" in problems(with_trigger(demo_source, 0, variants=[{"id": "one"}]))["triggers[0].variants"]


def test_variants_inherit_words_and_offer_and_split_visitors(demo_source):
    source = with_trigger(demo_source, 0, variants=[{"id": "plain"}, {"id": "short", "title": "Wait!", "message": "Code {code}."}])
    trig = Playbook.from_dict(source).trigger("cart_exit")
    plain, short = trig.variants
    assert (plain.message, plain.title, plain.offer) == (trig.message, trig.title, trig.offer)
    assert trig.render(None, short) == f"Code {trig.offer.code}."
    seen = {trig.variant_for("salt", f"v{i}").id for i in range(200)}
    assert seen == {"plain", "short"}
    assert all(trig.variant_for("salt", "v7") == trig.variant_for("salt", "v7") for _ in range(3))
