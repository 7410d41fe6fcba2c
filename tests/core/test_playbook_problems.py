"""Every setting of the playbook at its bounds: the value just inside is read as written, the
value just outside is refused with the one problem that names it, word for word, and a setting
left out takes the default the playbook reference (README.md) gives. The expected paths and
messages are written out here, not computed from the validator."""

from __future__ import annotations

import copy
from dataclasses import asdict

import pytest

from tactful.core import Playbook, PlaybookError, TactfulError

BEHAVIOUR = {"signal": "scroll_depth", "op": ">=", "value": 0.5}


def minimal(**top) -> dict:
    """The smallest valid playbook: a site and one trigger, everything else left to its default."""
    source = {"site": "shop", "triggers": [{"id": "hello", "kind": "compare", "message": "Hi.", "when": dict(BEHAVIOUR)}]}
    source.update(top)
    return source


def problems(source) -> list[tuple[str, str]]:
    """Every problem, in the order the validator found them (a dict would hide a second one)."""
    with pytest.raises(PlaybookError) as info:
        Playbook.from_dict(source)
    return list(info.value.problems)


def put(source: dict, path: tuple, value) -> dict:
    """A copy of ``source`` with the value at ``path`` (keys and list indexes) set."""
    source = copy.deepcopy(source)
    holder = source
    for step in path[:-1]:
        if isinstance(holder, dict):
            holder = holder.setdefault(step, {})
        else:
            holder = holder[step]
    holder[path[-1]] = value
    return source


# -- defaults ----------------------------------------------------------------------------------------


def test_a_setting_left_out_takes_the_documented_default():
    pb = Playbook.from_dict(minimal())
    assert (pb.site, pb.phase, pb.bot_threshold, pb.support_link, pb.privacy, pb.honor_gpc) == ("shop", 1, 1.0, "/support", "minimal", True)
    assert asdict(pb.limits) == {
        "per_session": 1, "per_visitor": 3, "visitor_window": 604800.0, "min_gap": 3600.0, "cooldown": 86400.0,
        "max_dismissals": 2, "dismissal_window": 2592000.0,
    }  # fmt: skip
    assert asdict(pb.holdout) == {"fraction": 0.10, "salt": "shop", "hash_version": 1, "force": False}
    assert pb.scope_urls == ("/support*", "/help*", "/returns*", "/account*", "/orders*", "*/support*", "*/returns*")
    assert (pb.offers, pb.page_globs) == ({}, ())
    assert (pb.followup.webhook, pb.followup.email, pb.followup.held_by_server, pb.followup.configured) == ("", "", False, False)
    (trig,) = pb.triggers
    assert (trig.id, trig.kind, trig.phase, trig.priority, trig.message, trig.title) == ("hello", "compare", 1, 0, "Hi.", "")
    assert trig.pages == ("product", "pricing", "cart", "article", "other")
    assert (trig.urls, trig.offer, trig.questions, trig.question_facts, trig.variants) == ((), None, (), {}, ())
    assert trig.followup == pb.followup


def test_a_trigger_takes_the_playbooks_follow_up_unless_it_has_its_own():
    pb = Playbook.from_dict(minimal(followup={"email": "sales@shop.example"}))
    assert pb.triggers[0].followup.email == "sales@shop.example"
    own = put(minimal(followup={"email": "sales@shop.example"}), ("triggers", 0, "followup"), {"webhook": "https://crm.example/in"})
    followup = Playbook.from_dict(own).triggers[0].followup
    assert (followup.webhook, followup.email) == ("https://crm.example/in", "")


def test_an_empty_salt_is_the_site():
    assert Playbook.from_dict(minimal(holdout={"salt": ""})).holdout.salt == "shop"
    assert Playbook.from_dict(minimal(holdout={"salt": "pepper"})).holdout.salt == "pepper"


# -- numbers -----------------------------------------------------------------------------------------

# (where in the source, lowest, highest, whole numbers only, the parsed value, the problem's path and words)
BOUNDS = [
    (("rollout", "phase"), 0, 9, True, lambda pb: pb.phase, "rollout.phase", "must be a whole number from 0 to 9"),
    (("limits", "per_session"), 0, 20, True, lambda pb: pb.limits.per_session, "limits.per_session", "must be a whole number from 0 to 20"),
    (("limits", "per_visitor"), 0, 100, True, lambda pb: pb.limits.per_visitor, "limits.per_visitor", "must be a whole number from 0 to 100"),
    (("limits", "max_dismissals"), 1, 100, True, lambda pb: pb.limits.max_dismissals, "limits.max_dismissals", "must be a whole number from 1 to 100"),
    (("limits", "visitor_window"), 0, 1e9, False, lambda pb: pb.limits.visitor_window, "limits.visitor_window", "must be a number from 0 to 1e+09"),
    (("limits", "min_gap"), 0, 1e9, False, lambda pb: pb.limits.min_gap, "limits.min_gap", "must be a number from 0 to 1e+09"),
    (("limits", "cooldown"), 0, 1e9, False, lambda pb: pb.limits.cooldown, "limits.cooldown", "must be a number from 0 to 1e+09"),
    (("limits", "dismissal_window"), 0, 1e9, False, lambda pb: pb.limits.dismissal_window, "limits.dismissal_window", "must be a number from 0 to 1e+09"),
    (("holdout", "fraction"), 0, 0.5, False, lambda pb: pb.holdout.fraction, "holdout.fraction", "must be a number from 0 to 0.5"),
    (("holdout", "hash_version"), 1, 2, True, lambda pb: pb.holdout.hash_version, "holdout.hash_version", "must be a whole number from 1 to 2"),
    (("bot", "threshold"), 0.1, 10, False, lambda pb: pb.bot_threshold, "bot.threshold", "must be a number from 0.1 to 10"),
    (("triggers", 0, "phase"), 1, 9, True, lambda pb: pb.triggers[0].phase, "triggers[0].phase", "must be a whole number from 1 to 9"),
    (("triggers", 0, "priority"), -1000, 1000, True, lambda pb: pb.triggers[0].priority, "triggers[0].priority", "must be a whole number from -1000 to 1000"),
    (("offers", "ten", "percent"), 0, 90, False, lambda pb: pb.offers["ten"].percent, "offers.ten.percent", "must be a number from 0 to 90"),
    (("offers", "ten", "amount"), 0, 1e6, False, lambda pb: pb.offers["ten"].amount, "offers.ten.amount", "must be a number from 0 to 1e+06"),
]  # fmt: skip
# A holdout of 0 needs force, and a discount offer needs a percent or an amount: set beside each.
BASE = minimal(holdout={"force": True}, offers={"ten": {"type": "discount", "code": "TEN", "percent": 10, "amount": 5}})


@pytest.mark.parametrize("where, lo, hi, whole, read, path, words", BOUNDS, ids=[b[5] for b in BOUNDS])
def test_a_number_is_read_up_to_its_bounds_and_refused_past_them(where, lo, hi, whole, read, path, words):
    for inside in (lo, hi):
        value = read(Playbook.from_dict(put(BASE, where, inside)))
        assert value == inside and type(value) is (int if whole else float)
    step = 1 if whole else 0.001
    for outside in (lo - step, hi + step, True, "5", None, [lo]):
        assert problems(put(BASE, where, outside)) == [(path, words)], outside
    if whole:
        assert problems(put(BASE, where, float(lo))) == [(path, words)]  # 1.0 is not a whole number here


def test_a_fraction_read_as_written_keeps_its_float():
    assert Playbook.from_dict(put(BASE, ("holdout", "fraction"), 0.25)).holdout.fraction == 0.25
    assert Playbook.from_dict(put(BASE, ("bot", "threshold"), 3)).bot_threshold == 3.0


# -- text --------------------------------------------------------------------------------------------

# (where, longest, a valid text of that length, the parsed value, the problem's path)
LONGEST = [
    (("site",), 100, "s" * 100, lambda pb: pb.site, "site"),
    (("holdout", "salt"), 200, "p" * 200, lambda pb: pb.holdout.salt, "holdout.salt"),
    (("scope", "support_link"), 500, "/" + "h" * 499, lambda pb: pb.support_link, "scope.support_link"),
    (("followup", "webhook"), 2000, "https://crm.example/" + "w" * 1980, lambda pb: pb.followup.webhook, "followup.webhook"),
    (("followup", "email"), 320, "a" * 310 + "@b.example", lambda pb: pb.followup.email, "followup.email"),
    (("offers", "ten", "code"), 40, "C" * 40, lambda pb: pb.offers["ten"].code, "offers.ten.code"),
    (("offers", "ten", "description"), 300, "d" * 300, lambda pb: pb.offers["ten"].description, "offers.ten.description"),
    (("triggers", 0, "message"), 600, "m" * 600, lambda pb: pb.triggers[0].message, "triggers[0].message"),
    (("triggers", 0, "title"), 120, "t" * 120, lambda pb: pb.triggers[0].title, "triggers[0].title"),
]  # fmt: skip
# What else a refused text leaves behind: an empty site or message is also missing.
ALSO = {
    "site": [("site", "required: a short name for the site (also the default holdout salt)")],
    "offers.ten.code": [("offers.ten.code", "a discount offer needs the code the visitor applies")],
    "triggers[0].message": [("triggers[0].message", "required: the template text shown when no model writes one")],
}


@pytest.mark.parametrize("where, limit, longest, read, path", LONGEST, ids=[t[4] for t in LONGEST])
def test_a_text_is_read_up_to_its_length_and_refused_past_it(where, limit, longest, read, path):
    assert len(longest) == limit
    assert read(Playbook.from_dict(put(BASE, where, longest))) == longest
    words = f"must be a string of at most {limit} characters"
    for outside in (longest + "x", 7, None, ["x"]):
        assert problems(put(BASE, where, outside)) == [(path, words), *ALSO.get(path, [])], outside


# -- flags, lists and tables -------------------------------------------------------------------------


@pytest.mark.parametrize("where, read, path", [
    (("holdout", "force"), lambda pb: pb.holdout.force, "holdout.force"),
    (("privacy", "honor_gpc"), lambda pb: pb.honor_gpc, "privacy.honor_gpc"),
])  # fmt: skip
def test_a_flag_is_true_or_false_and_nothing_else(where, read, path):
    for value in (True, False):
        assert read(Playbook.from_dict(put(BASE, where, value))) is value
    for outside in (1, 0, "true", None):
        assert problems(put(BASE, where, outside)) == [(path, "must be true or false")], outside


@pytest.mark.parametrize("where, read, path", [
    (("scope", "exclude_urls"), lambda pb: pb.scope_urls[7:], "scope.exclude_urls"),
    (("pages", "pricing"), lambda pb: tuple(rx.pattern for kind, rx in pb.page_globs if kind == "pricing"), "pages.pricing"),
    (("triggers", 0, "urls"), lambda pb: pb.triggers[0].urls, "triggers[0].urls"),
])  # fmt: skip
def test_a_list_of_globs_holds_non_empty_strings_only(where, read, path):
    assert len(read(Playbook.from_dict(put(BASE, where, ["/a*", "/b/*"])))) == 2
    assert read(Playbook.from_dict(put(BASE, where, []))) == ()
    for outside in ("/a*", ["/a*", ""], ["/a*", 5], {"a": "/a*"}, None):
        assert problems(put(BASE, where, outside)) == [(path, "must be a list of non-empty strings")], outside


def test_a_trigger_lists_the_page_kinds_it_may_fire_on():
    assert Playbook.from_dict(put(BASE, ("triggers", 0, "pages"), ["home", "cart"])).triggers[0].pages == ("home", "cart")
    for outside in ("cart", ["cart", ""], [3]):
        assert problems(put(BASE, ("triggers", 0, "pages"), outside)) == [("triggers[0].pages", "must be a list of non-empty strings")]
    assert problems(put(BASE, ("triggers", 0, "pages"), ["cart", "basket", "account", "support"])) == [
        ("triggers[0].pages[1]", "unknown page kind 'basket'"),
        ("triggers[0].pages[2]", "the agent stays out of account pages: route those visitors to support (scope.support_link)"),
        ("triggers[0].pages[3]", "the agent stays out of support pages: route those visitors to support (scope.support_link)"),
    ]  # fmt: skip


@pytest.mark.parametrize("section, fields", [
    ("rollout", ["phase"]),
    ("limits", ["per_session", "per_visitor", "visitor_window", "min_gap", "cooldown", "max_dismissals", "dismissal_window"]),
    ("holdout", ["fraction", "salt", "hash_version", "force"]),
    ("bot", ["threshold"]),
    ("scope", ["exclude_urls", "support_link"]),
    ("privacy", ["level", "honor_gpc"]),
])  # fmt: skip
def test_each_section_is_a_table_of_its_own_fields(section, fields):
    for field in fields:  # each field the section knows is read from it (an unknown one would be named)
        assert problems(put(BASE, (section, field), {"nested": 1}))[0][0] == f"{section}.{field}"
    assert problems(put(BASE, (section, "colour"), "red")) == [(f"{section}.colour", "unknown field")]
    two = put(put(BASE, (section, "zeta"), 1), (section, "alpha"), 1)
    assert problems(two) == [(f"{section}.alpha", "unknown field"), (f"{section}.zeta", "unknown field")]  # sorted
    for outside in (5, "x", [1], None):
        assert problems({**BASE, section: outside}) == [(section, "must be a table")], outside


def test_an_unknown_top_level_field_is_named_in_order():
    assert problems(minimal(zeta=1, alpha=2)) == [("alpha", "unknown field"), ("zeta", "unknown field")]
    assert problems([minimal()]) == [("", "a playbook must be a table/object at the top level")]
    assert problems(minimal(version=2)) == [("version", "unsupported playbook version 2; this build reads 1")]
    assert problems(minimal(version="1")) == [("version", "unsupported playbook version '1'; this build reads 1")]
    assert Playbook.from_dict(minimal(version=1)).site == "shop"
    no_site = minimal()
    del no_site["site"]
    assert problems(no_site) == [("site", "required: a short name for the site (also the default holdout salt)")]
    assert problems(minimal(site="")) == problems(no_site)


def test_the_privacy_level_is_minimal_or_context():
    assert Playbook.from_dict(minimal(privacy={"level": "context"})).privacy == "context"
    for outside in ("everything", "Minimal", 1, None):
        assert problems(minimal(privacy={"level": outside})) == [("privacy.level", "must be one of minimal, context")]


# -- suggested questions -----------------------------------------------------------------------------

QUESTION = "must be a non-empty question of at most 120 characters"
FACT = "must be a page fact's id, lower_snake_case (e.g. sizing)"


def with_questions(questions) -> dict:
    return put(BASE, ("triggers", 0, "questions"), questions)


def test_questions_are_read_in_order_with_the_facts_that_answer_them():
    longest = "q" * 119 + "?"
    trig = Playbook.from_dict(with_questions(["Is it warm?", {"text": "Which size?", "fact": "sizing"}, longest])).triggers[0]
    assert trig.questions == ("Is it warm?", "Which size?", longest)
    assert trig.question_facts == {"Which size?": "sizing"}
    eight = [f"Question {i}?" for i in range(8)]
    assert Playbook.from_dict(with_questions(eight)).triggers[0].questions == tuple(eight)
    assert Playbook.from_dict(with_questions([{"text": "Fits?", "fact": "s" + "_" * 31}])).triggers[0].question_facts == {"Fits?": "s" + "_" * 31}


def test_more_than_eight_questions_or_not_a_list_is_one_problem():
    for outside in ([f"Question {i}?" for i in range(9)], "Is it warm?", {"text": "Warm?"}, None):
        assert problems(with_questions(outside)) == [("triggers[0].questions", "must be a list of at most 8 questions")], outside


def test_every_bad_question_is_named_with_its_place():
    bad = [
        "Fine?",                                       # 0: kept
        "",                                            # 1: empty
        "   ",                                         # 2: blank
        "q" * 121,                                     # 3: too long
        7,                                             # 4: not text
        {"text": "", "fact": "sizing"},                # 5: an answerable question still needs words
        {"text": "Made of?", "fact": "material", "zeta": 1, "alpha": 2},  # 6: unknown fields, sorted
        "Also fine?",                                  # 7: kept, after all that
    ]  # fmt: skip
    assert problems(with_questions(bad)) == [
        ("triggers[0].questions[1]", QUESTION),
        ("triggers[0].questions[2]", QUESTION),
        ("triggers[0].questions[3]", QUESTION),
        ("triggers[0].questions[4]", QUESTION),
        ("triggers[0].questions[5].text", QUESTION),
        ("triggers[0].questions[6].alpha", "unknown field"),
        ("triggers[0].questions[6].zeta", "unknown field"),
    ]  # fmt: skip
    facts = [
        {"text": "Which size?", "fact": "Sizing"},     # 0: a fact id is lower_snake_case
        {"text": "Which size?"},                       # 1: no fact
        {"text": "Long?", "fact": "s" * 33},           # 2: a fact id of at most 32 characters
        {"text": "Fits?", "fact": ["sizing"]},         # 3: a fact id is text
    ]  # fmt: skip
    assert problems(with_questions(facts)) == [(f"triggers[0].questions[{j}].fact", FACT) for j in range(4)]
    assert problems(with_questions([{"fact": 5, "text": 5}])) == [
        ("triggers[0].questions[0].fact", FACT), ("triggers[0].questions[0].text", QUESTION)]  # fmt: skip


def test_the_questions_of_a_second_trigger_are_named_by_its_own_place():
    source = copy.deepcopy(BASE)
    source["triggers"].append({**source["triggers"][0], "id": "second", "questions": ["Ok?", ""]})
    assert problems(source) == [("triggers[1].questions[1]", QUESTION)]


# -- follow-up, pages, offers ------------------------------------------------------------------------

LEAD = {"id": "lead", "kind": "lead", "message": "Leave your email?", "when": dict(BEHAVIOUR)}
DEAD = "lead capture with no follow-up target (the 'dead handoff'): set followup.webhook or followup.email"


def test_a_follow_up_target_is_an_http_url_or_an_email_address():
    for webhook in ("http://a", "https://crm.example/hooks/leads"):
        assert Playbook.from_dict(minimal(followup={"webhook": webhook})).followup.webhook == webhook
    for webhook in ("ftp://crm.example", "https://", "https:///path", "http:// crm.example", "crm.example"):
        assert problems(minimal(followup={"webhook": webhook})) == [("followup.webhook", "must be an http(s) URL")], webhook
    for email in ("a@b.c", "sales+leads@shop.example"):
        assert Playbook.from_dict(minimal(followup={"email": email})).followup.email == email
    for email in ("a@b", "a b@c.d", "@b.c", "a@b.c@d", "a@", "a@.c d"):
        assert problems(minimal(followup={"email": email})) == [("followup.email", "must be an email address")], email


def test_a_follow_up_is_a_table_of_its_own_fields():
    for outside in ("sales@shop.example", ["https://crm.example"], 5):
        assert problems(minimal(followup=outside)) == [("followup", "must be a table with `webhook` and/or `email`")]
    assert problems(minimal(followup={"email": "a@b.c", "zeta": 1, "phone": 2})) == [
        ("followup.phone", "unknown field"), ("followup.zeta", "unknown field")]  # fmt: skip
    on_trigger = put(BASE, ("triggers", 0, "followup"), "sales@shop.example")
    assert problems(on_trigger) == [("triggers[0].followup", "must be a table with `webhook` and/or `email`")]


def test_only_the_bundle_builder_writes_held_by_server():
    assert Playbook.from_dict(minimal(followup={"held_by_server": True})).followup.held_by_server is True
    builder_only = "is written by the bundle builder only; set webhook and/or email"
    for followup in ({"held_by_server": False}, {"held_by_server": True, "email": "a@b.c"}, {"held_by_server": 1}):
        assert problems(minimal(followup=followup)) == [("followup.held_by_server", builder_only)], followup
    trig = put(BASE, ("triggers", 0, "followup"), {"held_by_server": "yes"})
    assert problems(trig) == [("triggers[0].followup.held_by_server", builder_only)]


def test_a_lead_trigger_needs_a_follow_up_here_or_on_the_trigger():
    source = minimal()
    source["triggers"].append(copy.deepcopy(LEAD))
    assert problems(source) == [("triggers[1].followup", DEAD)]
    assert problems(put(source, ("triggers", 1, "followup"), {})) == [("triggers[1].followup", DEAD)]
    own = Playbook.from_dict(put(source, ("triggers", 1, "followup"), {"email": "a@b.c"}))
    assert own.trigger("lead").followup.email == "a@b.c" and own.followup.email == ""
    assert Playbook.from_dict({**source, "followup": {"webhook": "https://crm.example"}}).trigger("lead").followup.webhook == "https://crm.example"
    assert problems(put(source, ("triggers", 0, "kind"), "lead")) == [("triggers[0].followup", DEAD), ("triggers[1].followup", DEAD)]


def test_pages_map_known_kinds_to_globs_the_first_match_winning():
    pb = Playbook.from_dict(minimal(pages={"pricing": ["/p*"], "product": ["/p/*", "/item-*"], "cart": []}))
    assert [kind for kind, _ in pb.page_globs] == ["pricing", "product", "product"]
    assert (pb.page_kind("/p/boots"), pb.page_kind("/item-9"), pb.page_kind("/cart"), pb.page_kind("/x")) == ("pricing", "product", "other", "other")
    known = "home, category, product, pricing, cart, checkout, article, support, account, other"
    assert problems(minimal(pages={"basket": ["/b*"], "cart": ["/c*"], "Home": ["/"]})) == [
        ("pages.basket", f"unknown page kind; known: {known}"), ("pages.Home", f"unknown page kind; known: {known}")]  # fmt: skip
    for outside in (["/p*"], "product", 3):
        assert problems(minimal(pages=outside)) == [("pages", "must be a table of page kind -> list of URL globs")]


def test_an_offer_is_read_field_by_field():
    offers = {"ten": {"type": "discount", "code": "TEN", "percent": 10, "description": "10 % off"},
              "five": {"code": "FIVE", "amount": 5}, "guide": {"type": "info", "description": "Our size guide"}}  # fmt: skip
    pb = Playbook.from_dict(minimal(offers=offers))
    assert [(o.id, o.type, o.code, o.percent, o.amount, o.description) for o in pb.offers.values()] == [
        ("ten", "discount", "TEN", 10.0, 0.0, "10 % off"), ("five", "discount", "FIVE", 0.0, 5.0, ""),
        ("guide", "info", "", 0.0, 0.0, "Our size guide")]  # fmt: skip


def test_every_bad_offer_is_named():
    offers = {
        "Ten": {"type": "discount", "code": "TEN", "percent": 10},   # an id that is not lower_snake_case
        "plain": "TEN",                                            # not a table
        "odd": {"type": "voucher", "code": "X", "percent": 5, "zeta": 1, "alpha": 0},
        "bare": {"type": "discount"},                              # neither a code nor an amount
        "free": {"code": "FREE"},                                  # a discount by default, with no amount
        "1st": [],                                                 # both at once
    }  # fmt: skip
    assert problems(minimal(offers=offers)) == [
        ("offers.Ten", "offer ids are lower_snake_case"),
        ("offers.plain", "must be a table"),
        ("offers.odd.alpha", "unknown field"),
        ("offers.odd.zeta", "unknown field"),
        ("offers.odd.type", "must be 'discount' or 'info'"),
        ("offers.bare.code", "a discount offer needs the code the visitor applies"),
        ("offers.bare.percent", "a discount offer needs `percent` or `amount`"),
        ("offers.free.percent", "a discount offer needs `percent` or `amount`"),
        ("offers.1st", "offer ids are lower_snake_case"),
        ("offers.1st", "must be a table"),
    ]  # fmt: skip
    for outside in (["ten"], "ten", 1):
        assert problems(minimal(offers=outside)) == [("offers", "must be a table of offer id -> offer")]


# -- triggers ----------------------------------------------------------------------------------------


def test_triggers_are_a_non_empty_list_of_tables_decided_by_priority_then_id():
    for outside in ([], {"id": "hello"}, "hello", None):
        assert problems(minimal(triggers=outside)) == [("triggers", "must be a non-empty list of [[triggers]]")], outside
    base = minimal()["triggers"][0]
    three = [{**base, "id": "b"}, {**base, "id": "a"}, {**base, "id": "c", "priority": 5}]
    assert [t.id for t in Playbook.from_dict(minimal(triggers=three)).triggers] == ["c", "a", "b"]
    low = [{**base, "id": "a", "priority": -5}, {**base, "id": "b"}]
    assert [t.id for t in Playbook.from_dict(minimal(triggers=low)).triggers] == ["b", "a"]
    assert problems(minimal(triggers=[base, "hello", 3])) == [("triggers[1]", "must be a table"), ("triggers[2]", "must be a table")]


def test_every_bad_trigger_field_is_named():
    base = minimal()["triggers"][0]
    bad = [
        {**base, "zeta": 1, "colour": 2},
        {**base, "id": 7, "kind": "popup"},
        {**base, "kind": "discount"},                                   # a duplicate id, and a discount with no offer
        {**base, "id": "four", "offer": "nope", "message": "  "},
        {**base, "id": "five", "offer": ["ten"], "when": {"signal": "page_dwell", "op": ">=", "value": 5}},
    ]  # fmt: skip
    ghost = ("fires without any behavioural signal (the 'ghost greeter'): require e.g. scroll_depth, hovers, "
             "exit_intent, cart_items or active_time")  # fmt: skip
    assert problems(minimal(triggers=bad)) == [
        ("triggers[0].colour", "unknown field"),
        ("triggers[0].zeta", "unknown field"),
        ("triggers[1].id", "required: a lower_snake_case id"),
        ("triggers[1].kind", "must be one of discount, compare, questions, welcome_back, lead"),
        ("triggers[2].id", "duplicate trigger id 'hello'"),
        ("triggers[2].offer", "a discount trigger needs an offer from [offers]"),
        ("triggers[3].message", "required: the template text shown when no model writes one"),
        ("triggers[3].offer", "unknown offer 'nope'"),
        ("triggers[4].when", ghost),
        ("triggers[4].offer", "unknown offer ['ten']"),
    ]  # fmt: skip


def test_a_trigger_without_a_valid_id_is_still_checked_whole():
    base = minimal()["triggers"][0]
    for outside in ("", "1st", "Hello", "a" * 49, "has space", None):
        assert problems(minimal(triggers=[{**base, "id": outside}])) == [("triggers[0].id", "required: a lower_snake_case id")]
    assert Playbook.from_dict(minimal(triggers=[{**base, "id": "a" * 48}])).triggers[0].id == "a" * 48
    missing = {k: v for k, v in base.items() if k != "id"}
    assert problems(minimal(triggers=[missing, {**missing, "kind": "nope"}])) == [
        ("triggers[0].id", "required: a lower_snake_case id"),
        ("triggers[1].id", "required: a lower_snake_case id"),
        ("triggers[1].kind", "must be one of discount, compare, questions, welcome_back, lead"),
    ]  # fmt: skip


def test_a_trigger_keeps_its_own_offer_and_an_info_offer_needs_none():
    source = minimal(offers={"guide": {"type": "info", "description": "Size guide"}})
    trig = Playbook.from_dict(put(source, ("triggers", 0, "offer"), "guide")).triggers[0]
    assert trig.offer is not None and trig.offer.id == "guide"
    assert Playbook.from_dict(source).triggers[0].offer is None  # a compare card with no offer


OUT = "support, returns and account pages are out of scope"


def test_a_trigger_may_not_narrow_itself_onto_support_pages():
    source = minimal(scope={"exclude_urls": ["/faq*"]})
    for urls in (["/orders/1"], ["/faq/shipping"], ["/HELP*"], ["/tracking/*"], ["/my-account"], ["/refunds"]):
        assert problems(put(source, ("triggers", 0, "urls"), urls)) == [("triggers[0].urls[0]", OUT)], urls
    mixed = put(source, ("triggers", 0, "urls"), ["/p/*", "/support/x", "/cart"])
    assert problems(mixed) == [("triggers[0].urls[1]", OUT)]
    fine = Playbook.from_dict(put(source, ("triggers", 0, "urls"), ["/p/*", "/cart"])).triggers[0]
    assert fine.urls == ("/p/*", "/cart") and fine.matches_page("cart", "/p/boots") and not fine.matches_page("cart", "/c/boots")
    assert not fine.matches_page("home", "/p/boots")  # its page kinds still hold (home is not a default)
    anywhere = Playbook.from_dict(source).triggers[0]
    assert anywhere.matches_page("cart", "/anything") and not anywhere.matches_page("checkout", "/anything")


def test_a_holdout_of_zero_is_refused_unless_forced():
    assert problems(minimal(holdout={"fraction": 0})) == [
        ("holdout.fraction", "a holdout of 0 leaves no honest way to measure lift; set holdout.force = true to insist")]  # fmt: skip
    assert problems(minimal(holdout={"fraction": 0.0, "force": False})) == problems(minimal(holdout={"fraction": 0}))
    assert Playbook.from_dict(minimal(holdout={"fraction": 0.001})).holdout.fraction == 0.001


def test_the_error_reads_as_one_problem_a_line_each_with_its_path():
    with pytest.raises(PlaybookError) as info:
        Playbook.from_dict(minimal(zeta=1, version=2, limits={"cooldown": -1}))
    assert str(info.value) == (
        "invalid playbook:\n"
        "  zeta: unknown field\n"
        "  version: unsupported playbook version 2; this build reads 1\n"
        "  limits.cooldown: must be a number from 0 to 1e+09"
    )
    assert isinstance(info.value, TactfulError)
    with pytest.raises(PlaybookError) as info:
        Playbook.from_dict("site = 'shop'")
    assert str(info.value) == "invalid playbook:\n  a playbook must be a table/object at the top level"  # no path, no colon
    found = [("a", "b")]
    assert PlaybookError(found).problems == found and PlaybookError(found).problems is not found
