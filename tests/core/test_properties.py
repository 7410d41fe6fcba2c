"""Invariants that must hold for every event sequence, not just the ones someone thought of.

The logs are drawn from visitor scenarios that reach decisions (a cart left through the top of
the window, two plans compared, a product read, a long article, stillness, dismissals, purchases,
new visits days later) mixed with random events. Each property counts the examples that contain
an eligible decision and fails below ``FLOOR``: an invariant checked over empty lists proves nothing.
"""

from __future__ import annotations

from golden import merge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tactful.core import SESSION_TIMEOUT, Engine, Playbook, VisitorState

URLS = ["/", "/c/hats", "/p/mug", "/p/boots", "/pricing", "/cart", "/checkout", "/blog/care-guide", "/support", "/faq/x"]
HUMAN = {"type": "client", "user_agent": "Mozilla/5.0 Chrome/130.0", "webdriver": False, "languages": ["en"]}
FLOOR = 0.5  # share of examples that must contain at least one eligible decision

gaps = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 30.0, 61.0]),
    st.floats(min_value=0, max_value=120, allow_nan=False),
    st.sampled_from([1900.0, 7200.0, 90000.0, 700000.0]),  # new visits, across cooldowns and windows
)
bodies = st.one_of(
    st.builds(lambda u: {"type": "page_view", "url": u}, st.sampled_from(URLS)),
    st.just({"type": "activity"}),
    st.builds(lambda d: {"type": "scroll", "depth": d}, st.sampled_from([0.2, 0.5, 0.75, 0.95, 1.0])),
    st.builds(lambda x: {"type": "hover", "target": x}, st.sampled_from(["tier:pro", "tier:team", "nav"])),
    st.just({"type": "exit_intent"}),
    st.builds(lambda s: {"type": "visibility", "state": s}, st.sampled_from(["hidden", "visible"])),
    st.builds(lambda n: {"type": "cart", "items": n, "value": 10.0 * n}, st.integers(0, 3)),
    st.just({"type": "convert", "value": 20}),
    st.builds(lambda x: {"type": "dismiss", "trigger": x}, st.sampled_from(["cart_exit", "pricing_compare"])),
    st.builds(lambda x: {"type": "accept", "trigger": x}, st.sampled_from(["cart_exit", "product_questions"])),
    st.just({"type": "tick"}),
)
PASSIVE = {"page_view", "tick", "visibility", "client"}

# Scenarios: (gap before, body) steps a person takes; each reaches a trigger of the demo playbook.
SCENARIOS = {
    "cart_exit": [(0.0, {"type": "page_view", "url": "/cart"}), (1.0, {"type": "activity"}),
                  (1.0, {"type": "cart", "items": 1, "value": 30.0}), (9.0, {"type": "exit_intent"})],
    "pricing": [(0.0, {"type": "page_view", "url": "/pricing"}), (1.0, {"type": "activity"}),
                (2.0, {"type": "scroll", "depth": 0.95}), (1.5, {"type": "hover", "target": "tier:pro"}),
                (1.5, {"type": "hover", "target": "tier:team"}), (6.0, {"type": "tick"})],
    "product_read": [(0.0, {"type": "page_view", "url": "/p/mug"}), (1.0, {"type": "scroll", "depth": 0.5}),
                     *[(1.0, {"type": "activity"})] * 32],
    "article": [(0.0, {"type": "page_view", "url": "/blog/care-guide"}), (1.0, {"type": "scroll", "depth": 0.8}),
                *[(1.0, {"type": "activity"})] * 48],
    "still": [(61.0, {"type": "tick"})],
    "dismiss_cart": [(1.0, {"type": "dismiss", "trigger": "cart_exit"})],
    "dismiss_pricing": [(1.0, {"type": "dismiss", "trigger": "pricing_compare"})],
    "convert": [(0.0, {"type": "page_view", "url": "/thanks"}), (0.5, {"type": "activity"}),
                (0.5, {"type": "convert", "value": 25.0})],
}  # fmt: skip
FIRING = ["cart_exit", "pricing", "product_read", "article"]
NEW_VISITS = [[(gap, {"type": "tick"})] for gap in (1900.0, 7200.0, 90000.0, 700000.0)]
# A segment is a scenario (firing ones three times as likely) or a new visit, then up to two random
# events: most of a log is people doing things, with the odd thing nobody planned.
segments = st.tuples(
    st.sampled_from([SCENARIOS[n] for n in FIRING] * 3 + [SCENARIOS[n] for n in sorted(set(SCENARIOS) - set(FIRING))]
                    + NEW_VISITS),
    st.lists(st.tuples(gaps, bodies), max_size=2),
).map(lambda pair: [*pair[0], *pair[1]])


@st.composite
def logs(draw, body_strategy=None, client=HUMAN, min_size=1):
    """A visitor's log: scenario segments and noise (or, with ``body_strategy``, only such events)."""
    t = draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    events = [{"t": t, **client}]
    if body_strategy is not None:
        steps = draw(st.lists(st.tuples(gaps, body_strategy), min_size=min_size, max_size=60))
    else:
        steps = [step for segment in draw(st.lists(segments, min_size=max(2, min_size), max_size=8)) for step in segment]
    for gap, body in steps:
        t += gap
        events.append({"t": t, **body})
    return events


class Floor:
    """Counts the examples of a property that contain an eligible decision."""

    def __init__(self):
        self.examples = self.with_decisions = 0

    def saw(self, decisions) -> None:
        self.examples += 1
        self.with_decisions += any(d.eligible for d in decisions)

    def check(self) -> None:
        assert self.examples and self.with_decisions / self.examples >= FLOOR, vars(self)
        print(f"{self.with_decisions} of {self.examples} examples had an eligible decision")


@st.composite
def playbooks(draw, demo_source):
    limits = {
        "per_session": draw(st.integers(1, 3)),
        "per_visitor": draw(st.integers(1, 4)),
        "visitor_window": draw(st.sampled_from([3600.0, 86400.0, 604800.0])),
        "min_gap": draw(st.sampled_from([0.0, 60.0, 3600.0])),
        "cooldown": draw(st.sampled_from([0.0, 600.0, 86400.0])),
        "max_dismissals": draw(st.integers(1, 3)),
        "dismissal_window": draw(st.sampled_from([3600.0, 2592000.0])),
    }
    holdout = {"fraction": draw(st.sampled_from([0.1, 0.5])), "salt": draw(st.sampled_from(["a", "b", "c"]))}
    return Playbook.from_dict(merge(demo_source, {"limits": limits, "holdout": holdout}))


def run(playbook, events, visitor="v1", now=None):
    engine = Engine(playbook, visitor_id=visitor)
    decisions = engine.feed(events, now if now is not None else events[-1]["t"] + 3600)
    return engine, decisions


visitors = st.sampled_from([f"v{i}" for i in range(12)])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def session_of(events, at):
    """Index of the visit containing instant ``at``, computed from the log independently of the engine."""
    index, last = -1, None
    for event in events:
        if event["t"] > at:
            break
        if event["type"] == "tick":
            continue
        if last is None or event["t"] - last > SESSION_TIMEOUT:
            index += 1
        last = event["t"]
    return index


def test_gates_are_never_breached(demo_source):
    floor = Floor()

    @SETTINGS
    @given(data=st.data())
    def gates_are_never_breached(data):
        playbook = data.draw(playbooks(demo_source))
        events = data.draw(logs())
        engine, decisions = run(playbook, events, data.draw(visitors))
        floor.saw(decisions)
        lim = playbook.limits
        shown = [d for d in decisions if d.eligible]  # real, or counterfactual in the holdout
        converts = [e["t"] for e in events if e["type"] == "convert"]
        # A dismissal is a fact (instant, trigger): the same one twice is one (tabs merge facts by value).
        dismissals = sorted({(e["t"], e["trigger"]) for e in events if e["type"] == "dismiss"})
        dismissals = [at for at, _ in dismissals]
        for d in decisions:
            if d.intervene:
                assert d.arm == "treatment"
                assert any(r.startswith("signal:") for r in d.reasons)
                assert not converts or d.t <= converts[0]
            if converts and d.t > converts[0]:
                assert not d.eligible and "converted" in d.reasons
        per_session: dict[int, int] = {}
        for i, d in enumerate(shown):
            per_session[session_of(events, d.t)] = per_session.get(session_of(events, d.t), 0) + 1
            assert sum(1 for e in shown[: i + 1] if d.t - e.t < lim.visitor_window) <= lim.per_visitor
            if i:
                assert d.t - shown[i - 1].t >= lim.min_gap
            before = [x for x in dismissals if x < d.t]
            if before:
                assert d.t - before[-1] >= lim.cooldown
            assert sum(1 for x in before if d.t - x < lim.dismissal_window) < lim.max_dismissals
        assert all(count <= lim.per_session for count in per_session.values())

    gates_are_never_breached()
    floor.check()


def test_holdout_visitors_never_see_anything(demo_source):
    floor = Floor()

    @SETTINGS
    @given(data=st.data())
    def holdout_visitors_never_see_anything(data):
        playbook = Playbook.from_dict(merge(demo_source, {"holdout": {"fraction": 0.5, "salt": "s"}}))
        visitor = data.draw(st.sampled_from(["v0", "v3", "v4", "v7", "v8"]))  # all in the holdout for salt "s"
        engine, decisions = run(playbook, data.draw(logs()), visitor)
        floor.saw(decisions)  # the holdout's counterfactual decisions: eligible, never shown
        assert engine.state.arm == "holdout"
        assert all(d.arm == "holdout" and not d.intervene for d in decisions)

    holdout_visitors_never_see_anything()
    floor.check()


def test_bots_never_get_an_intervention(demo_source):
    floor = Floor()  # the same logs from a person: they would have been spoken to

    @SETTINGS
    @given(data=st.data())
    def bots_never_get_an_intervention(data):
        client = data.draw(
            st.sampled_from(
                [
                    {**HUMAN, "webdriver": True},
                    {**HUMAN, "user_agent": "Mozilla/5.0 HeadlessChrome/130.0"},
                    {**HUMAN, "user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
                    {**HUMAN, "user_agent": ""},
                ]
            )
        )
        events, visitor = data.draw(logs(client=client)), data.draw(visitors)
        _, decisions = run(Playbook.from_dict(demo_source), events, visitor)
        assert all(not d.eligible and d.reasons[0] == "bot" for d in decisions)
        floor.saw(run(Playbook.from_dict(demo_source), [{**events[0], **HUMAN}, *events[1:]], visitor)[1])

    bots_never_get_an_intervention()
    floor.check()


def test_no_decision_without_behaviour(demo_source):
    @SETTINGS
    @given(data=st.data())
    def no_decision_without_behaviour(data):
        passive = bodies.filter(lambda b: b["type"] in PASSIVE)
        _, decisions = run(Playbook.from_dict(demo_source), data.draw(logs(body_strategy=passive)), data.draw(visitors))
        assert decisions == []

    no_decision_without_behaviour()


def test_replaying_twice_or_split_gives_identical_decisions(demo_source):
    floor = Floor()

    @SETTINGS
    @given(data=st.data())
    def replaying_twice_or_split_gives_identical_decisions(data):
        playbook = data.draw(playbooks(demo_source))
        events = data.draw(logs(min_size=2))
        visitor = data.draw(visitors)
        end = events[-1]["t"] + 4000
        cuts = sorted(set(data.draw(st.lists(st.integers(1, len(events) - 1), max_size=6))))
        # Each piece is fed with "now" anywhere from its last event up to the next event's time. A
        # feed's "now" says the page was still open then (the browser's heartbeat), so the whole log
        # gets the same news: a tick at that instant.
        pieces_of, whole_log, start = [], [], 0
        for cut in [*cuts, len(events)]:
            chunk = events[start:cut]
            if cut < len(events):
                now = data.draw(st.floats(min_value=chunk[-1]["t"], max_value=events[cut]["t"]))
                tick = [{"t": now, "type": "tick"}] if now > chunk[-1]["t"] else []
            else:
                now, tick = end, []
            pieces_of.append((chunk, now))
            whole_log += chunk + tick
            start = cut
        _, whole = run(playbook, whole_log, visitor, end)
        floor.saw(whole)
        _, again = run(playbook, whole_log, visitor, end)
        assert whole == again

        engine = Engine(playbook, visitor_id=visitor)
        pieces = []
        for chunk, now in pieces_of:
            if data.draw(st.booleans()):  # a page load: the worker restarts from the stored record
                engine = Engine(playbook, state=VisitorState.from_bytes(engine.state.to_bytes()))
            pieces.extend(engine.feed(chunk, now))
        assert pieces == whole

    replaying_twice_or_split_gives_identical_decisions()
    floor.check()
