"""The wire: every message between the browser and the proxy, defined once.

Bodies are msgpack maps (``application/msgpack``) carrying ``v`` (the wire
version) and only the fields listed here. Raw events never travel: the browser
sends a trigger id, an offer id, the page kind, a locale and, only when the
playbook's privacy level is ``context``, the product and category names.

``encode(message)`` and ``decode(cls, body)`` are used by the engine's worker and
by the proxy alike. ``decode`` raises ``WireVersionError`` for an unknown version
and ``WireError`` (naming the field) for anything else malformed, unknown fields
included.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import msgpack

from ._decision import Decision
from ._errors import WireError, WireVersionError
from ._events import PAGE_KINDS
from ._pagefacts import FACT_ID, MAX_FACT, MAX_FACTS
from ._playbook import WIDGET_KINDS

WIRE_VERSION = 1
CONTENT_TYPE = "application/msgpack"
MAX_BODY = 16 * 1024  # bytes; the proxy refuses larger bodies before decoding

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,185}\.[A-Za-z]{2,24}$")
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,96}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")  # and lone surrogates


@dataclass(frozen=True, slots=True)
class Spec:
    """How one field is checked: ``kind`` is text, id, int, float, bool, enum, turns or facts.

    ``note`` says what the field holds, in plain words, and ``level`` the playbook privacy level
    that lets it travel at all: the data inventory (``tactful privacy``) is generated from them,
    and a request field without a note fails the tests.
    """

    kind: str
    required: bool = True
    limit: int = 200
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    lo: float = 0.0
    hi: float = 1e9
    note: str = ""
    level: str = "minimal"


def _check(name: str, spec: Spec, value: Any) -> Any:
    kind = spec.kind
    if kind in ("text", "id"):
        if not isinstance(value, str) or not value or len(value) > spec.limit:
            raise WireError(f"must be a non-empty string of at most {spec.limit} characters", name)
        if _CONTROL.search(value):
            raise WireError("holds control characters", name)
        pattern = spec.pattern or (_ID if kind == "id" else None)
        if pattern is not None and not pattern.match(value):
            raise WireError("has an invalid format", name)
        return value
    if kind == "enum":
        if value not in spec.choices:
            raise WireError(f"must be one of {', '.join(spec.choices)}", name)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise WireError("must be a boolean", name)
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not spec.lo <= value <= spec.hi:
            raise WireError(f"must be a whole number from {spec.lo:g} to {spec.hi:g}", name)
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WireError("must be a number", name)
        if not math.isfinite(value) or not spec.lo <= value <= spec.hi:
            raise WireError(f"must be a finite number from {spec.lo:g} to {spec.hi:g}", name)
        return float(value)
    if kind == "facts":  # the page's product facts: a short list of [id, text] pairs
        return _pairs(name, spec, value, "facts", lambda key: isinstance(key, str) and bool(FACT_ID.match(key)),
                      MAX_FACT, f"each fact is [id, text of 1 to {MAX_FACT} characters]")  # fmt: skip
    # "turns": the chat history, a short list of [role, text] pairs
    return _pairs(name, spec, value, "turns", lambda role: role in ("visitor", "agent"), 1000,
                  "each turn is [\"visitor\"|\"agent\", text of at most 1000 characters]", empty=True)  # fmt: skip


def _pairs(name: str, spec: Spec, value: Any, noun: str, first: Callable[[Any], bool], longest: int, shape: str,
           empty: bool = False) -> tuple[tuple[Any, str], ...]:  # fmt: skip
    """A short list of [key, text] pairs: ``first`` judges the key; texts are clean, at most ``longest``."""
    if not isinstance(value, (list, tuple)) or len(value) > spec.limit:
        raise WireError(f"must be a list of at most {spec.limit} {noun}", name)
    pairs = []
    for i, pair in enumerate(value):
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not first(pair[0])
            or not isinstance(pair[1], str)
            or not (empty or pair[1])
            or len(pair[1]) > longest
            or _CONTROL.search(pair[1])
        ):
            raise WireError(shape, f"{name}[{i}]")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


class WireMessage:
    """Base of every wire message: a frozen dataclass with a ``SPEC`` per field."""

    SPEC: ClassVar[dict[str, Spec]] = {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": WIRE_VERSION}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = [list(t) for t in value] if f.name == "history" else value
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise WireError("the body must be a msgpack map")
        version = raw.get("v")
        if version != WIRE_VERSION:
            raise WireVersionError(f"unsupported wire version {version!r}; this build speaks {WIRE_VERSION}", "v")
        for key in raw:
            if key != "v" and key not in cls.SPEC:
                raise WireError("unknown field (only allow-listed fields may travel)", str(key)[:40])
        kwargs = {}
        for name, spec in cls.SPEC.items():
            value = raw.get(name)
            if value is None:
                if spec.required:
                    raise WireError("is required", name)
                continue
            kwargs[name] = _check(name, spec, value)
        return cls(**kwargs)


def encode(message: WireMessage) -> bytes:
    """msgpack bytes for a message (validated on the way out, too)."""
    type(message).from_dict(message.to_dict())
    packed: bytes = msgpack.packb(message.to_dict(), use_bin_type=True)
    return packed


def decode(cls: type[Any], body: bytes) -> Any:
    """Decode and validate ``body`` as ``cls``; raises ``WireError`` on anything malformed."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise WireError("the body must be bytes")
    if len(body) > MAX_BODY:
        raise WireError(f"the body is larger than {MAX_BODY} bytes")
    try:
        raw = msgpack.unpackb(
            bytes(body),
            raw=False,
            strict_map_key=True,
            max_str_len=MAX_BODY,
            max_bin_len=0,
            max_array_len=64,
            max_map_len=32,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises ValueError, TypeError, ExtraData, StackError...
        raise WireError(f"the body is not valid msgpack ({type(exc).__name__})") from exc
    return cls.from_dict(raw)


_LOCALE_SPEC = Spec("text", required=False, limit=35, pattern=_LOCALE,
                    note="the page's language tag (e.g. en-GB), for the words' language")  # fmt: skip
_PAGE_SPEC = Spec("enum", choices=PAGE_KINDS, note="the kind of page (home, product, cart...), never its URL")
_TOKEN_SPEC = Spec("text", required=False, limit=512, pattern=re.compile(r"^[A-Za-z0-9_.\-]+$"),
                   note="the short-lived visitor token the proxy issued (random; older loaders send it here)")  # fmt: skip
_TRIGGER_SPEC = Spec("id", limit=64, note="the playbook trigger that fired (e.g. cart_exit)")
_SOURCE_SPEC = Spec("enum", choices=("model", "cache", "template"))


@dataclass(frozen=True, slots=True)
class MessageRequest(WireMessage):
    """POST /v1/message: words wanted for a decision."""

    trigger: str
    kind: str
    page_kind: str
    offer: str | None = None
    locale: str | None = None
    product: str | None = None
    category: str | None = None
    token: str | None = None
    variant: str | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "trigger": _TRIGGER_SPEC,
        "kind": Spec("enum", choices=WIDGET_KINDS, note="the card's kind (discount, compare, questions...)"),
        "page_kind": _PAGE_SPEC,
        "offer": Spec("id", required=False, limit=64, note="the playbook offer's id (e.g. cart10), not its code"),
        "locale": _LOCALE_SPEC,
        "product": Spec("text", required=False, limit=120, level="context",
                        note="the product's name on the page (data-tactful-product)"),
        "category": Spec("text", required=False, limit=120, level="context",
                         note="the category's name on the page (data-tactful-category)"),
        "token": _TOKEN_SPEC,
        "variant": Spec("id", required=False, limit=32, note="the card's variant, when the trigger has several"),
    }


@dataclass(frozen=True, slots=True)
class MessageReply(WireMessage):
    text: str
    source: str
    trigger: str

    SPEC: ClassVar[dict[str, Spec]] = {
        "text": Spec("text", limit=2000),
        "source": _SOURCE_SPEC,
        "trigger": Spec("id", limit=64),
    }


@dataclass(frozen=True, slots=True)
class ReplyRequest(WireMessage):
    """POST /v1/reply: the visitor typed in the chat panel.

    ``turn`` and ``history`` are the browser's account of the chat; the proxy keeps its own,
    bound to the visitor token, and reads neither (they stay on the wire for old loaders).
    """

    trigger: str
    text: str
    page_kind: str
    turn: int = 0
    history: tuple[tuple[str, str], ...] | None = None
    locale: str | None = None
    product: str | None = None
    token: str | None = None
    facts: tuple[tuple[str, str], ...] | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "trigger": _TRIGGER_SPEC,
        "text": Spec("text", limit=500, note="the question the visitor typed in the chat card"),
        "page_kind": _PAGE_SPEC,
        "turn": Spec("int", required=False, lo=0, hi=20, note="how many questions this chat had (not trusted)"),
        "history": Spec("turns", required=False, limit=8,
                        note="the chat's last turns as the browser shows them (not trusted: the proxy keeps its own)"),
        "locale": _LOCALE_SPEC,
        "product": Spec("text", required=False, limit=120, level="context", note="the product's name on the page"),
        "token": _TOKEN_SPEC,
        "facts": Spec("facts", required=False, limit=MAX_FACTS, level="context",
                      note="the product's facts as the page states them publicly (schema.org Product or data-tactful-fact)"),
    }


@dataclass(frozen=True, slots=True)
class ReplyReply(WireMessage):
    text: str
    source: str
    route: str  # "agent" | "support"
    link: str | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "text": Spec("text", limit=2000),
        "source": _SOURCE_SPEC,
        "route": Spec("enum", choices=("agent", "support")),
        "link": Spec("text", required=False, limit=500),
    }


@dataclass(frozen=True, slots=True)
class LeadRequest(WireMessage):
    """POST /v1/lead: an email captured by a lead trigger."""

    email: str
    trigger: str
    page_kind: str
    consent: bool = False  # the proxy stores a lead only with consent explicitly true
    session: str | None = None
    locale: str | None = None
    token: str | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "email": Spec("text", limit=254, pattern=_EMAIL, note="the e-mail address the visitor typed into a lead card"),
        "trigger": _TRIGGER_SPEC,
        "page_kind": _PAGE_SPEC,
        "consent": Spec("bool", required=False, note="the visitor ticked the box agreeing to be contacted"),
        "session": Spec("id", required=False, limit=96, note="the visit's id (the visitor id and when the visit began)"),
        "locale": _LOCALE_SPEC,
        "token": _TOKEN_SPEC,
    }


@dataclass(frozen=True, slots=True)
class LeadReply(WireMessage):
    id: str
    status: str  # "stored"

    SPEC: ClassVar[dict[str, Spec]] = {"id": Spec("id", limit=96), "status": Spec("enum", choices=("stored",))}


@dataclass(frozen=True, slots=True)
class OutcomeBeacon(WireMessage):
    """POST /v1/outcome: one per visit, idempotent by (visitor, session)."""

    visitor: str
    session: str
    arm: str
    eligible: bool
    intervened: bool
    converted: bool
    value: float = 0.0
    trigger: str | None = None
    phase: int | None = None
    dismissed: bool = False
    accepted: bool = False
    bot: bool = False
    storage: str | None = None  # "session": a session-only visit (no persistent id), counted apart
    variant: str | None = None  # the first trigger's variant
    eligible_at: float | None = None  # when the visit's first trigger fired (epoch seconds)
    converted_at: float | None = None  # when the visit's purchase was reported
    test: bool = False  # sent by a test build (tactful build --test): never counted as traffic
    token: str | None = None  # a visitor token bound to `visitor` (the proxy refuses beacons without one)

    SPEC: ClassVar[dict[str, Spec]] = {
        "visitor": Spec("id", limit=64, note="the random pseudonymous visitor id"),
        "session": Spec("id", limit=96, note="the visit's id (the visitor id and when the visit began)"),
        "arm": Spec("enum", choices=("treatment", "holdout"), note="treatment or holdout, from the hash of the id"),
        "eligible": Spec("bool", note="whether a trigger fired in this visit (shown, or would have been)"),
        "intervened": Spec("bool", note="whether a card was shown in this visit"),
        "converted": Spec("bool", note="whether the visit ended in a purchase"),
        "value": Spec("float", required=False, lo=0, hi=1e9, note="the purchase's value, as the shop reported it"),
        "trigger": Spec("id", required=False, limit=64, note="the visit's first trigger"),
        "phase": Spec("int", required=False, lo=0, hi=9, note="that trigger's rollout phase"),
        "dismissed": Spec("bool", required=False, note="whether the visitor dismissed a card"),
        "accepted": Spec("bool", required=False, note="whether the visitor accepted an offer"),
        "bot": Spec("bool", required=False, note="whether the visit looked automated"),
        "storage": Spec("enum", required=False, choices=("session",),
                        note="'session' when Tactful ran without a persistent id (consent mode session)"),
        "variant": Spec("id", required=False, limit=32, note="that trigger's variant, when it has several"),
        "eligible_at": Spec("float", required=False, lo=0, hi=1e11, note="when that trigger fired"),
        "converted_at": Spec("float", required=False, lo=0, hi=1e11, note="when the purchase was reported"),
        "test": Spec("bool", required=False, note="true from a test build: excluded from every report"),
        "token": Spec("text", required=False, limit=512, pattern=re.compile(r"^[A-Za-z0-9_.\-]+$"),
                      note="a short-lived token the proxy issued for this visitor id (unauthenticated beacons "
                           "are refused)"),
    }


@dataclass(frozen=True, slots=True)
class TokenRequest(WireMessage):
    """POST /v1/token with a body: a token bound to this visitor id (outcome beacons need one).
    An empty body still gets an unbound token (older loaders)."""

    visitor: str | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "visitor": Spec("id", required=False, limit=64,
                        note="the random pseudonymous visitor id, which the token is bound to"),
    }


@dataclass(frozen=True, slots=True)
class TokenReply(WireMessage):
    """POST /v1/token: a short-lived signed visitor token for the other endpoints, and the triggers
    the proxy has paused (comma-separated ids), which the engine then suppresses (reason ``paused``)."""

    token: str
    expires: int
    paused: str | None = None

    SPEC: ClassVar[dict[str, Spec]] = {
        "token": Spec("text", limit=512, pattern=re.compile(r"^[A-Za-z0-9_.\-]+$")),
        "expires": Spec("int", lo=0, hi=1e11),
        "paused": Spec("text", required=False, limit=2000, pattern=re.compile(r"^[a-z0-9_]+(,[a-z0-9_]+)*$")),
    }


def message_request(
    decision: Decision,
    privacy: str,
    locale: str | None = None,
    product: str | None = None,
    category: str | None = None,
    token: str | None = None,
) -> MessageRequest:
    """The request for words for ``decision``, carrying only what ``privacy`` allows."""
    share = privacy == "context"
    return MessageRequest(
        trigger=decision.trigger,
        kind=decision.kind,
        page_kind=decision.page_kind,
        offer=decision.offer,
        locale=locale if locale and _LOCALE.match(locale) else None,
        product=(product[:120] or None) if share and product else None,
        category=(category[:120] or None) if share and category else None,
        token=token,
        variant=decision.variant,
    )
