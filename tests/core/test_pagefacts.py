"""Product facts the page states (schema.org JSON-LD, data-tactful-fact): read at intake, answered
from on the card, kept out of the stored record, sent to the proxy only at the context level."""

from __future__ import annotations

import base64
import json

import pytest

from tactful.core import Engine, Host, Playbook, PlaybookError, ReplyRequest, decode, facts_from_jsonld

TREATED = "809d4580aaed41565abc38d58f77f840"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

BOOTS = {
    "@context": "https://schema.org", "@type": "Product", "name": "Trail boots",
    "description": "Waterproof   leather boots\nfor muddy trails.", "material": ["Leather", "Rubber"],
    "brand": {"@type": "Brand", "name": "Fieldhouse"},
    "offers": [{"@type": "Offer", "price": 129, "priceCurrency": "EUR", "availability": "https://schema.org/InStock"}],
    "additionalProperty": [{"@type": "PropertyValue", "name": "Sizing", "value": "Runs small: take a size up."},
                           {"@type": "PropertyValue", "name": "Delivery time", "value": "2-4 working days"},
                           {"@type": "PropertyValue", "name": "42", "value": "an id must start with a letter"}],
}  # fmt: skip


def test_a_schema_org_product_becomes_facts():
    assert facts_from_jsonld([json.dumps(BOOTS)]) == {
        "description": "Waterproof leather boots for muddy trails.", "material": "Leather, Rubber",
        "brand": "Fieldhouse", "price": "129 EUR", "availability": "In stock",
        "sizing": "Runs small: take a size up.", "delivery_time": "2-4 working days",
    }  # fmt: skip


@pytest.mark.parametrize("blocks", [
    ["{not json", json.dumps(BOOTS)],                                          # a broken block is skipped
    [json.dumps({"@type": "Organization", "name": "Shop"}), json.dumps(BOOTS)],  # not a product
    [json.dumps({"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, BOOTS]})],
    [json.dumps([{"@type": "BreadcrumbList"}, {**BOOTS, "@type": ["Product", "Thing"]}])],
])  # fmt: skip
def test_the_product_is_found_wherever_the_page_put_it(blocks):
    assert facts_from_jsonld(blocks)["sizing"] == "Runs small: take a size up."


@pytest.mark.parametrize("blocks", [[], ["null"], ["[]"], ['{"@type": "Product"}'], ["1" * 40_000],
                                    [json.dumps({"@graph": {"@graph": {"@graph": {"@graph": {"@graph": BOOTS}}}}})]])
def test_nothing_usable_is_no_facts(blocks):
    assert facts_from_jsonld(blocks) == {}


def page(t, facts=None, jsonld=None, url="/p/boots"):
    event = {"t": t, "type": "page_view", "url": url, "kind": "product", "product": "Trail boots", "p": f"p{t}", "n": 0}
    if facts is not None:
        event["facts"] = facts
    if jsonld is not None:
        event["jsonld"] = jsonld
    return event


def test_page_view_facts_merge_the_json_ld_with_the_pages_own_attributes(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([page(0, {"delivery": "Next week.", "sizing": "True to size."}, [json.dumps(BOOTS)])], now=1)
    assert engine.page_facts["sizing"] == "True to size."  # the data-tactful-fact element wins
    assert engine.page_facts["delivery"] == "Next week." and engine.page_facts["material"] == "Leather, Rubber"
    assert b"Leather, Rubber" not in engine.state.to_bytes()  # never in the stored record
    engine.feed([page(5)], now=6)
    assert engine.page_facts == {}  # a new page states its own


@pytest.mark.parametrize("facts", [{"Sizing": "x"}, {"size guide": "x"}, {"sizing": 3}, ["sizing"], "sizing"])
def test_malformed_facts_are_dropped_and_counted_and_the_page_still_counts(demo_playbook, facts):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    engine.feed([page(0, facts)], now=1)
    assert engine.page is not None and engine.page.kind == "product" and engine.page_facts == {}
    assert engine.dropped == {"page_view.facts": 1}


def test_long_facts_are_cut_empty_ones_skipped_and_many_kept_to_sixteen(demo_playbook):
    engine = Engine(demo_playbook, visitor_id=TREATED)
    many = {"care": "Wax  them\n" + "x" * 500, "empty": " \n ", **{f"f{i:02}": "x" for i in range(20)}}
    engine.feed([page(0, many, [json.dumps(BOOTS)] * 9)], now=1)
    assert engine.page_facts["care"].startswith("Wax them x") and len(engine.page_facts["care"]) == 400
    assert "empty" not in engine.page_facts and "f14" in engine.page_facts and "f15" not in engine.page_facts
    assert engine.dropped == {}


def shown_card(playbook, facts):
    host = Host(json.dumps(playbook.source), TREATED, None, json.dumps({"user_agent": UA, "languages": ["en"]}))
    events = [{"t": 0, "type": "client", "user_agent": UA, "languages": ["en"], "p": "a", "n": 0},
              {**page(0, facts), "p": "a", "n": 1},
              {"t": 1, "type": "scroll", "depth": 0.5, "human": True, "p": "a", "n": 2}] + [
              {"t": t, "type": "activity", "p": "a", "n": t} for t in range(3, 40, 3)]  # fmt: skip
    cards = [c for c in json.loads(host.feed(json.dumps(events), 40)) if c["action"] == "intervene"]
    assert [c["trigger"] for c in cards] == ["product_questions"]
    return host, cards[0]


def test_the_card_offers_only_the_questions_the_page_answers_and_carries_the_answers(demo_playbook):
    _, card = shown_card(demo_playbook, {"sizing": "True to size.", "delivery": "Two days."})
    assert card["questions"] == ["Which size should I pick?", "When would it arrive?"]  # no material on this page
    assert card["answers"] == {"Which size should I pick?": "True to size.", "When would it arrive?": "Two days."}
    _, bare = shown_card(demo_playbook, None)
    assert bare["questions"] == [] and "answers" not in bare  # the question box alone


def test_plain_string_questions_stay_and_go_to_the_proxy(demo_source):
    source = json.loads(json.dumps(demo_source))
    trig = next(t for t in source["triggers"] if t["id"] == "product_questions")
    trig["questions"] = ["Is it waterproof?", {"text": "Which size should I pick?", "fact": "sizing"}]
    _, card = shown_card(Playbook.from_dict(source), {"sizing": "True to size."})
    assert card["questions"] == ["Is it waterproof?", "Which size should I pick?"]
    assert card["answers"] == {"Which size should I pick?": "True to size."}


@pytest.mark.parametrize("level, sent", [("minimal", None), ("context", (("sizing", "True to size."),))])
def test_the_pages_facts_reach_the_proxy_only_at_the_context_level(demo_source, level, sent):
    host, _ = shown_card(Playbook.from_dict({**demo_source, "privacy": {"level": level}}), {"sizing": "True to size."})
    body = base64.b64decode(host.reply_request_b64("product_questions", "Is it warm?", "[]"))
    assert decode(ReplyRequest, body).facts == sent


@pytest.mark.parametrize("question, field", [
    ({"text": "Which size?", "fact": "Sizing"}, "triggers[2].questions[0].fact"),
    ({"text": "Which size?"}, "triggers[2].questions[0].fact"),
    ({"text": "", "fact": "sizing"}, "triggers[2].questions[0].text"),
    ({"text": "Which size?", "fact": "sizing", "answer": "M"}, "triggers[2].questions[0].answer"),
    ("", "triggers[2].questions[0]"),
])  # fmt: skip
def test_a_bad_question_names_its_field(demo_source, question, field):
    source = json.loads(json.dumps(demo_source))
    trig = next(t for t in source["triggers"] if t["id"] == "product_questions")
    trig["questions"] = [question]
    with pytest.raises(PlaybookError) as caught:
        Playbook.from_dict(source)
    assert field in str(caught.value)


def test_every_property_read_and_the_limits_that_bound_them():
    product = {"@type": "Product", "size": "EU 42", "color": ["Brown", 7, None, True], "sku": 1234,
               "brand": "Fieldhouse", "offers": {"price": 99.5}, "material": "Leather",
               "additionalProperty": [{"name": "Material", "value": "Wool"},   # the first value of an id wins
                                      {"name": "  Fit & feel ", "value": "Snug"}, {"value": "no name"},
                                      *({"name": f"extra {i}", "value": str(i)} for i in range(20))]}  # fmt: skip
    facts = facts_from_jsonld([json.dumps(product)])
    assert {k: facts[k] for k in ("size", "color", "sku", "brand", "price", "material", "fit_feel")} == {
        "size": "EU 42", "color": "Brown, 7", "sku": "1234", "brand": "Fieldhouse", "price": "99.5",
        "material": "Leather", "fit_feel": "Snug"}  # fmt: skip
    assert "availability" not in facts and len(facts) == 16 and "extra_8" in facts and "extra_9" not in facts


def test_blocks_past_the_limits_are_not_read():
    boots = json.dumps(BOOTS)
    assert facts_from_jsonld(["[]"] * 3 + [boots]) != {}  # the fourth block is read
    assert facts_from_jsonld(["[]"] * 4 + [boots]) == {}  # the fifth is not
    padded = boots[:-1] + ', "x": "' + "y" * (32 * 1024 - len(boots) - 9) + '"}'
    assert len(padded) == 32 * 1024 and facts_from_jsonld([padded]) != {}  # exactly the limit: read
    assert facts_from_jsonld([padded[:-2] + 'y"}']) == {}  # one character more: not read
    nested = BOOTS
    for _ in range(4):
        nested = {"@graph": [nested]}
    assert facts_from_jsonld([json.dumps(nested)]) == {}  # nested deeper than a page would
    assert facts_from_jsonld([json.dumps({"@graph": [{"@graph": [BOOTS]}]})]) != {}
    assert facts_from_jsonld([json.dumps([{"@type": "Thing"}] * 32 + [BOOTS])]) == {}  # a list past 32 items
    assert facts_from_jsonld([json.dumps([{"@type": "Thing"}] * 31 + [BOOTS])]) != {}


@pytest.mark.parametrize("name, fid", [("Delivery time", "delivery_time"), ("42 sizes", None), ("Size—guide!", "size_guide"),
                                       ("x" * 40, "x" * 32), ("", None)])
def test_fact_ids_from_property_names(name, fid):
    facts = facts_from_jsonld([json.dumps({"@type": "Product", "additionalProperty": [{"name": name, "value": "v"}]})])
    assert facts == ({fid: "v"} if fid else {})


def test_edges_of_offers_names_lists_and_blocks():
    product = {"@type": "Product", "offers": {"priceCurrency": "EUR", "availability": "InStock"},
               "color": [f"c{i}" for i in range(9)],
               "additionalProperty": [{"name": "A4 paper", "value": "no"}, {"name": "Ab size", "value": "yes"}]}  # fmt: skip
    facts = facts_from_jsonld([json.dumps(product)])
    assert "price" not in facts  # a currency without a price is no price
    assert facts["availability"] == "In stock" and facts["color"] == ", ".join(f"c{i}" for i in range(8))
    assert facts["a4_paper"] == "no" and facts["ab_size"] == "yes"  # an id starts with a letter, then anything
    # A block too long or not text is passed over; the next is still read.
    assert facts_from_jsonld(["x" * 40_000, json.dumps(BOOTS)])["sizing"] == "Runs small: take a size up."
