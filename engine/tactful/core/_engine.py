"""The engine: events in, decisions out, time as an input.

``Engine.feed(events, now)`` applies each valid event in order and evaluates the
triggers of the current page. It never reads a clock: besides the event times it
evaluates exactly at the instants where a time signal crosses a threshold (see
``_conditions``), so the same log gives the same decisions whether it arrives in
one call or many, in CPython or in Pyodide, today or in a replay next year.

A trigger is decided at most once per page view: the first instant its condition
holds, it either intervenes or is suppressed with its reason codes.

Time misbehaves in browsers, and no fact is lost to it:

* an event older than the engine's clock (a wall clock stepped back between two
  pages, another tab's batch) is applied *at* the engine's clock, never dropped;
  when a new page's own clock is behind, the whole page is shifted forward
  (``PageState.shift``), so its dwell and stillness stay right;
* an event already applied (same page instance ``p``, sequence number ``n`` not
  above the last one seen) is skipped as ``duplicate``: a navigation's journal
  can replay a batch the worker had already stored;
* time passes for a page only through that page's own events and feeds: threshold
  instants of a page that was left, or that fall while no page of the visit was
  open, decide nothing;
* nothing is decided on a page the visitor has not interacted with yet (pointer,
  key, touch, focus or scroll), whatever the playbook says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ._bot import bot_score, machine_cadence
from ._decision import INTERVENE, SUPPRESS, Decision
from ._events import SKIP_DUPLICATE, Event, clean_event
from ._holdout import HOLDOUT, TREATMENT, assign_arm
from ._playbook import Playbook, Trigger, url_path
from ._state import MAX_INPUTS, SESSION_TIMEOUT, Fact, PageState, SessionState, VisitorState, union
from ._wire import OutcomeBeacon

ACTIVE_GAP = 5.0  # at most this many seconds of "active time" are credited per interaction
MAX_KEYS = 64  # distinct hover targets / track names remembered per page or visit
MAX_SCRIPTED_SCROLLS = 8  # scrolls without human input in one visit before it counts as machine behaviour


class Engine:
    """Decides for one visitor.

    >>> from tactful.core import Engine, load_playbook              # doctest: +SKIP
    >>> engine = Engine(load_playbook(text), visitor_id="v-42")      # doctest: +SKIP
    >>> engine.feed([{"t": 0, "type": "page_view", "url": "/cart"}], now=0)  # doctest: +SKIP
    []
    """

    def __init__(self, playbook: Playbook, visitor_id: str | None = None, state: VisitorState | None = None,
                 paused: frozenset[str] = frozenset()):  # fmt: skip
        if state is None:
            if not visitor_id:
                raise ValueError("an Engine needs a visitor_id or a VisitorState")
            state = VisitorState(id=visitor_id)
        elif not state.id:
            state.id = visitor_id or ""
            if not state.id:
                raise ValueError("the visitor state has no id")
        self.playbook = playbook
        self.state = state
        if state.arm not in (HOLDOUT, TREATMENT):
            hold = playbook.holdout
            state.arm = assign_arm(hold.salt, state.id, hold.fraction, hold.hash_version)
        self.paused = paused  # triggers the proxy paused (their lift was below zero): they fire no more
        # The current page's product facts (``page_view.facts``): kept in memory for the card's
        # answers, never in the stored visitor record.
        self.page_facts: dict[str, str] = {}
        self.skipped: dict[str, int] = {}  # events skipped, by reason
        self.dropped: dict[str, int] = {}  # malformed optional fields dropped, by "type.field"
        self._path = ("", "/")  # (url, path) cache for the current page

    # -- public ---------------------------------------------------------------

    def feed(self, events: Iterable[Any], now: float) -> list[Decision]:
        """Apply events (oldest first) and advance the clock to ``now``.

        Malformed events are skipped and counted in ``self.skipped``; this never
        raises on event content. ``now`` must be a finite number.
        """
        if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
            raise ValueError(f"now must be a finite number of seconds, not {now!r}")
        decisions: list[Decision] = []
        live = True  # does this feed come from the page being shown? (an empty heartbeat does)
        for raw in events:
            event = clean_event(raw)
            if isinstance(event, str) or self._duplicate(event):
                reason = event if isinstance(event, str) else SKIP_DUPLICATE
                self.skipped[reason] = self.skipped.get(reason, 0) + 1
                continue
            for name in event.dropped:
                key = f"{event.type}.{name}"
                self.dropped[key] = self.dropped.get(key, 0) + 1
            at = self._at(event)
            live = self._live(event)
            if live:
                self._advance(at, decisions)
            self._apply(event, at)
            live = live or event.type == "page_view"  # after a page view, its page is the one shown
            if live:
                self._evaluate(at, decisions)
        page = self.page
        target = max(float(now) + (page.shift if page else 0.0), self.state.clock or 0.0)
        if live:
            self._advance(target, decisions)
        else:  # another page's events only (a journal from a closed page): that page's time stands still
            self.state.clock = target
        return decisions

    def merge(self, other: VisitorState) -> None:
        """Join another tab's stored record (its facts) before deciding anything more."""
        self.state.merge(other)

    def outcome(self) -> OutcomeBeacon | None:
        """The current visit's outcome beacon (None before the first event).

        One per visit, idempotent by (visitor, session): the browser may send it
        again as the visit goes on; the proxy keeps the latest. It is derived from
        the visitor's facts since the visit started, so every tab reports the same.
        None under Global Privacy Control (when the playbook honours it).
        """
        state = self.state
        session = state.session
        if session is None or self.private():
            return None
        since = session.start
        held = _since(state.interventions, since)
        first = self.playbook.trigger(held[0][1]) if held else None
        hold = self.playbook.holdout
        variant = first.variant_for(hold.salt, state.id, hold.hash_version) if first else None
        conversions = _since(state.conversions, since)
        return OutcomeBeacon(
            visitor=state.id[:64],
            session=f"{state.id[:40]}:{session.start:.3f}",
            arm=state.arm,
            eligible=bool(held),
            intervened=bool(held) and state.arm == TREATMENT,
            converted=bool(conversions),
            value=round(sum(value for _, value in conversions), 2),
            trigger=first.id if first else None,
            phase=first.phase if first else None,
            dismissed=bool(_since(state.dismissals, since)),
            accepted=bool(_since(state.accepts, since)),
            bot=self.is_bot(),
            storage="session" if session.client.get("storage") == "session" else None,
            variant=variant.id if variant else None,
            eligible_at=held[0][0] if held else None,
            converted_at=conversions[0][0] if conversions else None,
            test=session.client.get("test") is True,
        )

    def private(self) -> bool:
        """Whether the browser sends Global Privacy Control and the playbook honours it: then no
        outcome beacon is made and no lead is asked for (only words travel)."""
        session = self.state.session
        return self.playbook.honor_gpc and session is not None and session.client.get("gpc") is True

    def is_bot(self) -> bool:
        """Whether this visit looks automated now (see ``_bot``)."""
        session = self.state.session
        if session is None:
            return False
        return bot_score(session.client, session.interactions, session.machine) >= self.playbook.bot_threshold

    @property
    def page(self) -> PageState | None:
        session = self.state.session
        return session.page if session else None

    # -- time -----------------------------------------------------------------

    def _duplicate(self, event: Event) -> bool:
        """An event this visitor's record has applied already (its page instance and sequence say so)."""
        if not event.page or event.seq is None:
            return False
        last = self.state.last_seq(event.page)
        if last is not None and event.seq <= last:
            return True
        self.state.mark_seen(event.page, event.seq)
        return False

    def _at(self, event: Event) -> float:
        """The instant an event is applied at: shifted with its page, never before the clock."""
        clock = self.state.clock
        page = self.page
        t = event.t
        if event.type != "page_view" and page is not None and event.page and event.page == page.instance:
            t += page.shift
        return t if clock is None or t >= clock else clock

    def _live(self, event: Event) -> bool:
        """Does this event continue the page being shown? (Only then does that page's time pass.)"""
        page = self.page
        if page is None or event.type == "page_view":
            return False
        return not event.page or event.page == page.instance

    def _advance(self, target: float, decisions: list[Decision]) -> None:
        """Evaluate at every threshold instant in (clock, target], then set the clock."""
        state = self.state
        clock = state.clock
        if clock is not None and target <= clock:
            return
        session = state.session
        page = session.page if session else None
        if session is not None and page is not None:
            for at in self._instants(session, page, clock):
                if at > target:
                    break
                self._evaluate(at, decisions)
        state.clock = target

    def next_due(self) -> float | None:
        """The next instant, on the shown page's own clock, at which one of its triggers could be
        decided with no new event (a time threshold), or None when nothing is due.

        A page needs to send time (an empty batch) only then: the loader sleeps until this
        instant instead of ticking every second."""
        state = self.state
        session = state.session
        page = session.page if session else None
        if session is None or page is None:
            return None
        instants = self._instants(session, page, state.clock)
        return instants[0] - page.shift if instants else None

    def _instants(self, session: SessionState, page: PageState, after: float | None) -> list[float]:
        """The page's threshold instants after ``after`` and within the session, in order."""
        limit = session.last_t + SESSION_TIMEOUT
        instants: set[float] = set()
        for trig in self._open_triggers(page):
            trig.when.crossings(self.state, instants)
        return sorted(at for at in instants if (after is None or at > after) and at <= limit)

    def _open_triggers(self, page: PageState) -> list[Trigger]:
        url, path = self._path
        if url != page.url:
            path = url_path(page.url)
            self._path = (page.url, path)
        return [t for t in self.playbook.triggers if t.id not in page.resolved and t.matches_page(page.kind, path)]

    # -- events ---------------------------------------------------------------

    def _apply(self, event: Event, t: float) -> None:
        state = self.state
        state.clock = t
        if event.type == "tick":
            return  # a heartbeat only moves the clock
        live = self._live(event)
        session = state.session
        if session is None or t - session.last_t > SESSION_TIMEOUT:
            session = self._new_session(t, session, keep_page=live)
        session.last_t = t
        state.last_seen = t
        state.first_seen = t if state.first_seen is None else min(state.first_seen, t)
        # Page-level effects belong to the page the event came from: another page's are dropped.
        page = session.page if live else None
        _APPLY[event.type](self, event, t, session, page)

    # One handler per event type: (engine, event, when, session, the event's page or None).

    def _on_page_view(self, event: Event, t: float, session: SessionState, _page: PageState | None) -> None:
        data = event.data
        session.page = PageState(
            instance=event.page,
            url=data["url"],
            kind=data.get("kind") or self.playbook.page_kind(data["url"]),
            product=data.get("product", ""),
            category=data.get("category", ""),
            start=t,
            shift=t - event.t,
            last_interaction=t,
        )
        session.page_views += 1
        self.page_facts = {**data.get("jsonld", {}), **data.get("facts", {})}  # the page's own attributes win

    def _on_activity(self, _event: Event, t: float, session: SessionState, page: PageState | None) -> None:
        session.interactions += 1
        self._interact(page, t)

    def _on_scroll(self, event: Event, t: float, session: SessionState, page: PageState | None) -> None:
        if page is not None:
            page.scroll_depth = max(page.scroll_depth, event.data["depth"])
        if event.data.get("human", True):
            self._input(session, t)
            self._interact(page, t)
        else:  # the page scrolled with no hand on it: depth counts, interaction does not
            session.scripted += 1
            session.machine = session.machine or session.scripted >= MAX_SCRIPTED_SCROLLS

    def _on_hover(self, event: Event, t: float, session: SessionState, page: PageState | None) -> None:
        if page is not None:
            _bump(page.hovers, event.data["target"])
        self._input(session, t)
        self._interact(page, t)

    def _on_exit_intent(self, _event: Event, t: float, _session: SessionState, page: PageState | None) -> None:
        if page is not None:
            page.exit_intents += 1
            page.exit_dwell = t - page.start

    def _on_visibility(self, event: Event, t: float, _session: SessionState, page: PageState | None) -> None:
        if page is None:
            return
        if event.data["state"] == "hidden":
            if page.hidden_since is None:
                page.hidden_since = t
        else:
            page.hidden_since = None
            page.last_interaction = t  # stillness restarts when the visitor comes back

    def _on_cart(self, event: Event, t: float, _session: SessionState, page: PageState | None) -> None:
        state, data = self.state, event.data
        if data["items"] > state.cart_items and page is not None:
            page.cart_added += 1
        if t >= state.cart_t:  # a later cart (from another tab) wins
            state.cart_items = data["items"]
            state.cart_value = data.get("value", state.cart_value if data["items"] else 0.0)
            state.cart_currency = data.get("currency", state.cart_currency)
            state.cart_t = t
        # Not an interaction by itself: a site may report the cart on every page load.

    def _on_convert(self, event: Event, t: float, _session: SessionState, _page: PageState | None) -> None:
        state = self.state
        state.conversions = union(state.conversions, [[t, event.data.get("value", state.cart_value)]])
        state.cart_items, state.cart_value, state.cart_t = 0, 0.0, max(t, state.cart_t)

    def _on_dismiss(self, event: Event, t: float, _session: SessionState, _page: PageState | None) -> None:
        self.state.dismissals = union(self.state.dismissals, [[t, event.data["trigger"]]])

    def _on_accept(self, event: Event, t: float, _session: SessionState, _page: PageState | None) -> None:
        self.state.accepts = union(self.state.accepts, [[t, event.data["trigger"]]])

    def _on_lead(self, event: Event, t: float, _session: SessionState, _page: PageState | None) -> None:
        self.state.leads = union(self.state.leads, [[t, event.data.get("trigger", "")]])

    def _on_client(self, event: Event, _t: float, session: SessionState, _page: PageState | None) -> None:
        session.client.update(event.data)

    def _on_track(self, event: Event, _t: float, session: SessionState, _page: PageState | None) -> None:
        _bump(session.tracks, event.data["name"])

    def _new_session(self, t: float, previous: SessionState | None, keep_page: bool) -> SessionState:
        state = self.state
        state.add_session(t)
        session = SessionState(start=t, last_t=t)
        if previous is not None:
            session.client = dict(previous.client)  # same browser, same facts
            old = previous.page
            if keep_page and old is not None:
                # The tab stayed open across the gap: same page, fresh visit.
                session.page = PageState(
                    instance=old.instance, url=old.url, kind=old.kind, product=old.product,
                    category=old.category, start=t, shift=old.shift, last_interaction=t,
                )  # fmt: skip
        state.session = session
        return session

    @staticmethod
    def _interact(page: PageState | None, t: float) -> None:
        if page is None:
            return
        page.interacted = True
        page.active_time += min(t - page.last_interaction, ACTIVE_GAP)
        page.last_interaction = t

    @staticmethod
    def _input(session: SessionState, t: float) -> None:
        """Remember a scroll or hover instant; a machine-like train marks the visit."""
        session.inputs = (session.inputs + [t])[-MAX_INPUTS:]
        session.machine = session.machine or machine_cadence(session.inputs)

    # -- decisions ------------------------------------------------------------

    def _evaluate(self, at: float, decisions: list[Decision]) -> None:
        state = self.state
        session = state.session
        page = session.page if session else None
        if session is None or page is None or at > session.last_t + SESSION_TIMEOUT:
            return
        if not page.interacted:
            return  # nothing fires before the visitor has done something on this page
        for trig in self._open_triggers(page):
            if trig.when.holds(state, at):
                page.resolved.append(trig.id)
                decision = self._decide(trig, at, session, page)
                decisions.append(decision)
                because = [leaf.text for leaf in trig.when.leaves() if leaf.holds(state, at)]
                session.note_decision({"t": at, "trigger": trig.id, "action": decision.action,
                                       "reasons": list(decision.reasons), "url": url_path(page.url)[:200],
                                       "because": because})  # fmt: skip

    def _gates(self, trig: Trigger, at: float, session: SessionState, page: PageState) -> list[str]:
        """Every gate that stops ``trig`` at ``at``, in gate order (see ``GATES``)."""
        state, pb = self.state, self.playbook
        lim = pb.limits
        shown = state.interventions
        checks = [
            ("bot", self.is_bot()),
            ("converted", state.converted),
            ("holdout", state.arm == HOLDOUT),
            ("out_of_scope", not pb.in_scope(page.kind, page.url)),
            ("privacy", trig.kind == "lead" and self.private()),
            ("phase_off", trig.phase > pb.phase),
            ("paused", trig.id in self.paused),
            ("session_cap", len(_since(shown, session.start)) >= lim.per_session),
            ("visitor_cap", sum(1 for when, _ in shown if at - when < lim.visitor_window) >= lim.per_visitor),
            ("min_gap", bool(shown) and at - max(when for when, _ in shown) < lim.min_gap),
            ("cooldown", bool(state.dismissals) and at - max(when for when, _ in state.dismissals) < lim.cooldown),
            ("dismissed_too_often",
             sum(1 for when, _ in state.dismissals if at - when < lim.dismissal_window) >= lim.max_dismissals),
        ]  # fmt: skip
        return [code for code, failed in checks if failed]

    def _decide(self, trig: Trigger, at: float, session: SessionState, page: PageState) -> Decision:
        state = self.state
        reasons = self._gates(trig, at, session, page)
        eligible = all(reason == "holdout" for reason in reasons)
        if eligible:
            # Holdout visitors count too (counterfactually), so both arms are throttled alike.
            state.interventions = union(state.interventions, [[at, trig.id]])
        action = SUPPRESS if reasons else INTERVENE
        if action == INTERVENE:
            reasons = [f"signal:{name}" for name in trig.when.satisfied(state, at)]
        hold = self.playbook.holdout
        variant = trig.variant_for(hold.salt, state.id, hold.hash_version)
        offer = trig.offer_of(variant)
        return Decision(
            t=at,
            action=action,
            trigger=trig.id,
            kind=trig.kind,
            arm=state.arm,
            reasons=tuple(reasons),
            eligible=eligible,
            page_kind=page.kind,
            offer=offer.id if offer else None,
            message=trig.render({"product": page.product or "this item"}, variant) if action == INTERVENE else "",
            variant=variant.id if variant else None,
        )


def _since(facts: list[Fact], start: float) -> list[Fact]:
    return [fact for fact in facts if fact[0] >= start]


def _bump(counts: dict[str, int], key: str) -> None:
    if key in counts or len(counts) < MAX_KEYS:
        counts[key] = counts.get(key, 0) + 1


_Handler = Callable[[Engine, Event, float, SessionState, "PageState | None"], None]
_APPLY: dict[str, _Handler] = {
    "page_view": Engine._on_page_view,
    "activity": Engine._on_activity,
    "scroll": Engine._on_scroll,
    "hover": Engine._on_hover,
    "exit_intent": Engine._on_exit_intent,
    "visibility": Engine._on_visibility,
    "cart": Engine._on_cart,
    "convert": Engine._on_convert,
    "dismiss": Engine._on_dismiss,
    "accept": Engine._on_accept,
    "lead": Engine._on_lead,
    "client": Engine._on_client,
    "track": Engine._on_track,
}

