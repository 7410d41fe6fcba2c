"""Every field of the event vocabulary at its limits: the largest value kept, the next one dropped
(an optional field) or the event refused (a required one). Limits are the README's event table
and the wire's: names 120 characters, URLs 2,048, hover targets 128, trigger ids 64."""

from __future__ import annotations

import pytest

from tactful.core import Event, clean_event

BASE = {"cart": {"items": 1}, "page_view": {"url": "/"}}  # each type's required fields


def kept(raw):
    event = clean_event({"t": 1, **BASE.get(raw["type"], {}), **raw})
    assert isinstance(event, Event), event
    return event


# (type, field, largest kept, smallest dropped): optional fields.
OPTIONAL = [
    ("exit_intent", "source", "s" * 32, "s" * 33),
    ("cart", "currency", "E" * 8, "E" * 9),
    ("cart", "value", 0, -0.01),
    ("convert", "value", 0.0, -1),
    ("lead", "trigger", "l" * 64, "l" * 65),
    ("client", "user_agent", "u" * 512, "u" * 513),
    ("client", "plugins", 1000, 1001),
    ("client", "plugins", 0, -1),
    ("client", "width", 100_000, 100_001),
    ("client", "height", 100_000, 100_001),
    ("client", "languages", ["en"] * 32, ["en"] * 33),
    ("client", "languages", ["x" * 64], ["x" * 65]),
    ("client", "languages", ("en", "de"), ["en", ""]),
    ("client", "webdriver", False, 0),
    ("client", "headless", True, "true"),
    ("client", "gpc", True, 1),
    ("client", "test", False, None),
]


@pytest.mark.parametrize(("etype", "name", "good", "bad"), OPTIONAL)
def test_an_optional_field_at_its_limit_is_kept_and_past_it_dropped(etype, name, good, bad):
    event = kept({"type": etype, name: good})
    assert name in event.data and event.dropped == ()
    want = list(good) if name == "languages" else float(good) if name == "value" else good
    assert event.data[name] == want and type(event.data[name]) is type(want)
    past = kept({"type": etype, name: bad})
    assert name not in past.data
    assert past.dropped == (() if bad is None else (name,))  # None is "not given", not "malformed"


# (type, field, largest kept, smallest refused): required fields.
REQUIRED = [
    ("dismiss", "trigger", "d" * 64, "d" * 65),
    ("accept", "trigger", "a" * 64, "a" * 65),
    ("scroll", "depth", 1.0, 1.0001),
    ("scroll", "depth", 0, -0.0001),
    ("cart", "items", 1_000_000, 1_000_001),
    ("cart", "items", 0, -1),
]


@pytest.mark.parametrize(("etype", "name", "good", "bad"), REQUIRED)
def test_a_required_field_at_its_limit_is_kept_and_past_it_refused(etype, name, good, bad):
    assert kept({"type": etype, name: good}).data[name] == good
    assert clean_event({"t": 1, "type": etype, name: bad}) == "bad_field"


@pytest.mark.parametrize(("etype", "name", "limit"), [
    ("page_view", "url", 2048), ("page_view", "product", 120), ("page_view", "category", 120),
    ("hover", "target", 128), ("track", "name", 64),
])  # fmt: skip
def test_names_and_urls_are_cut_not_refused(etype, name, limit):
    assert kept({"type": etype, name: "n" * limit}).data[name] == "n" * limit
    assert kept({"type": etype, name: "n" * (limit + 1)}).data[name] == "n" * limit


def test_a_page_states_sixteen_facts_of_four_hundred_characters():
    many = {f"fact_{i:02d}": f"value {i}" for i in range(20)}
    facts = kept({"type": "page_view", "url": "/", "facts": many}).data["facts"]
    assert list(facts) == [f"fact_{i:02d}" for i in range(16)]  # the first sixteen, in the page's order
    tidy = kept({"type": "page_view", "url": "/", "facts": {"sizing": "  true \n to\tsize ", "empty": "  ", "long": "x" * 401}})
    assert tidy.data["facts"] == {"sizing": "true to size", "long": "x" * 400}  # spacing tidied, blanks left out
    blanks = {"blank": " ", **{f"fact_{i:02d}": "v" for i in range(16)}}
    assert len(kept({"type": "page_view", "url": "/", "facts": blanks}).data["facts"]) == 16  # a blank takes no place


@pytest.mark.parametrize("facts", [
    {"Sizing": "x"}, {"1st": "x"}, {"a" * 33: "x"}, {"sizing": 5}, {5: "x"}, ["sizing"],
])  # fmt: skip
def test_a_malformed_fact_drops_the_facts_not_the_page(facts):
    event = kept({"type": "page_view", "url": "/p", "facts": facts})
    assert event.data == {"url": "/p"} and event.dropped == ("facts",)


def test_a_fact_id_may_be_thirty_two_characters():
    assert kept({"type": "page_view", "url": "/", "facts": {"a" * 32: "x"}}).data["facts"] == {"a" * 32: "x"}


def test_only_the_first_four_json_ld_blocks_are_read():
    block = '{"@type": "Product", "material": "%s"}'
    four = [block % "first", "{}", "{}", "{}", block % "fifth"]
    facts = kept({"type": "page_view", "url": "/", "jsonld": four}).data["jsonld"]
    assert facts.get("material") == "first"
    late = ["{}", "{}", "{}", "{}", block % "fifth"]
    assert kept({"type": "page_view", "url": "/", "jsonld": late}).data["jsonld"] == {}
    assert kept({"type": "page_view", "url": "/", "jsonld": ["{}", "{}", "{}", "{}", 5]}).dropped == ()  # not read


@pytest.mark.parametrize(("p", "n", "origin"), [
    ("x" * 64, 2**53, ("x" * 64, 2**53)),
    ("x" * 65, 1, ("", None)),
    ("", 1, ("", None)),
    ("tab", 2**53 + 1, ("tab", None)),
    ("tab", -1, ("tab", None)),
    ("tab", 3.0, ("tab", 3)),
    ("tab", True, ("tab", None)),
])  # fmt: skip
def test_the_origin_fields_at_their_limits(p, n, origin):
    event = kept({"type": "activity", "p": p, "n": n})
    assert (event.page, event.seq) == origin
