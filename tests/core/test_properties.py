"""Invariants that must hold for every event sequence, not just the ones someone thought of."""

from __future__ import annotations

from golden import merge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tactful.core import SESSION_TIMEOUT, Engine, Playbook, VisitorState

URLS = ["/", "/c/hats", "/p/mug", "/p/boots", "/pricing", "/cart", "/checkout", "/blog/care-guide", "/support", "/faq/x"]
HUMAN = {"type": "client", "user_agent": "Mozilla/5.0 Chrome/130.0", "webdriver": False, "languages": ["en"]}

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


@st.composite
def logs(draw, body_strategy=bodies, client=HUMAN, min_size=1):
    t = draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    events = [{"t": t, **client}]
    for gap, body in draw(st.lists(st.tuples(gaps, body_strategy), min_size=min_size, max_size=60)):
        t += gap
        events.append({"t": t, **body})
    return events


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


@SETTINGS
@given(data=st.data())
def test_gates_are_never_breached(demo_source, data):
    playbook = data.draw(playbooks(demo_source))
    events = data.draw(logs())
    engine, decisions = run(playbook, events, data.draw(visitors))
    lim = playbook.limits
    shown = [d for d in decisions if d.eligible]  # real, or counterfactual in the holdout
    converts = [e["t"] for e in events if e["type"] == "convert"]
    dismissals = [e["t"] for e in events if e["type"] == "dismiss"]
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


@SETTINGS
@given(data=st.data())
def test_holdout_visitors_never_see_anything(demo_source, data):
    playbook = Playbook.from_dict(merge(demo_source, {"holdout": {"fraction": 0.5, "salt": "s"}}))
    visitor = data.draw(st.sampled_from(["v0", "v3", "v4", "v7", "v8"]))  # all in the holdout for salt "s"
    engine, decisions = run(playbook, data.draw(logs()), visitor)
    assert engine.state.arm == "holdout"
    assert all(d.arm == "holdout" and not d.intervene for d in decisions)


@SETTINGS
@given(data=st.data())
def test_bots_never_get_an_intervention(demo_source, data):
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
    _, decisions = run(Playbook.from_dict(demo_source), data.draw(logs(client=client)), data.draw(visitors))
    assert all(not d.eligible and d.reasons[0] == "bot" for d in decisions)


@SETTINGS
@given(data=st.data())
def test_no_decision_without_behaviour(demo_source, data):
    passive = bodies.filter(lambda b: b["type"] in PASSIVE)
    _, decisions = run(Playbook.from_dict(demo_source), data.draw(logs(body_strategy=passive)), data.draw(visitors))
    assert decisions == []


@SETTINGS
@given(data=st.data())
def test_replaying_twice_or_split_gives_identical_decisions(demo_source, data):
    playbook = data.draw(playbooks(demo_source))
    events = data.draw(logs(min_size=2))
    visitor = data.draw(visitors)
    end = events[-1]["t"] + 4000
    _, whole = run(playbook, events, visitor, end)
    _, again = run(playbook, events, visitor, end)
    assert whole == again

    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(events) - 1), max_size=6))))
    engine = Engine(playbook, visitor_id=visitor)
    pieces = []
    start = 0
    for cut in [*cuts, len(events)]:
        chunk = events[start:cut]
        nxt = events[cut]["t"] if cut < len(events) else end
        # "now" anywhere from the chunk's last event up to the next event's time
        now = data.draw(st.floats(min_value=chunk[-1]["t"], max_value=nxt)) if cut < len(events) else end
        if data.draw(st.booleans()):  # a page load: the worker restarts from the stored record
            engine = Engine(playbook, state=VisitorState.from_bytes(engine.state.to_bytes()))
        pieces.extend(engine.feed(chunk, now))
        start = cut
    assert pieces == whole
