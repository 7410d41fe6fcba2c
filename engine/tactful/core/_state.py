"""Visitor and session state.

The browser persists one ``VisitorState`` per visitor (localStorage, never sent
anywhere). It is versioned, msgpack-serialisable and tolerant: unknown fields
are kept and written back, missing or wrongly typed fields fall back to their
defaults, so a record written by an older or newer build still loads.

**Facts merge, never overwrite.** A visitor's tabs share one record. What the
visitor did — conversions, dismissals, acceptances, leads, interventions, the
visits started — is kept as timestamped facts, and ``merge`` joins another tab's
record into this one by union: a purchase in one tab can never be erased by
another tab's save. The cart is the latest cart fact. What belongs to one tab —
its page and its clock — is never taken from another tab's record.

A session ends after ``SESSION_TIMEOUT`` seconds without engagement; the next
event starts a new visit. The current session and page live inside the record
too, because every page load in the browser starts a fresh worker.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import msgpack

from ._errors import StateError

STATE_VERSION = 2
SESSION_TIMEOUT = 1800.0  # seconds of inactivity that end a visit
MAX_RECORD = 256 * 1024  # bytes; a real record is a few hundred
MAX_HISTORY = 50  # facts kept per list; older ones no longer affect any gate
MAX_PAGES_SEEN = 32  # page instances whose sequence numbers are remembered (replay dedupe)
MAX_INPUTS = 16  # recent input instants kept for the bot's cadence checks
MAX_DECIDED = 32  # decisions of a visit kept for tactful.explain() across its pages

Fact = list[Any]  # [t, detail]: detail is a trigger id, or a conversion's value


def _coerce(value: Any, default: Any) -> Any:
    """Return ``value`` if it has the default's type (numbers interchangeable), else the default."""
    if default is None:
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        return None
    if isinstance(default, bool):
        return value if isinstance(value, bool) else default
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return default
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else default
    if isinstance(default, str):
        return value if isinstance(value, str) else default
    return default


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Record:
    """Tolerant dict round-trip for the flat fields of a state dataclass."""

    _NESTED: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(getattr(self, "extra", {}))
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if hasattr(value, "to_dict"):
                value = value.to_dict()
            elif isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, list):
                value = [list(v) if isinstance(v, (list, tuple)) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def _flat_from(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the scalar fields; containers are the subclass's job."""
        kwargs: dict[str, Any] = {}
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        for f in fields(cls):  # type: ignore[arg-type]
            if f.default is MISSING or f.name in cls._NESTED or f.name not in raw:
                continue
            kwargs[f.name] = _coerce(raw[f.name], f.default)
        if "extra" in known:
            kwargs["extra"] = {k: v for k, v in raw.items() if k not in known}
        return kwargs


def _float_list(raw: Any, limit: int = MAX_HISTORY) -> list[float]:
    if not isinstance(raw, list):
        return []
    return sorted(float(v) for v in raw if _is_number(v))[-limit:]


def _count_map(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)}


def _facts(raw: Any, detail: type) -> list[Fact]:
    """A list of [t, detail] facts, oldest first; malformed entries are dropped."""
    if not isinstance(raw, list):
        return []
    out: list[Fact] = []
    for item in raw:
        if _is_number(item) and detail is str:
            out.append([float(item), ""])  # a bare instant (the first records' shape)
        elif isinstance(item, (list, tuple)) and len(item) == 2 and _is_number(item[0]):
            value = item[1]
            if detail is float and _is_number(value):
                out.append([float(item[0]), float(value)])
            elif detail is str and isinstance(value, str):
                out.append([float(item[0]), value])
    return sorted(out, key=_fact_key)[-MAX_HISTORY:]


def _fact_key(fact: Fact) -> tuple[float, str]:
    # Facts are the same fact when they happened at the same millisecond with the same detail.
    return round(fact[0], 3), str(fact[1])


def union(mine: list[Fact], theirs: list[Fact]) -> list[Fact]:
    """Both lists' facts, each once, oldest first, the newest MAX_HISTORY kept."""
    merged = {_fact_key(f): f for f in theirs}
    merged.update((_fact_key(f), f) for f in mine)
    return sorted(merged.values(), key=_fact_key)[-MAX_HISTORY:]


@dataclass(slots=True)
class PageState(_Record):
    """What happened on the page currently shown in this tab."""

    instance: str = ""  # the page load's random id ("" when the log does not say)
    url: str = ""
    kind: str = "other"
    product: str = ""
    category: str = ""
    start: float = 0.0
    shift: float = 0.0  # added to this page's event times: a wall clock that stepped back (see Engine)
    interacted: bool = False  # pointer, key, touch, focus or scroll on this page: nothing fires before
    last_interaction: float = 0.0
    active_time: float = 0.0
    scroll_depth: float = 0.0
    exit_intents: int = 0
    exit_dwell: float = 0.0  # page dwell at the latest exit intent
    cart_added: int = 0
    hidden_since: float | None = None
    hovers: dict[str, int] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)  # triggers already decided on this view

    @classmethod
    def from_dict(cls, raw: Any) -> PageState:
        if not isinstance(raw, dict):
            return cls()
        page = cls(**cls._flat_from(raw))
        page.hovers = _count_map(raw.get("hovers"))
        resolved = raw.get("resolved")
        page.resolved = [r for r in resolved if isinstance(r, str)] if isinstance(resolved, list) else []
        return page


@dataclass(slots=True)
class SessionState(_Record):
    """One visit: starts with the first event, ends after SESSION_TIMEOUT of silence.

    Its outcome (converted, dismissed, the first eligible trigger…) is derived from
    the visitor's facts since ``start`` (see ``Engine.outcome``), so it merges too.
    """

    start: float = 0.0
    last_t: float = 0.0
    page_views: int = 0
    interactions: int = 0  # human input events (pointer, keys, touch, focus) seen this visit
    machine: bool = False  # an input train at machine speed or regularity, or scripted scrolling, was seen
    scripted: int = 0  # scrolls with no human input before them (a script scrolled the page)
    inputs: list[float] = field(default_factory=list)  # recent scroll/hover instants, for the cadence checks
    tracks: dict[str, int] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    # This visit's decisions, on every page and in every tab, for tactful.explain():
    # {t, trigger, action, reasons, url, because}, oldest first.
    decided: list[dict[str, Any]] = field(default_factory=list)
    page: PageState | None = None

    _NESTED = ("page",)

    @classmethod
    def from_dict(cls, raw: Any) -> SessionState | None:
        if not isinstance(raw, dict):
            return None
        session = cls(**cls._flat_from(raw))
        session.tracks = _count_map(raw.get("tracks"))
        session.inputs = _float_list(raw.get("inputs"), MAX_INPUTS)
        client = raw.get("client")
        session.client = dict(client) if isinstance(client, dict) else {}
        session.page = PageState.from_dict(raw["page"]) if isinstance(raw.get("page"), dict) else None
        session.decided = _decided(raw.get("decided"))
        return session

    def absorb(self, other: SessionState) -> None:
        """Join another tab's view of this same visit (same ``start``)."""
        self.last_t = max(self.last_t, other.last_t)
        self.page_views = max(self.page_views, other.page_views)
        self.interactions = max(self.interactions, other.interactions)
        self.machine = self.machine or other.machine
        self.scripted = max(self.scripted, other.scripted)
        for name, count in other.tracks.items():
            self.tracks[name] = max(self.tracks.get(name, 0), count)
        self.client = {**other.client, **self.client}
        self.decided = _decided(self.decided + other.decided)

    def note_decision(self, entry: dict[str, Any]) -> None:
        self.decided = _decided([*self.decided, entry])


_DECIDED_FIELDS = (("t", (int, float)), ("trigger", str), ("action", str), ("reasons", list), ("url", str),
                   ("because", list))  # fmt: skip


def _decided(raw: Any) -> list[dict[str, Any]]:
    """A visit's decision log: well-formed entries, each once (by instant, trigger and page), the newest kept."""
    if not isinstance(raw, list):
        return []
    entries: dict[tuple[float, str, str], dict[str, Any]] = {}
    for item in raw:
        if isinstance(item, dict) and all(isinstance(item.get(k), kind) for k, kind in _DECIDED_FIELDS):
            entry = {k: item[k] for k, _ in _DECIDED_FIELDS}
            entries.setdefault((round(float(entry["t"]), 3), entry["trigger"], entry["url"]), entry)
    return sorted(entries.values(), key=lambda e: (e["t"], e["trigger"]))[-MAX_DECIDED:]


@dataclass(slots=True)
class VisitorState(_Record):
    """Everything the engine remembers about one (pseudonymous) visitor.

    >>> state = VisitorState(id="v-1")
    >>> VisitorState.from_bytes(state.to_bytes()).id
    'v-1'
    """

    id: str = ""
    v: int = STATE_VERSION
    arm: str = ""  # "treatment" | "holdout" once assigned; sticky
    first_seen: float | None = None
    last_seen: float | None = None
    clock: float | None = None  # last instant this tab's engine evaluated (never merged)
    cart_items: int = 0
    cart_value: float = 0.0
    cart_currency: str = ""
    cart_t: float = -1.0  # when the cart last changed: the latest cart wins a merge
    visits_before: int = 0  # visits older than the ones in `sessions`
    sessions: list[float] = field(default_factory=list)  # start of each visit
    conversions: list[Fact] = field(default_factory=list)  # [t, value]
    dismissals: list[Fact] = field(default_factory=list)  # [t, trigger]
    accepts: list[Fact] = field(default_factory=list)  # [t, trigger]
    leads: list[Fact] = field(default_factory=list)  # [t, trigger]
    interventions: list[Fact] = field(default_factory=list)  # [t, trigger], shown or held out
    seen: list[list[Any]] = field(default_factory=list)  # [page instance, last sequence number applied]
    session: SessionState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _NESTED = ("session",)

    @classmethod
    def from_dict(cls, raw: Any) -> VisitorState:
        """Load a record, keeping unknown fields and defaulting bad ones (version 1 records too)."""
        if not isinstance(raw, dict):
            raise StateError("a visitor record must be a mapping")
        state = cls(**cls._flat_from(raw))
        if raw.get("v", 1) == 1:  # the first records had no version field
            _upgrade_v1(state, raw)
        else:
            state.sessions = _float_list(raw.get("sessions"))
            state.conversions = _facts(raw.get("conversions"), float)
            state.accepts = _facts(raw.get("accepts"), str)
            state.leads = _facts(raw.get("leads"), str)
            state.dismissals = _facts(raw.get("dismissals"), str)
        state.v = STATE_VERSION
        state.interventions = _facts(raw.get("interventions"), str)
        seen = raw.get("seen")
        state.seen = [
            [s[0], s[1]] for s in (seen if isinstance(seen, list) else [])
            if isinstance(s, (list, tuple)) and len(s) == 2 and isinstance(s[0], str) and isinstance(s[1], int)
        ][-MAX_PAGES_SEEN:]  # fmt: skip
        state.session = SessionState.from_dict(raw.get("session"))
        return state

    def to_bytes(self) -> bytes:
        """Serialise with msgpack (what the browser stores)."""
        packed: bytes = msgpack.packb(self.to_dict(), use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, blob: bytes) -> VisitorState:
        if len(blob) > MAX_RECORD:
            raise StateError(f"visitor record is larger than {MAX_RECORD} bytes")
        try:
            raw = msgpack.unpackb(blob, raw=False, strict_map_key=False)
        except Exception as exc:  # msgpack raises several unrelated types
            raise StateError(f"visitor record is not msgpack: {exc}") from exc
        return cls.from_dict(raw)

    @property
    def converted(self) -> bool:
        return bool(self.conversions)

    @property
    def visits(self) -> int:
        return self.visits_before + len(self.sessions)

    @property
    def value_total(self) -> float:
        return float(sum(float(value) for _, value in self.conversions))

    def add_session(self, start: float) -> None:
        self.sessions = sorted({*self.sessions, start})
        while len(self.sessions) > MAX_HISTORY:
            self.sessions.pop(0)
            self.visits_before += 1

    def last_seq(self, instance: str) -> int | None:
        for page, seq in self.seen:
            if page == instance:
                return int(seq)
        return None

    def mark_seen(self, instance: str, seq: int) -> None:
        self.seen = [s for s in self.seen if s[0] != instance] + [[instance, seq]]
        del self.seen[:-MAX_PAGES_SEEN]

    def merge(self, other: VisitorState) -> None:
        """Join another tab's record into this one: facts by union, the cart by recency.

        This tab's page and clock stay its own. When the other tab started a later
        visit, that visit becomes this tab's too (it is the same visitor's visit).
        """
        if other.id != self.id:
            return
        self.arm = self.arm or other.arm
        self.first_seen = _min(self.first_seen, other.first_seen)
        self.last_seen = _max(self.last_seen, other.last_seen)
        if other.cart_t > self.cart_t:
            self.cart_items, self.cart_value = other.cart_items, other.cart_value
            self.cart_currency, self.cart_t = other.cart_currency, other.cart_t
        self.visits_before = max(self.visits_before, other.visits_before)
        for start in other.sessions:
            self.add_session(start)
        for name in ("conversions", "dismissals", "accepts", "leads", "interventions"):
            setattr(self, name, union(getattr(self, name), getattr(other, name)))
        for instance, seq in other.seen:
            mine = self.last_seq(instance)
            if mine is None or seq > mine:
                self.mark_seen(instance, seq)
        self._merge_session(other.session)

    def _merge_session(self, theirs: SessionState | None) -> None:
        mine = self.session
        if theirs is None:
            return
        if mine is None or theirs.start > mine.start:
            page = mine.page if mine is not None else None
            self.session = SessionState.from_dict(theirs.to_dict())  # a copy: records stay independent
            if self.session is not None:
                self.session.page = page  # the page is this tab's own
        elif theirs.start == mine.start:
            mine.absorb(theirs)


def _upgrade_v1(state: VisitorState, raw: dict[str, Any]) -> None:
    """Version 1 kept counts where version 2 keeps facts: keep what can be kept."""
    first = raw.get("first_seen")
    when = float(first) if isinstance(first, (int, float)) else 0.0
    visits = raw.get("visits")
    state.visits_before = visits if isinstance(visits, int) and not isinstance(visits, bool) and visits > 0 else 0
    conversions = raw.get("conversions")
    if isinstance(conversions, int) and not isinstance(conversions, bool) and conversions > 0:
        total = raw.get("value_total")
        state.conversions = [[when, float(total) if isinstance(total, (int, float)) else 0.0]]
    state.dismissals = _facts(raw.get("dismissals"), str)
    cart_t = raw.get("last_seen")
    state.cart_t = float(cart_t) if isinstance(cart_t, (int, float)) else -1.0


def _min(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return max(a, b)
