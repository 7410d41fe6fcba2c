"""The event vocabulary and its validation.

An event is one mapping with a time ``t`` (seconds, any epoch, finite, >= 0), a
``type`` and the fields of that type. This is what the browser sensors emit and
what site owners push through the JS API; the README documents it.

``clean_event`` turns a raw mapping into a normalised ``Event`` or tells why it
cannot: the engine skips such events and counts them by reason, it never raises
on event content.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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
MAX_LIST = 32

# Skip reasons, as counted in Engine.skipped.
SKIP_NOT_A_MAPPING = "not_a_mapping"
SKIP_BAD_TIME = "bad_time"
SKIP_OUT_OF_ORDER = "out_of_order"
SKIP_UNKNOWN_TYPE = "unknown_type"
SKIP_BAD_FIELD = "bad_field"


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event: its time, its type and its cleaned fields."""

    t: float
    type: str
    data: dict[str, Any]


class _Invalid(Exception):
    """Internal: the field named in args[0] is malformed."""


def _number(value: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _Invalid("not finite")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise _Invalid("out of range")
    return number


def _integer(value: Any, lo: int = 0, hi: int = 1_000_000) -> int:
    if isinstance(value, bool):
        raise _Invalid("not an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise _Invalid("not an integer in range")
    return value


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _Invalid("not a short non-empty string")
    return value


def _maybe_empty_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _Invalid("not a short string")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("not a boolean")
    return value


def _text_list(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
        raise _Invalid("not a short list")
    return [_text(item, 64) for item in value]


def _page_kind(value: Any) -> str:
    if not isinstance(value, str) or value not in PAGE_KINDS:
        raise _Invalid("unknown page kind")
    return value


def _visibility(value: Any) -> str:
    if not isinstance(value, str) or value not in ("visible", "hidden"):
        raise _Invalid("must be 'visible' or 'hidden'")
    return value


# type -> {field: (required, parser)}. Unknown fields are dropped, never kept:
# only what is listed here can influence a decision.
SCHEMA: dict[str, dict[str, tuple[bool, Any]]] = {
    "page_view": {
        "url": (True, lambda v: _text(v, MAX_URL)),
        "kind": (False, _page_kind),
        "product": (False, _text),
        "category": (False, _text),
    },
    "scroll": {"depth": (True, lambda v: _number(v, 0.0, 1.0))},
    "hover": {"target": (True, lambda v: _text(v, 128))},
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
    },
    "track": {"name": (True, lambda v: _text(v, 64))},
    # Extension: a heartbeat that only carries time, so logs can say "time passed".
    "tick": {},
}

EVENT_TYPES = tuple(SCHEMA)


def clean_event(raw: Any, last_t: float | None) -> Event | str:
    """Validate one raw event. Returns an ``Event`` or a skip reason string.

    ``last_t`` is the time of the previous accepted event: time never goes back.
    """
    if not isinstance(raw, dict):
        return SKIP_NOT_A_MAPPING
    try:
        t = _number(raw.get("t"), 0.0)
    except _Invalid:
        return SKIP_BAD_TIME
    if last_t is not None and t < last_t:
        return SKIP_OUT_OF_ORDER
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in SCHEMA:
        return SKIP_UNKNOWN_TYPE
    fields = SCHEMA[kind]
    data: dict[str, Any] = {}
    for name, (required, parse) in fields.items():
        if name not in raw or raw[name] is None:
            if required:
                return SKIP_BAD_FIELD
            continue
        try:
            data[name] = parse(raw[name])
        except _Invalid:
            return SKIP_BAD_FIELD
    return Event(t, kind, data)
