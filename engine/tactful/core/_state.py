"""Visitor and session state.

The browser persists one ``VisitorState`` per visitor (localStorage, never sent
anywhere). It is versioned, msgpack-serialisable and tolerant: unknown fields
are kept and written back, missing or wrongly typed fields fall back to their
defaults, so a record written by an older or newer build still loads.

A session ends after ``SESSION_TIMEOUT`` seconds without engagement; the next
event starts a new visit. The current session and page live inside the record
too, because every page load in the browser starts a fresh worker.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import msgpack

from ._errors import StateError

STATE_VERSION = 1
SESSION_TIMEOUT = 1800.0  # seconds of inactivity that end a visit
MAX_RECORD = 256 * 1024  # bytes; a real record is a few hundred
MAX_HISTORY = 50  # timestamps kept per list; older ones no longer affect any gate


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


def _float_list(raw: Any) -> list[float]:
    if not isinstance(raw, list):
        return []
    return [float(v) for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool)][
        -MAX_HISTORY:
    ]


def _count_map(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        return {}
    return {
        k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
    }


@dataclass(slots=True)
class PageState(_Record):
    """What happened on the page currently shown."""

    url: str = ""
    kind: str = "other"
    product: str = ""
    category: str = ""
    start: float = 0.0
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
    """One visit: starts with the first event, ends after SESSION_TIMEOUT of silence."""

    start: float = 0.0
    last_t: float = 0.0
    page_views: int = 0
    interventions: int = 0
    interactions: int = 0  # human input events (pointer, keys, touch) seen this visit
    # The visit's outcome, as the lift report needs it (see Engine.outcome):
    eligible_trigger: str = ""  # first trigger shown, or held back only by the holdout
    eligible_phase: int = 0
    intervened: bool = False
    converted: bool = False
    value: float = 0.0
    dismissed: bool = False
    accepted: bool = False
    tracks: dict[str, int] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    page: PageState | None = None

    _NESTED = ("page",)

    @classmethod
    def from_dict(cls, raw: Any) -> SessionState | None:
        if not isinstance(raw, dict):
            return None
        session = cls(**cls._flat_from(raw))
        session.tracks = _count_map(raw.get("tracks"))
        client = raw.get("client")
        session.client = dict(client) if isinstance(client, dict) else {}
        session.page = PageState.from_dict(raw["page"]) if isinstance(raw.get("page"), dict) else None
        return session


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
    visits: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    clock: float | None = None  # last instant the engine evaluated
    cart_items: int = 0
    cart_value: float = 0.0
    cart_currency: str = ""
    conversions: int = 0
    value_total: float = 0.0
    accepts: int = 0
    leads: int = 0
    dismissals: list[float] = field(default_factory=list)
    interventions: list[list[Any]] = field(default_factory=list)  # [t, trigger_id]
    session: SessionState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _NESTED = ("session",)

    @classmethod
    def from_dict(cls, raw: Any) -> VisitorState:
        """Load a record, keeping unknown fields and defaulting bad ones."""
        if not isinstance(raw, dict):
            raise StateError("a visitor record must be a mapping")
        state = cls(**cls._flat_from(raw))
        state.dismissals = _float_list(raw.get("dismissals"))
        items = raw.get("interventions")
        state.interventions = [
            [float(i[0]), i[1]]
            for i in (items if isinstance(items, list) else [])
            if isinstance(i, (list, tuple))
            and len(i) == 2
            and isinstance(i[0], (int, float))
            and not isinstance(i[0], bool)
            and isinstance(i[1], str)
        ][-MAX_HISTORY:]
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
        return self.conversions > 0
