"""The playbook field by field: what each offer fills into a template, what the server's and the
browser's copies hold, and each variant field's bounds with the exact problem it names. Expected
values are written out from the playbook reference (README.md) and the demo playbook."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_playbook import problems  # every problem, by field path

from tactful.core import Playbook, PlaybookError, load_playbook

ROOT = Path(__file__).resolve().parents[2]


def with_variants(demo_source, variants, **offers):
    source = copy.deepcopy(demo_source)
    source["offers"].update(offers)
    source["triggers"][0]["variants"] = variants  # cart_exit, whose offer is cart10 (10 %, SAVE10)
    return source


FIVE_OFF = {"type": "discount", "code": "FIVE", "amount": 5, "description": "5 off the order"}


# -- offers in templates -----------------------------------------------------------------------------


def test_each_offer_fills_exactly_its_own_fields(demo_source):
    pb = Playbook.from_dict(with_variants(demo_source, [{"id": "plain"}, {"id": "flat", "offer": "five"}], five=FIVE_OFF))
    assert pb.offers["cart10"].template_fields() == {
        "code": "SAVE10", "percent": "10", "amount": "", "description": "10% off everything in the cart"}  # fmt: skip
    assert pb.offers["five"].template_fields() == {"code": "FIVE", "percent": "", "amount": "5", "description": "5 off the order"}
    half = {**FIVE_OFF, "amount": 2.5}
    assert Playbook.from_dict(with_variants(demo_source, [{"id": "a"}, {"id": "b"}], five=half)).offers["five"].template_fields()["amount"] == "2.5"


def test_a_variant_with_its_own_offer_renders_that_offer(demo_source):
    variants = [{"id": "plain"}, {"id": "flat", "offer": "five", "message": "{amount} off with {code}: {description}."}]
    trig = Playbook.from_dict(with_variants(demo_source, variants, five=FIVE_OFF)).trigger("cart_exit")
    flat = trig.variant("flat")
    assert flat is trig.variants[1] and trig.variant("plain") is trig.variants[0] and trig.variant("nope") is None
    assert trig.render(None, flat) == "5 off with FIVE: 5 off the order."
    assert trig.render({"code": "MINE"}, flat) == "5 off with MINE: 5 off the order."  # extra fields win


def test_a_field_nothing_fills_stays_as_written(demo_source):
    variants = [{"id": "plain"}, {"id": "odd", "message": "Take {percent}% off, {visitor_name}."}]
    trig = Playbook.from_dict(with_variants(demo_source, variants)).trigger("cart_exit")
    assert trig.render(None, trig.variant("odd")) == "Take 10% off, {visitor_name}."  # (tactful lint warns)


# -- the server's copy and the browser's -------------------------------------------------------------


def test_the_servers_copy_is_canonical_json(demo_playbook):
    text = demo_playbook.to_json()
    assert text.startswith('{"bot":') or text.startswith('{"followup":')  # sorted keys, not the file's order
    assert json.loads(text) == demo_playbook.source
    assert text == json.dumps(demo_playbook.source, sort_keys=True, separators=(",", ":"))  # no spaces anywhere
    assert '", "' not in text and '": ' not in text.replace('?": ', "")


def test_the_browsers_copy_holds_no_follow_up_target_at_any_level(demo_source):
    source = copy.deepcopy(demo_source)
    source["triggers"][4]["followup"] = {"webhook": "https://crm.example/hooks/leads"}
    pb = Playbook.from_dict(source)
    public = pb.public_json()
    assert "crm.example" not in public and "sales@demo-shop.test" not in public
    data = json.loads(public)
    assert data["followup"] == {"held_by_server": True}
    assert data["triggers"][4]["followup"] == {"held_by_server": True}
    assert [t for t in data["triggers"][:4] if "followup" in t] == []  # none added where there was none
    assert public == json.dumps(data, sort_keys=True, separators=(",", ":"))
    without = copy.deepcopy(demo_source)
    del without["followup"], without["triggers"][4]  # no lead trigger: no follow-up needed
    assert "followup" not in json.loads(Playbook.from_dict(without).public_json())


def test_a_url_without_a_path_is_the_root(demo_playbook):
    assert demo_playbook.page_kind("/") == "home"
    assert demo_playbook.page_kind("https://shop.test") == demo_playbook.page_kind("https://shop.test?x=1") == "home"


# -- loading -----------------------------------------------------------------------------------------


def test_toml_is_the_default_format():
    pb = load_playbook((ROOT / "demo" / "playbook.toml").read_text())
    assert pb.site == "demo-shop"


def test_a_syntax_error_is_a_problem_of_the_whole_file():
    with pytest.raises(PlaybookError) as info:
        load_playbook("site = ")
    ((path, text),) = info.value.problems
    assert path == "" and text.startswith("not valid TOML: ")
    with pytest.raises(PlaybookError) as info:
        load_playbook("{", "json")
    assert info.value.problems[0][0] == "" and info.value.problems[0][1].startswith("not valid JSON: ")


def test_a_section_that_is_not_a_table_is_named(demo_source):
    assert problems({**demo_source, "limits": 5})["limits"] == "must be a table"


# -- variants ----------------------------------------------------------------------------------------


def test_two_to_eight_variants(demo_source):
    eight = [{"id": f"v{i}"} for i in range(8)]
    assert len(Playbook.from_dict(with_variants(demo_source, eight)).trigger("cart_exit").variants) == 8
    nine = [{"id": f"v{i}"} for i in range(9)]
    assert problems(with_variants(demo_source, nine)) == {
        "triggers[0].variants": "a list of 2 to 8 tables {id, message?, title?, offer?}"}  # fmt: skip


def test_every_bad_variant_is_named_not_only_the_first(demo_source):
    bad = [{"id": "one"}, "plain", {"id": "Not An Id"}, {"id": 5}, {"id": "one"}, {"id": "x", "offer": ["cart10"]}]
    assert problems(with_variants(demo_source, bad)) == {
        "triggers[0].variants[1]": "must be a table",
        "triggers[0].variants[2].id": "required: a lower_snake_case id, unique in the trigger",
        "triggers[0].variants[3].id": "required: a lower_snake_case id, unique in the trigger",
        "triggers[0].variants[4].id": "required: a lower_snake_case id, unique in the trigger",
        "triggers[0].variants[5].offer": "unknown offer ['cart10']",
    }  # fmt: skip


def test_a_variants_words_have_their_own_limits(demo_source):
    fits = [{"id": "a", "message": "m" * 600, "title": "t" * 120}, {"id": "b", "title": "Wait!"}]
    trig = Playbook.from_dict(with_variants(demo_source, fits)).trigger("cart_exit")
    assert (trig.variants[0].message, trig.variants[0].title) == ("m" * 600, "t" * 120)
    assert (trig.variants[1].message, trig.variants[1].title) == (trig.message, "Wait!")
    long = [{"id": "a", "message": "m" * 601}, {"id": "b", "title": "t" * 121}]
    assert problems(with_variants(demo_source, long)) == {
        "triggers[0].variants[0].message": "must be a string of at most 600 characters",
        "triggers[0].variants[1].title": "must be a string of at most 120 characters",
    }  # fmt: skip


def test_the_hash_version_is_one_or_two(demo_source):
    source = copy.deepcopy(demo_source)
    source["holdout"]["hash_version"] = 2
    assert Playbook.from_dict(source).holdout.hash_version == 2
    source["holdout"]["hash_version"] = 3
    assert problems(source) == {"holdout.hash_version": "must be a whole number from 1 to 2"}
    del source["holdout"]["hash_version"]
    assert Playbook.from_dict(source).holdout.hash_version == 1  # a running experiment is never reshuffled


def test_a_variant_is_chosen_under_hash_version_one_unless_told(demo_source):
    trig = Playbook.from_dict(with_variants(demo_source, [{"id": "a"}, {"id": "b"}, {"id": "c"}])).trigger("cart_exit")
    visitors = [f"v{i}" for i in range(50)]
    by_default = [trig.variant_for("salt", v).id for v in visitors]
    assert by_default == [trig.variant_for("salt", v, 1).id for v in visitors]  # a running experiment keeps its split
    assert by_default != [trig.variant_for("salt", v, 2).id for v in visitors]
    assert set(by_default) == {"a", "b", "c"}
