"""The engine as the browser's worker drives it.

The worker passes JSON text in and gets JSON text back, so no Python object
ever crosses into JavaScript (no PyProxy to leak); bytes (the stored visitor
record, wire bodies) come back as ``bytes`` for the worker to convert with
``to_js`` and free.

>>> host = Host(playbook_json, "v-1", None)                     # doctest: +SKIP
>>> host.feed('[{"t": 0, "type": "page_view", "url": "/cart"}]', 0.5)  # doctest: +SKIP
'[]'
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

from ._bot import bot_score
from ._bridge import OFFER_DETAIL_FIELDS
from ._decision import Decision
from ._engine import Engine
from ._errors import StateError, WireError
from ._events import Event, clean_event
from ._explain import story, why_not
from ._holdout import HOLDOUT, TREATMENT
from ._pagefacts import MAX_FACTS
from ._playbook import Playbook, Trigger
from ._state import SESSION_TIMEOUT, VisitorState
from ._wire import (
    _LOCALE,
    LeadRequest,
    MessageReply,
    ReplyReply,
    ReplyRequest,
    TokenReply,
    TokenRequest,
    decode,
    encode,
    message_request,
)

MAX_BATCH = 500  # events per feed call; the loader batches per tick, far below this


class Host:
    """One visitor's engine inside the worker."""

    def __init__(self, playbook_json: str, visitor_id: str, stored_b64: str | None = None, client_json: str = "",
                 arm: str = ""):  # fmt: skip
        """``arm``: a test build's chosen arm (``treatment`` or ``holdout``); production workers never pass one."""
        self.playbook = Playbook.from_dict(json.loads(playbook_json))
        self.notes: list[str] = []
        self._client = _client_facts(client_json)
        state = None
        if stored_b64:
            try:
                state = VisitorState.from_bytes(base64.b64decode(stored_b64, validate=True))
            except (StateError, ValueError) as exc:
                self.notes.append(f"stored visitor record unreadable, starting afresh: {exc}")
        if state is not None and state.id != visitor_id:
            self.notes.append("stored record belongs to another visitor id; starting afresh")
            state = None
        self.engine = Engine(self.playbook, visitor_id=visitor_id, state=state)
        if arm in (HOLDOUT, TREATMENT):
            self.engine.state.arm = arm
        self._last: dict[str, Decision] = {}

    @property
    def arm(self) -> str:
        return self.engine.state.arm

    def feed(self, events_json: str, now: float, stored_b64: str = "") -> str:
        """Feed a JSON array of events; return a JSON array of decisions for the widget.

        ``stored_b64`` is the visitor record as stored now, possibly written by another tab
        since this one last saved: its facts are merged in first, so a purchase or a
        dismissal in any tab is known before this tab decides anything more.
        """
        if stored_b64:
            self.merge(stored_b64)
        try:
            events = json.loads(events_json)
        except (TypeError, ValueError):
            events = None
        if not isinstance(events, list):
            self.engine.skipped["not_a_mapping"] = self.engine.skipped.get("not_a_mapping", 0) + 1
            events = []
        decisions = self.engine.feed(events[:MAX_BATCH], now)
        return json.dumps([self._widget(d) for d in decisions])

    def next_due(self) -> float | None:
        """When the page should next send time with no event (its clock's seconds), or None."""
        return self.engine.next_due()

    def merge(self, stored_b64: str) -> bool:
        """Merge a stored record into this engine's state; False (and a note) when it is unreadable."""
        try:
            other = VisitorState.from_bytes(base64.b64decode(stored_b64, validate=True))
        except (StateError, ValueError) as exc:
            self.notes.append(f"stored visitor record unreadable, not merged: {exc}")
            return False
        self.engine.merge(other)
        return True

    @property
    def converted(self) -> bool:
        return self.engine.state.converted

    @property
    def bot(self) -> bool:
        """Whether the visit looks automated: by what the browser says of itself (at start-up),
        or by how the visit has behaved so far."""
        if self.engine.state.session is not None:
            return self.engine.is_bot()
        return bot_score(self._client, interactions=1) >= self.playbook.bot_threshold

    def history_json(self, now: float) -> str:
        """This visit's decisions before this page, on every page and in every tab, as
        ``tactful.explain()`` lists them: each with a readable time (``at``), its page (``url``),
        the conditions that held (``because``), a sentence (``why``) and ``earlier: true``.
        None once the visit is over at ``now`` (the page's time as it starts)."""
        session = self.engine.state.session
        if session is None or now - session.last_t > SESSION_TIMEOUT:
            return "[]"
        return json.dumps([{**story(entry), "earlier": True} for entry in session.decided])

    def _widget(self, decision: Decision) -> dict[str, Any]:
        """The card for one decision (its fields: ``CARD_FIELDS`` in the bridge contract)."""
        out = decision.to_dict()
        session = self.engine.state.session
        for entry in reversed(session.decided if session else []):
            if entry["trigger"] == decision.trigger and entry["t"] == decision.t:
                out.update({k: v for k, v in story(entry).items() if k in ("at", "url", "because", "why")})
                break
        if decision.intervene:
            self._last[decision.trigger] = decision
            trig = self.playbook.trigger(decision.trigger)
            if trig is not None:
                variant = trig.variant(decision.variant)
                offer = trig.offer_of(variant)
                out["title"] = variant.title if variant else trig.title
                out.update(self._questions(trig))
                if offer is not None:
                    out["offer_detail"] = {name: getattr(offer, name) for name, _ in OFFER_DETAIL_FIELDS}
            out["support_link"] = self.playbook.support_link
            out.update(self._facts(decision.kind))
        return out

    def _facts(self, kind: str) -> dict[str, Any]:
        """What the card can say concretely, from this browser's own state (it never leaves it):
        the cart (the saving of a discount, the items waiting) and the plans the visitor weighed."""
        state = self.engine.state
        if kind in ("discount", "welcome_back") and state.cart_items:
            return {"cart": {"items": state.cart_items, "value": state.cart_value, "currency": state.cart_currency}}
        page = self.engine.page
        if kind == "compare" and page is not None:
            tiers = sorted((t for t in page.hovers if t.startswith("tier:")), key=lambda t: -page.hovers[t])
            return {"weighed": tiers[:2]} if len(tiers) >= 2 else {}
        return {}

    def _questions(self, trig: Trigger) -> dict[str, Any]:
        """The suggested questions this page can answer, and the answers it states itself: a
        question tied to a page fact is offered only where the page states that fact."""
        facts = self.engine.page_facts
        questions, answers = [], {}
        for question in trig.questions:
            fact = trig.question_facts.get(question)
            if fact is not None and fact not in facts:
                continue
            questions.append(question)
            if fact is not None:
                answers[question] = facts[fact]
        return {"questions": questions, "answers": answers} if answers else {"questions": questions}

    def why_not_json(self, now: float) -> str:
        """ "Why didn't it show?" for every trigger at ``now`` (never before the engine's clock), as JSON."""
        clock = self.engine.state.clock
        return json.dumps(why_not(self.engine, now if clock is None else max(now, clock)))

    def notes_json(self) -> str:
        return json.dumps(self.notes)

    def message_request_b64(self, trigger_id: str, locale: str | None = None, token: str | None = None) -> str:
        return _b64(self.message_request(trigger_id, locale, token or None))

    def token_request_b64(self) -> str:
        """The body of POST /v1/token: a token bound to this visitor id, which outcome beacons need."""
        return _b64(encode(TokenRequest(visitor=self.engine.state.id[:64])))

    def read_token_reply(self, body_b64: str) -> str:
        """Decode a /v1/token reply; the triggers the proxy paused fire no more on this page."""
        reply = decode(TokenReply, _unb64(body_b64))
        self.engine.paused = frozenset(reply.paused.split(",")) if reply.paused else frozenset()
        return json.dumps({"token": reply.token, "expires": reply.expires})

    def read_message_reply(self, body_b64: str) -> str:
        """Decode a /v1/message reply; raises WireError when it is malformed."""
        reply = decode(MessageReply, _unb64(body_b64))
        return json.dumps({"text": reply.text, "source": reply.source})

    def reply_request_b64(
        self, trigger_id: str, text: str, history_json: str, locale: str | None = None, token: str | None = None
    ) -> str:
        """The body of POST /v1/reply: the visitor's question, bounded, with the recent turns."""
        page = self.engine.page
        try:
            history = json.loads(history_json)
        except ValueError:
            history = []
        turns = tuple(
            (turn[0], str(turn[1])[:1000])
            for turn in history[-8:]
            if isinstance(turn, list) and len(turn) == 2 and turn[0] in ("visitor", "agent")
        ) if isinstance(history, list) else ()  # fmt: skip
        share = self.playbook.privacy == "context"  # what the page states travels only at this level
        request = ReplyRequest(
            trigger=trigger_id,
            text=text.strip()[:500] or "?",
            page_kind=page.kind if page else "other",
            turn=len(turns) // 2,  # of the last 8 turns: at most 4
            history=turns or None,
            locale=_locale(locale),
            product=(page.product[:120] or None) if page and share else None,
            token=token or None,
            facts=(tuple(self.engine.page_facts.items())[:MAX_FACTS] or None) if share else None,
        )
        return _b64(encode(request))

    def read_reply_reply(self, body_b64: str) -> str:
        reply = decode(ReplyReply, _unb64(body_b64))
        return json.dumps({"text": reply.text, "source": reply.source, "route": reply.route, "link": reply.link})

    def lead_request_b64(self, trigger_id: str, email: str, locale: str | None = None, token: str | None = None,
                         consent: bool = False) -> str:  # fmt: skip
        """The body of POST /v1/lead; raises WireError for an address that is not one. ``consent``: the
        visitor ticked the box (the proxy refuses a lead without it)."""
        page = self.engine.page
        beacon = self.engine.outcome()
        request = LeadRequest(
            email=email.strip(),
            consent=consent is True,
            trigger=trigger_id,
            page_kind=page.kind if page else "other",
            session=beacon.session if beacon else None,
            locale=_locale(locale),
            token=token or None,
        )
        return _b64(encode(request))

    def state_b64(self) -> str:
        return _b64(self.state())

    def outcome_b64(self, token: str = "") -> str | None:
        """The visit's outcome beacon (base64 msgpack), carrying ``token`` (a visitor token the proxy
        issued for this visitor id; without one the proxy refuses the beacon)."""
        body = self.outcome(token or None)
        return _b64(body) if body is not None else None

    def message_request(self, trigger_id: str, locale: str | None = None, token: str | None = None) -> bytes:
        """The msgpack body of POST /v1/message for the latest shown decision of ``trigger_id``."""
        decision = self._last.get(trigger_id)
        if decision is None:
            raise KeyError(f"no intervention for {trigger_id!r} to write words for")
        page = self.engine.page
        request = message_request(
            decision,
            self.playbook.privacy,
            locale=_locale(locale),
            product=page.product if page else None,
            category=page.category if page else None,
            token=token,
        )
        return encode(request)

    def outcome(self, token: str | None = None) -> bytes | None:
        """The msgpack body of POST /v1/outcome for this visit, or None before any event."""
        beacon = self.engine.outcome()
        return encode(replace(beacon, token=token)) if beacon is not None else None

    def state(self) -> bytes:
        return self.engine.state.to_bytes()


def _client_facts(client_json: str) -> dict[str, Any]:
    """The loader's `client` event, validated like any event (nothing if it is not one)."""
    try:
        raw = json.loads(client_json)
    except ValueError:  # "" included: no facts
        return {}
    event = clean_event({**raw, "t": 0, "type": "client"}) if isinstance(raw, dict) else None
    return event.data if isinstance(event, Event) else {}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise WireError("the body is not base64") from exc


def _locale(locale: str | None) -> str | None:
    """A locale fit for the wire (``en-GB``), else None."""
    if not locale:
        return None
    locale = locale.replace("_", "-")
    return locale if _LOCALE.match(locale) else None  # (at most 30 characters)
