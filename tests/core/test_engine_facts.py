"""The engine's bookkeeping, fact by fact, and the outcome beacon field by field. Expected values are
derived by hand from the demo playbook (demo/playbook.toml) and the rules in the engine's docstrings.
"""

from __future__ import annotations

import copy

import pytest

from tactful.core import HOLDOUT, TREATMENT, Engine, Playbook, VisitorState, fnv1a_32, holdout_bucket, mix32, why_not

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
TREATED = "809d4580aaed41565abc38d58f77f840"
START = 100_012.3456  # a visit's first instant, with more than three decimals


def visitor_in(playbook, arm):
    """A visitor id longer than the beacon keeps (64 characters), in ``arm``."""
    for i in range(1000):
        visitor = f"{i:04d}-" + "v" * 70
        if Engine(playbook, visitor).state.arm == arm:
            return visitor
    raise AssertionError("no visitor found")


def n():
    n.count = getattr(n, "count", 0) + 1
    return n.count


def ev(t, etype, page="a", /, **fields):
    return {"t": t, "type": etype, "p": page, "n": n(), **fields}


def open_product(engine, t0, page="a", **client):
    engine.feed([ev(t0, "client", page, user_agent=UA, languages=["en"], **client),
                 ev(t0, "page_view", page, url="/p/mug", kind="product", product="Blue mug", category="Mugs"),
                 ev(t0 + 2, "activity", page), ev(t0 + 3, "cart", page, items=1, value=20)], now=t0 + 4)  # fmt: skip


@pytest.fixture
def varied(demo_source):
    source = copy.deepcopy(demo_source)
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["variants"] = [{"id": "plain"}, {"id": "warm", "message": "Still deciding? {percent}% off with {code}."}]
    return Playbook.from_dict(source)


# -- identity and input -----------------------------------------------------------------------


def test_an_engine_needs_an_identity(demo_playbook):
    with pytest.raises(ValueError, match="^an Engine needs a visitor_id or a VisitorState$"):
        Engine(demo_playbook)
    with pytest.raises(ValueError, match="^the visitor state has no id$"):
        Engine(demo_playbook, state=VisitorState())
    assert Engine(demo_playbook, "v-new", VisitorState()).state.id == "v-new"  # a blank record takes the id
    assert Engine(demo_playbook, "v-new", VisitorState(id="v-old")).state.id == "v-old"


@pytest.mark.parametrize("now", [True, "1", float("nan"), float("inf"), None])
def test_now_must_be_a_finite_number(demo_playbook, now):
    with pytest.raises(ValueError, match="^now must be a finite number of seconds, not "):
        Engine(demo_playbook, "v").feed([], now)


def test_events_without_a_page_are_never_duplicates(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    same = [{"t": 5, "type": "activity", "n": 7}, {"t": 6, "type": "activity", "n": 7}]
    engine.feed(same, now=7)
    assert engine.state.session.interactions == 3 and engine.skipped == {}


def test_a_dropped_field_is_counted_each_time(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(5, "cart", items=1, value="lots"), ev(6, "cart", items=1, value="more")], now=7)
    assert engine.dropped == {"cart.value": 2}


# -- what each event leaves behind ------------------------------------------------------------------


def test_counts_grow_by_one_per_event(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(5, "activity"), ev(6, "exit_intent"), ev(7, "exit_intent"), ev(8, "activity")], now=9)
    session, page = engine.state.session, engine.page
    assert session.interactions == 3 and page.exit_intents == 2 and page.exit_dwell == 7.0
    engine.feed([ev(10, "page_view", "b", url="/cart"), ev(11, "page_view", "c", url="/p/cup")], now=12)
    assert engine.state.session.page_views == 3
    assert engine.page.kind == "product" and engine.page.product == "" and engine.page.category == ""


def test_a_page_view_names_its_own_kind_or_the_playbooks(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    engine.feed([ev(0, "page_view", url="/cart", kind="checkout")], now=1)
    assert engine.page.kind == "checkout"  # the page said so
    engine.feed([ev(2, "page_view", "b", url="/pricing")], now=3)
    assert engine.page.kind == "pricing"  # the playbook's [pages] patterns


def test_the_cart_counts_additions_and_keeps_its_value(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)  # 0 -> 1 item: one addition
    engine.feed([ev(5, "cart", items=3), ev(6, "cart", items=3, value=55), ev(7, "cart", items=2)], now=8)
    state = engine.state
    assert engine.page.cart_added == 2  # 1 -> 3 added; 3 -> 3 and 3 -> 2 did not
    assert (state.cart_items, state.cart_value) == (2, 55.0)  # a cart without a value keeps the last one
    engine.feed([ev(9, "cart", items=0)], now=9)
    assert (state.cart_items, state.cart_value, state.cart_t) == (0, 0.0, 9.0)  # an empty cart is worth nothing
    engine.feed([ev(9, "cart", items=4, value=8)], now=9)  # the same instant as the last cart: still news
    assert (state.cart_items, state.cart_value) == (4, 8.0)


def test_a_purchase_empties_the_cart_and_takes_its_value(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(5, "convert")], now=6)
    state = engine.state
    assert state.conversions == [[5.0, 20.0]]  # no value given: the cart's
    assert (state.cart_items, state.cart_value, state.cart_t) == (0, 0.0, 5.0)


def test_leads_and_tracks_are_kept(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(5, "lead", trigger="newsletter"), ev(6, "lead"), ev(7, "track", name="faq"), ev(8, "track", name="faq")],
                now=9)  # fmt: skip
    assert engine.state.leads == [[5.0, "newsletter"], [6.0, ""]]
    assert engine.state.session.tracks == {"faq": 2}
    engine.feed([ev(10 + i, "track", name=f"k{i}") for i in range(70)], now=80)
    tracks = engine.state.session.tracks
    assert len(tracks) == 64 and "k62" in tracks and "k63" not in tracks  # 64 names at most
    engine.feed([ev(81, "track", name="faq")], now=82)
    assert tracks["faq"] == 3  # a known name still counts


def test_scripted_scrolling_marks_the_visit_at_the_eighth(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(5 + i, "scroll", depth=0.1 * i, human=False) for i in range(7)], now=20)
    assert engine.state.session.scripted == 7 and not engine.state.session.machine
    engine.feed([ev(21, "scroll", depth=0.9, human=False)], now=22)
    assert engine.state.session.machine
    engine.feed([ev(23 + i * 0.37 + (i % 3) * 0.11, "hover", target=f"x{i}") for i in range(20)], now=40)
    session = engine.state.session
    assert session.machine  # once seen, it stays
    assert len(session.inputs) == 16 and session.inputs[-1] == pytest.approx(23 + 19 * 0.37 + 0.11)


def test_active_time_is_credited_five_seconds_at_most_per_gap(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    engine.feed([ev(100, "page_view", url="/p/mug"), ev(102, "activity"), ev(103, "activity"), ev(120, "activity")], now=121)
    assert engine.page.active_time == 2 + 1 + 5


def test_a_tab_open_across_the_timeout_keeps_its_page_in_a_new_visit(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    before = engine.page
    engine.feed([ev(2000, "activity")], now=2001)  # 1,997 s of silence: a new visit, the same page
    state = engine.state
    assert state.sessions == [0.0, 2000.0] and state.session.start == 2000.0 and state.session.last_t == 2000.0
    page = engine.page
    assert (page.instance, page.url, page.kind, page.product, page.category, page.shift) == (
        before.instance, before.url, before.kind, before.product, before.category, before.shift)  # fmt: skip
    assert page.start == 2000.0 and page.last_interaction == 2000.0
    assert state.first_seen == 0.0 and state.last_seen == 2000.0


def test_exactly_the_timeout_later_is_still_the_same_visit(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(1803, "activity")], now=1804)  # the cart at 3 s, then exactly 1,800 s
    assert engine.state.sessions == [0.0]


# -- decisions ---------------------------------------------------------------------------------


def test_a_card_names_the_product_or_this_item(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    cards = {d.trigger: d for d in engine.feed([ev(10, "exit_intent")], now=11)}
    assert cards["cart_exit"].action == "intervene" and "10%" in cards["cart_exit"].message
    other = Engine(demo_playbook, TREATED)
    browse = [ev(0, "client", "z", user_agent=UA, languages=["en"]), ev(0, "page_view", "z", url="/p/cup", kind="product"),
              ev(0.5, "activity", "z")]  # fmt: skip
    browse += [ev(t, "scroll", "z", depth=0.5) for t in (1, 4.3, 9.1, 12.2, 16.9, 20.5, 24.1, 29.0)]  # a hand's rhythm
    decided = other.feed(browse, now=30) + other.feed([], now=40)
    questions = [d for d in decided if d.trigger == "product_questions"]
    assert questions and questions[0].message.startswith("Questions about this item?")


def test_a_suppressed_decision_has_no_words(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(4, "convert")], now=5)
    engine.feed([ev(6, "cart", items=1, value=5)], now=6)
    (card,) = [d for d in engine.feed([ev(20, "exit_intent")], now=21) if d.trigger == "cart_exit"]
    assert card.action == "suppress" and "converted" in card.reasons and card.message == ""


def test_a_crossing_exactly_at_now_is_decided_now(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)  # last interaction at 2 s: idle for 60 s at 62 s exactly
    (card,) = engine.feed([], now=62)
    assert (card.trigger, card.t) == ("cart_exit", 62)


def test_time_passes_without_a_page(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    engine.feed([{"t": 0, "type": "activity", "p": "elsewhere", "n": 1}], now=0)  # a visit, no page of this tab
    assert engine.feed([], now=5) == [] and engine.state.clock == 5


def test_every_gate_lifts_at_its_boundary_not_after(demo_playbook):
    lim = demo_playbook.limits
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    (shown,) = engine.feed([], now=70)  # cart_exit at 62
    engine.feed([ev(71, "dismiss", trigger="cart_exit")], now=71)
    engine.feed([ev(5500, "page_view", "b", url="/cart", kind="cart"), ev(5501, "activity", "b")], now=5502)

    def gates(at):
        cart = {t["trigger"]: t for t in why_not(engine, float(at))["triggers"]}["cart_exit"]
        return {g["code"] for g in cart["gates"]}

    assert "min_gap" not in gates(62 + lim.min_gap)
    assert "cooldown" in gates(71 + lim.cooldown - 1) and "cooldown" not in gates(71 + lim.cooldown)


# -- the outcome beacon ----------------------------------------------------------------------------


def test_the_outcome_beacon_field_by_field(varied):
    visitor = visitor_in(varied, TREATMENT)
    engine = Engine(varied, visitor)
    assert engine.outcome() is None  # nothing happened yet
    # An earlier visit, two days before: a dismissal and an acceptance that are not this visit's.
    engine.feed([ev(START - 172_800, "page_view", "old", url="/"), ev(START - 172_799, "activity", "old"),
                 ev(START - 172_798, "dismiss", "old", trigger="pricing_compare"),
                 ev(START - 172_797, "accept", "old", trigger="pricing_compare")], now=START - 172_796)  # fmt: skip
    open_product(engine, START, storage="session")
    engine.feed([], now=START + 70)  # cart_exit at START + 62
    beacon = engine.outcome()
    salt = varied.holdout.salt
    chosen = ["plain", "warm"][fnv1a_32(f"{salt}|{visitor}|cart_exit".encode()) % 2]
    assert beacon.visitor == visitor[:64] and len(beacon.visitor) == 64
    assert beacon.session == f"{visitor[:40]}:{START:.3f}" and beacon.session.endswith(":100012.346")
    assert (beacon.arm, beacon.eligible, beacon.intervened, beacon.trigger, beacon.phase) == (TREATMENT, True, True, "cart_exit", 1)
    assert (beacon.variant, beacon.eligible_at) == (chosen, START + 62)
    assert (beacon.converted, beacon.value, beacon.converted_at) == (False, 0.0, None)
    assert (beacon.dismissed, beacon.accepted) == (False, False)  # the earlier visit's do not count
    assert (beacon.bot, beacon.storage, beacon.test) == (False, "session", False)
    engine.feed([ev(START + 75, "dismiss", trigger="cart_exit"), ev(START + 76, "accept", trigger="cart_exit"),
                 ev(START + 80, "convert", value=10.111), ev(START + 90, "convert", value=5)], now=START + 91)  # fmt: skip
    beacon = engine.outcome()
    assert (beacon.dismissed, beacon.accepted, beacon.converted) == (True, True, True)
    assert (beacon.value, beacon.converted_at) == (15.11, START + 80)


def test_a_held_out_visitor_is_eligible_never_intervened(demo_playbook):
    visitor = visitor_in(demo_playbook, HOLDOUT)
    engine = Engine(demo_playbook, visitor)
    open_product(engine, START, test=True)
    (card,) = engine.feed([], now=START + 70)
    assert card.action == "suppress" and card.reasons == ("holdout",) and card.eligible
    beacon = engine.outcome()
    assert (beacon.arm, beacon.eligible, beacon.intervened, beacon.variant) == (HOLDOUT, True, False, None)
    assert (beacon.storage, beacon.test) == (None, True)


def test_a_purchase_at_the_first_instant_of_a_visit_is_that_visits(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    engine.feed([ev(START, "convert", "c", value=12)], now=START)
    beacon = engine.outcome()
    assert (beacon.converted, beacon.value, beacon.converted_at, beacon.eligible) == (True, 12.0, START, False)
    assert beacon.trigger is None and beacon.phase is None and beacon.variant is None


def test_no_bot_before_any_visit(demo_playbook):
    assert Engine(demo_playbook, TREATED).is_bot() is False


# -- written out to close the gaps a mutation run found ------------------------------------------------


def variants_follow_the_hash(playbook, names, tries, letter):
    """Each treated visitor's decision, words and beacon carry the variant the salted hash picks
    (version 2 of the hash: FNV-1a through MurmurHash3's finaliser)."""
    salt, seen = playbook.holdout.salt, set()
    mixed = playbook.holdout.hash_version == 2
    for i in range(tries):
        visitor = f"{i:02d}" + letter * 30
        engine = Engine(playbook, visitor)
        if engine.state.arm != TREATMENT:
            continue
        open_product(engine, START)
        (card,) = engine.feed([], now=START + 70)
        hashed = fnv1a_32(f"{salt}|{visitor}|cart_exit".encode())
        chosen = names[(mix32(hashed) if mixed else hashed) % len(names)]
        assert card.variant == chosen == engine.outcome().variant, visitor
        seen.add(chosen)
        if chosen == "warm":
            assert card.message.startswith("Still deciding?")
    assert seen == set(names)


def test_each_visitor_sees_the_variant_the_hash_picks(varied):
    variants_follow_the_hash(varied, ["plain", "warm"], 8, "w")


def test_the_clock_stands_where_the_page_left_it(demo_playbook):
    fresh = Engine(demo_playbook, TREATED)
    fresh.feed([], now=0.5)
    assert fresh.state.clock == 0.5
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([{"t": 10, "type": "activity", "p": "closed-page", "n": 1}], now=12)  # a closed page's journal only
    assert engine.state.clock == 12


def test_an_event_of_a_known_page_without_a_number_is_applied(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([{"t": 5, "type": "activity", "p": "a"}, {"t": 6, "type": "activity", "p": "a"}], now=7)
    assert engine.state.session.interactions == 3 and engine.skipped == {}


def test_a_page_shifted_by_a_clock_that_stepped_back_keeps_its_shift_in_a_new_visit(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([], now=100)
    engine.feed([ev(50, "page_view", "b", url="/cart", kind="cart")], now=51)  # this page's clock is 50 s behind
    page = engine.page
    assert (page.start, page.shift) == (100.0, 50.0)
    engine.feed([ev(2000, "track", "b", name="x")], now=2001)  # 1,950 s later on the page's clock: a new visit
    page = engine.page
    assert engine.state.session.start == 2050.0
    assert (page.instance, page.shift, page.start, page.last_interaction) == ("b", 50.0, 2050.0, 2050.0)
    engine.feed([ev(5000, "track", "gone", name="y")], now=5001)  # after another gap, from a page no longer shown
    assert engine.page is None


def still_on_the_cart(demo_source, idle):
    """cart_exit on stillness alone (``idle`` seconds), on a cart page whose last interaction is at 2 s."""
    source = copy.deepcopy(demo_source)
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["when"] = {"all": [{"signal": "cart_items", "op": ">=", "value": 1}, {"signal": "idle_for", "op": ">=", "value": idle}]}
    engine = Engine(Playbook.from_dict(source), TREATED)
    engine.feed([ev(0, "client", user_agent=UA, languages=["en"]), ev(0, "page_view", url="/cart", kind="cart"),
                 ev(1, "cart", items=1, value=9), ev(2, "activity")], now=3)  # fmt: skip
    return engine


def test_a_crossing_exactly_at_the_visits_end_is_decided(demo_source):
    engine = still_on_the_cart(demo_source, 1800)
    (card,) = engine.feed([], now=4000)  # the last event at 2 s: idle for 1,800 s exactly when the visit ends
    assert (card.trigger, card.t) == ("cart_exit", 1802)


def test_caps_count_what_is_younger_than_their_window(demo_playbook):
    lim = demo_playbook.limits
    engine = Engine(demo_playbook, TREATED)
    week = lim.visitor_window
    open_product(engine, week - 10)
    engine.state.interventions = [[0.0, "a"], [5000.0, "b"], [10_000.0, "c"]]
    engine.state.dismissals = [[20_000.0, "x"], [30_000.0, "y"]]

    def gates(at):
        return {g["code"] for t in why_not(engine, float(at))["triggers"] if t["trigger"] == "cart_exit" for g in t["gates"]}

    assert "visitor_cap" in gates(week - 1) and "visitor_cap" not in gates(week)  # the first ages out at exactly a week
    assert "dismissed_too_often" in gates(week)
    month = lim.dismissal_window
    engine.feed([], now=20_000 + month - 5)
    assert "dismissed_too_often" in gates(20_000 + month - 1) and "dismissed_too_often" not in gates(20_000 + month)


def test_three_variants_follow_the_salted_hash(demo_source):
    # With two variants FNV-1a's lowest bit decides, and that bit ignores which salt (of the same
    # parity) was used; three variants read more of the hash, so the salt shows.
    source = copy.deepcopy(demo_source)
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["variants"] = [{"id": "one"}, {"id": "two"}, {"id": "three"}]
    variants_follow_the_hash(Playbook.from_dict(source), ["one", "two", "three"], 12, "t")


def test_a_trigger_scoped_by_url_follows_each_page_the_tab_shows(demo_source):
    source = copy.deepcopy(demo_source)
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["urls"] = ["/p/mug*"]
    engine = Engine(Playbook.from_dict(source), TREATED)
    open_product(engine, 0)  # /p/mug: in
    assert [d.trigger for d in engine.feed([], now=70)] == ["cart_exit"]
    engine.feed([ev(80, "page_view", "b", url="/p/cup", kind="product"), ev(81, "activity", "b")], now=82)
    assert all(d.trigger != "cart_exit" for d in engine.feed([], now=5000))  # /p/cup: out, however long


def test_the_visit_log_keeps_two_hundred_characters_of_a_path(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    long_path = "/p/" + "m" * 300
    engine.feed([ev(0, "client", user_agent=UA, languages=["en"]), ev(0, "page_view", url=long_path + "?q=1", kind="product"),
                 ev(2, "activity"), ev(3, "cart", items=1, value=20)], now=4)  # fmt: skip
    engine.feed([], now=70)
    (entry,) = [e for e in engine.state.session.decided if e["trigger"] == "cart_exit"]
    assert entry["url"] == long_path[:200]


# -- when the page should next send time -------------------------------------------------------


def test_the_next_due_instant_is_the_pages_next_threshold(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    assert engine.next_due() is None  # no page yet: nothing to wait for
    open_product(engine, 0)  # a product page opened at 0, last interaction at 2 s, one item in the cart
    assert engine.next_due() == 30  # product_questions' page_dwell >= 30 flips at 30 s (the rest of it fails)
    assert engine.feed([], now=30) == [] and engine.next_due() == 62  # then cart_exit: idle_for >= 60 after 2 s
    (card,) = engine.feed([], now=engine.next_due())  # sending time at exactly that instant decides it
    assert (card.trigger, card.t) == ("cart_exit", 62)
    assert engine.next_due() is None  # cart_exit is decided; product_questions has no threshold left


def test_an_event_moves_the_next_due_instant(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([ev(40, "activity")], now=40)
    assert engine.next_due() == 100  # idle_for restarts at the new interaction
    engine.feed([ev(41, "visibility", state="hidden")], now=41)
    assert engine.next_due() == 86  # hidden_for >= 45 comes first now


def test_the_next_due_instant_is_on_the_pages_own_clock(demo_playbook):
    engine = Engine(demo_playbook, TREATED)
    open_product(engine, 0)
    engine.feed([], now=100)  # cart_exit decided at 62 on page a
    engine.feed([ev(50, "page_view", "b", url="/cart", kind="cart"), ev(51, "activity", "b")], now=52)  # 50 s behind
    assert engine.page.shift == 50.0  # page b's 50 s is the engine's 100 s
    assert engine.next_due() == 53  # welcome_back_cart's page_dwell >= 3, on page b's own clock
    assert engine.feed([], now=53) == [] and engine.state.clock == 103  # (one visit only: no welcome back)
    assert engine.next_due() == 111  # cart_exit, open again on a new page view: idle 60 s after its 51 s
    (card,) = engine.feed([], now=111)
    assert (card.trigger, card.t) == ("cart_exit", 161)  # decided at the engine's instant


def test_nothing_is_due_after_the_visit_ends(demo_source):
    engine = still_on_the_cart(demo_source, 1801)
    assert engine.next_due() is None  # 1,803 s is past the visit's end (1,802 s): it would decide nothing


# -- hash version 2 ----------------------------------------------------------------------------------


def test_hash_version_two_draws_the_arm_and_the_variant(demo_source):
    source = copy.deepcopy(demo_source)
    source["holdout"]["hash_version"] = 2
    cart = next(t for t in source["triggers"] if t["id"] == "cart_exit")
    cart["variants"] = [{"id": "plain"}, {"id": "warm", "message": "Still deciding? {percent}% off with {code}."}]
    mixed = Playbook.from_dict(source)
    # A visitor held out under version 1 and treated under version 2 (bucket 0.0183 -> above 0.10).
    assert holdout_bucket("demo-shop", "v17", 1) < 0.10 <= holdout_bucket("demo-shop", "v17", 2)
    assert Engine(mixed, "v17").state.arm == TREATMENT
    assert Engine(Playbook.from_dict(demo_source), "v17").state.arm == HOLDOUT
    variants_follow_the_hash(mixed, ["plain", "warm"], 10, "m")
