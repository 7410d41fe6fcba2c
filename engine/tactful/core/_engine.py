"""The engine: events in, decisions out, time as an input.

``Engine.feed(events, now)`` applies each valid event in order and evaluates the
triggers of the current page. It never reads a clock: besides the event times it
evaluates exactly at the instants where a time signal crosses a threshold (see
``_conditions``), so the same log gives the same decisions whether it arrives in
one call or many, in CPython or in Pyodide, today or in a replay next year.

A trigger is decided at most once per page view: the first instant its condition
holds, it either intervenes or is suppressed with its reason codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ._bot import bot_score
from ._decision import INTERVENE, SUPPRESS, Decision
from ._events import Event, clean_event
from ._holdout import HOLDOUT, TREATMENT, assign_arm
from ._playbook import Playbook, Trigger, url_path
from ._state import MAX_HISTORY, SESSION_TIMEOUT, PageState, SessionState, VisitorState
from ._wire import OutcomeBeacon

ACTIVE_GAP = 5.0  # at most this many seconds of "active time" are credited per interaction
MAX_KEYS = 64  # distinct hover targets / track names remembered per page or visit


class Engine:
    """Decides for one visitor.

    >>> from tactful.core import Engine, load_playbook              # doctest: +SKIP
    >>> engine = Engine(load_playbook(text), visitor_id="v-42")      # doctest: +SKIP
    >>> engine.feed([{"t": 0, "type": "page_view", "url": "/cart"}], now=0)  # doctest: +SKIP
    []
    """

    def __init__(self, playbook: Playbook, visitor_id: str | None = None, state: VisitorState | None = None):
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
        self.skipped: dict[str, int] = {}
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
        for raw in events:
            event = clean_event(raw, self.state.clock)
            if isinstance(event, str):
                self.skipped[event] = self.skipped.get(event, 0) + 1
                continue
            self._advance(event.t, decisions)
            self._apply(event)
            self._evaluate(event.t, decisions)
        self._advance(float(now), decisions)
        return decisions

    def outcome(self) -> OutcomeBeacon | None:
        """The current visit's outcome beacon (None before the first event).

        One per visit, idempotent by (visitor, session): the browser may send it
        again as the visit goes on; the proxy keeps the latest.
        """
        state = self.state
        session = state.session
        if session is None:
            return None
        return OutcomeBeacon(
            visitor=state.id[:64],
            session=f"{state.id[:40]}:{session.start:.3f}",
            arm=state.arm,
            eligible=bool(session.eligible_trigger),
            intervened=session.intervened,
            converted=session.converted,
            value=round(session.value, 2),
            trigger=session.eligible_trigger or None,
            phase=session.eligible_phase or None,
            dismissed=session.dismissed,
            accepted=session.accepted,
            bot=bot_score(session.client, session.interactions) >= self.playbook.bot_threshold,
        )

    @property
    def page(self) -> PageState | None:
        session = self.state.session
        return session.page if session else None

    # -- time -----------------------------------------------------------------

    def _advance(self, target: float, decisions: list[Decision]) -> None:
        """Evaluate at every threshold instant in (clock, target], then set the clock."""
        state = self.state
        clock = state.clock
        if clock is not None and target <= clock:
            return
        session = state.session
        page = session.page if session else None
        if session is not None and page is not None:
            limit = session.last_t + SESSION_TIMEOUT
            instants: set[float] = set()
            for trig in self._open_triggers(page):
                trig.when.crossings(state, instants)
            for at in sorted(instants):
                if (clock is None or at > clock) and at <= target and at <= limit:
                    self._evaluate(at, decisions)
        state.clock = target

    def _open_triggers(self, page: PageState) -> list[Trigger]:
        url, path = self._path
        if url != page.url:
            path = url_path(page.url)
            self._path = (page.url, path)
        return [t for t in self.playbook.triggers if t.id not in page.resolved and t.matches_page(page.kind, path)]

    # -- events ---------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        state = self.state
        t = event.t
        state.clock = t
        if event.type == "tick":
            return  # a heartbeat only moves the clock
        session = state.session
        if session is None or t - session.last_t > SESSION_TIMEOUT:
            session = self._new_session(t, session)
        session.last_t = t
        state.last_seen = t
        _APPLY[event.type](self, event, session, session.page)

    # One handler per event type: (engine, event, session, page before the event).

    def _on_page_view(self, event: Event, session: SessionState, _page: PageState | None) -> None:
        data, t = event.data, event.t
        session.page = PageState(
            url=data["url"],
            kind=data.get("kind") or self.playbook.page_kind(data["url"]),
            product=data.get("product", ""),
            category=data.get("category", ""),
            start=t,
            last_interaction=t,
        )
        session.page_views += 1

    def _on_activity(self, event: Event, session: SessionState, page: PageState | None) -> None:
        session.interactions += 1
        self._interact(page, event.t)

    def _on_scroll(self, event: Event, _session: SessionState, page: PageState | None) -> None:
        if page is not None:
            page.scroll_depth = max(page.scroll_depth, event.data["depth"])
        self._interact(page, event.t)

    def _on_hover(self, event: Event, _session: SessionState, page: PageState | None) -> None:
        if page is not None:
            _bump(page.hovers, event.data["target"])
        self._interact(page, event.t)

    def _on_exit_intent(self, event: Event, _session: SessionState, page: PageState | None) -> None:
        if page is not None:
            page.exit_intents += 1
            page.exit_dwell = event.t - page.start

    def _on_visibility(self, event: Event, _session: SessionState, page: PageState | None) -> None:
        if page is None:
            return
        if event.data["state"] == "hidden":
            if page.hidden_since is None:
                page.hidden_since = event.t
        else:
            page.hidden_since = None
            page.last_interaction = event.t  # stillness restarts when the visitor comes back

    def _on_cart(self, event: Event, _session: SessionState, page: PageState | None) -> None:
        state, data = self.state, event.data
        if data["items"] > state.cart_items and page is not None:
            page.cart_added += 1
        state.cart_items = data["items"]
        state.cart_value = data.get("value", state.cart_value if data["items"] else 0.0)
        state.cart_currency = data.get("currency", state.cart_currency)
        self._interact(page, event.t)

    def _on_convert(self, event: Event, session: SessionState, _page: PageState | None) -> None:
        state = self.state
        value = event.data.get("value", state.cart_value)
        state.conversions += 1
        state.value_total += value
        session.converted = True
        session.value += value
        state.cart_items = 0
        state.cart_value = 0.0

    def _on_dismiss(self, event: Event, session: SessionState, _page: PageState | None) -> None:
        self.state.dismissals = (self.state.dismissals + [event.t])[-MAX_HISTORY:]
        session.dismissed = True

    def _on_accept(self, _event: Event, session: SessionState, _page: PageState | None) -> None:
        self.state.accepts += 1
        session.accepted = True

    def _on_lead(self, _event: Event, _session: SessionState, _page: PageState | None) -> None:
        self.state.leads += 1

    def _on_client(self, event: Event, session: SessionState, _page: PageState | None) -> None:
        session.client.update(event.data)

    def _on_track(self, event: Event, session: SessionState, _page: PageState | None) -> None:
        _bump(session.tracks, event.data["name"])

    def _new_session(self, t: float, previous: SessionState | None) -> SessionState:
        state = self.state
        state.visits += 1
        if state.first_seen is None:
            state.first_seen = t
        session = SessionState(start=t, last_t=t)
        if previous is not None:
            session.client = dict(previous.client)  # same browser, same facts
            if previous.page is not None:
                old = previous.page
                # The tab stayed open across the gap: same page, fresh visit.
                session.page = PageState(
                    url=old.url, kind=old.kind, product=old.product, category=old.category,
                    start=t, last_interaction=t,
                )  # fmt: skip
        state.session = session
        return session

    @staticmethod
    def _interact(page: PageState | None, t: float) -> None:
        if page is None:
            return
        page.active_time += min(t - page.last_interaction, ACTIVE_GAP)
        page.last_interaction = t

    # -- decisions ------------------------------------------------------------

    def _evaluate(self, at: float, decisions: list[Decision]) -> None:
        state = self.state
        session = state.session
        page = session.page if session else None
        if session is None or page is None or at > session.last_t + SESSION_TIMEOUT:
            return
        for trig in self._open_triggers(page):
            if trig.when.holds(state, at):
                page.resolved.append(trig.id)
                decisions.append(self._decide(trig, at, session, page))

    def _decide(self, trig: Trigger, at: float, session: SessionState, page: PageState) -> Decision:
        state = self.state
        pb = self.playbook
        lim = pb.limits
        reasons = []
        if bot_score(session.client, session.interactions) >= pb.bot_threshold:
            reasons.append("bot")
        if state.converted:
            reasons.append("converted")
        if state.arm == HOLDOUT:
            reasons.append("holdout")
        if not pb.in_scope(page.kind, page.url):
            reasons.append("out_of_scope")
        if trig.phase > pb.phase:
            reasons.append("phase_off")
        if session.interventions >= lim.per_session:
            reasons.append("session_cap")
        if sum(1 for when, _ in state.interventions if at - when < lim.visitor_window) >= lim.per_visitor:
            reasons.append("visitor_cap")
        if state.interventions and at - state.interventions[-1][0] < lim.min_gap:
            reasons.append("min_gap")
        if state.dismissals and at - state.dismissals[-1] < lim.cooldown:
            reasons.append("cooldown")
        if sum(1 for when in state.dismissals if at - when < lim.dismissal_window) >= lim.max_dismissals:
            reasons.append("dismissed_too_often")

        eligible = all(reason == "holdout" for reason in reasons)
        if eligible:
            # Holdout visitors count too (counterfactually), so both arms are throttled alike.
            session.interventions += 1
            state.interventions = (state.interventions + [[at, trig.id]])[-MAX_HISTORY:]
            if not session.eligible_trigger:
                session.eligible_trigger, session.eligible_phase = trig.id, trig.phase
        action = SUPPRESS if reasons else INTERVENE
        session.intervened = session.intervened or action == INTERVENE
        if action == INTERVENE:
            reasons = [f"signal:{name}" for name in trig.when.satisfied(state, at)]
        return Decision(
            t=at,
            action=action,
            trigger=trig.id,
            kind=trig.kind,
            arm=state.arm,
            reasons=tuple(reasons),
            eligible=eligible,
            page_kind=page.kind,
            offer=trig.offer.id if trig.offer else None,
            message=trig.render({"product": page.product or "this item"}) if action == INTERVENE else "",
        )


def _bump(counts: dict[str, int], key: str) -> None:
    if key in counts or len(counts) < MAX_KEYS:
        counts[key] = counts.get(key, 0) + 1


_Handler = Callable[[Engine, Event, SessionState, "PageState | None"], None]
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
