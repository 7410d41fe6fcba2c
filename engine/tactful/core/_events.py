"""The event vocabulary and its validation.

An event is one mapping with a time ``t`` (seconds, any epoch, finite, >= 0), a
``type`` and the fields of that type. This is what the browser sensors emit and
what site owners push through the JS API; the README documents it.

Every event may also say where it came from: ``p``, the page instance (a random id per
page load, so the engine knows which page an event belongs to, and a tab's events from
another tab's), and ``n``, its sequence number on that page (so an event replayed after a
navigation is recognised and applied once).

``clean_event`` turns a raw mapping into a normalised ``Event`` or tells why it
cannot: the engine skips such events and counts them by reason, it never raises
on event content. Intake is tolerant: a bad *optional* field is dropped (and
reported in ``Event.dropped``), not the whole event, and a ``page_view`` is never
refused for its fields, because a new page must always end the previous one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._pagefacts import FACT_ID, MAX_BLOCKS, MAX_FACT, MAX_FACTS, facts_from_jsonld

PAGE_KINDS = (
    "home",
    "category",
    "product",
    "pricing",
    "cart",
    "checkout",
    "article",
    "support",
    "account",
    "other",
)

MAX_TEXT = 512  # longest accepted string field (urls get MAX_URL)
MAX_URL = 2048
MAX_NAME = 120  # product and category names: the wire's limit
MAX_LIST = 32
MAX_INSTANCE = 64

# Skip reasons, as counted in Engine.skipped.
SKIP_NOT_A_MAPPING = "not_a_mapping"
SKIP_BAD_TIME = "bad_time"
SKIP_UNKNOWN_TYPE = "unknown_type"
SKIP_BAD_FIELD = "bad_field"
SKIP_DUPLICATE = "duplicate"  # already applied (same page instance and sequence number)


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event: its time, its type, its cleaned fields and where it came from."""

    t: float
    type: str
    data: dict[str, Any]
    page: str = ""  # the page instance that sent it ("" when unknown, as in hand-written logs)
    seq: int | None = None
    dropped: tuple[str, ...] = field(default=())  # optional fields dropped as malformed


class _Invalid(Exception):
    """Internal: a field is malformed. It carries no text: the engine counts a skipped event by
    reason and a dropped field by name, so what each check means is said beside it."""


def _number(value: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid  # not a number
    number = float(value)
    if not math.isfinite(number):
        raise _Invalid  # not finite
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise _Invalid  # out of range
    return number


def _integer(value: Any, lo: int = 0, hi: int = 1_000_000) -> int:
    if isinstance(value, bool):
        raise _Invalid  # not an integer
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise _Invalid  # not an integer in range
    return value


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _Invalid  # not a short non-empty string
    return value


def _clipped(limit: int) -> Callable[[Any], str]:
    """A non-empty string, cut to ``limit`` characters (names and URLs: too long is still useful)."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise _Invalid  # not a non-empty string
        return value[:limit]

    return parse


def _maybe_empty_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _Invalid  # not a short string
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid  # not a boolean
    return value


def _text_list(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
        raise _Invalid  # not a short list
    return [_text(item, 64) for item in value]


def _fact_map(value: Any) -> dict[str, str]:
    """The page's product facts: ``{id: text}``, ids lower_snake_case; the first MAX_FACTS with
    a text are kept, each cut to MAX_FACT characters with its spacing tidied."""
    if not isinstance(value, dict):
        raise _Invalid  # not a mapping of facts
    out: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not FACT_ID.match(key) or not isinstance(text, str):
            raise _Invalid  # each fact is a lower_snake_case id and a text
        text = " ".join(text.split())[:MAX_FACT]
        if text and len(out) < MAX_FACTS:
            out[key] = text
    return out


def _jsonld(value: Any) -> dict[str, str]:
    """The page's JSON-LD blocks (texts), read into product facts at intake (the first few)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value[:MAX_BLOCKS]):
        raise _Invalid  # not a list of texts
    return facts_from_jsonld(list(value[:MAX_BLOCKS]))


def _page_kind(value: Any) -> str:
    if not isinstance(value, str) or value not in PAGE_KINDS:
        raise _Invalid  # unknown page kind
    return value


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _Invalid  # not one of the choices
    return value


def _visibility(value: Any) -> str:
    if not isinstance(value, str) or value not in ("visible", "hidden"):
        raise _Invalid  # must be 'visible' or 'hidden'
    return value


Parser = Callable[[Any], Any]

# type -> {field: (required, parser)}. Unknown fields are dropped, never kept:
# only what is listed here can influence a decision.
SCHEMA: dict[str, dict[str, tuple[bool, Parser]]] = {
    # `url` is required, yet a page_view is never refused for it: see clean_event.
    "page_view": {
        "url": (True, _clipped(MAX_URL)),
        "kind": (False, _page_kind),
        "product": (False, _clipped(MAX_NAME)),
        "category": (False, _clipped(MAX_NAME)),
        "facts": (False, _fact_map),  # the product's facts as the page states them (data-tactful-fact)
        "jsonld": (False, _jsonld),  # the page's schema.org JSON-LD, read into product facts
    },
    # `human`: the loader saw wheel, touch, key or pointer input just before (false: a script scrolled).
    "scroll": {"depth": (True, lambda v: _number(v, 0.0, 1.0)), "human": (False, _flag)},
    "hover": {"target": (True, _clipped(128))},
    "activity": {},
    "exit_intent": {"source": (False, lambda v: _text(v, 32))},
    "visibility": {"state": (True, _visibility)},
    "cart": {
        "items": (True, _integer),
        "value": (False, lambda v: _number(v, 0.0)),
        "currency": (False, lambda v: _text(v, 8)),
    },
    "convert": {"value": (False, lambda v: _number(v, 0.0))},
    "dismiss": {"trigger": (True, lambda v: _text(v, 64))},
    "accept": {"trigger": (True, lambda v: _text(v, 64))},
    "lead": {"trigger": (False, lambda v: _text(v, 64))},
    "client": {
        "user_agent": (False, _maybe_empty_text),
        "webdriver": (False, _flag),
        "languages": (False, _text_list),
        "plugins": (False, lambda v: _integer(v, 0, 1000)),
        "touch": (False, _flag),
        "width": (False, lambda v: _integer(v, 0, 100_000)),
        "height": (False, lambda v: _integer(v, 0, 100_000)),
        "headless": (False, _flag),
        "gpc": (False, _flag),  # navigator.globalPrivacyControl
        "test": (False, _flag),  # a test build's loader: its beacons never count as traffic
        "storage": (False, lambda v: _choice(v, ("persistent", "session"))),  # the consent mode's storage
    },
    "track": {"name": (True, _clipped(64))},
    # Extension: a heartbeat that only carries time, so logs can say "time passed".
    "tick": {},
}

EVENT_TYPES = tuple(SCHEMA)


def _origin(raw: dict[str, Any]) -> tuple[str, int | None]:
    """The page instance and sequence number, when the sender gave usable ones."""
    page, seq = raw.get("p"), raw.get("n")
    page = page if isinstance(page, str) and 0 < len(page) <= MAX_INSTANCE else ""
    try:
        number = _integer(seq, 0, 2**53) if page else None
    except _Invalid:
        number = None
    return page, number


def clean_event(raw: Any) -> Event | str:
    """Validate one raw event. Returns an ``Event`` or a skip reason string.

    Time order is not checked here: an event older than the engine's clock is applied
    at the engine's clock (see ``Engine.feed``), never dropped.
    """
    if not isinstance(raw, dict):
        return SKIP_NOT_A_MAPPING
    try:
        t = _number(raw.get("t"), 0.0)
    except _Invalid:
        return SKIP_BAD_TIME
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in SCHEMA:
        return SKIP_UNKNOWN_TYPE
    data: dict[str, Any] = {}
    dropped = []
    for name, (required, parse) in SCHEMA[kind].items():
        present = name in raw and raw[name] is not None
        try:
            if present:
                data[name] = parse(raw[name])
                continue
        except _Invalid:
            if not required:
                dropped.append(name)
                continue
        if required and kind != "page_view":
            return SKIP_BAD_FIELD
        if required:
            data[name] = ""  # a page we cannot name is still a new page
            dropped.append(name)
    page, seq = _origin(raw)
    return Event(t, kind, data, page, seq, tuple(dropped))
