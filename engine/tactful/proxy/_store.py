"""Durable records: leads and their outbox, outcomes, the daily spend, small facts and secrets.

``Store`` is the interface; two backends implement it:

=============  ==========================================================================
``sqlite``     the embedded default: one file in the data directory, every call on one
               thread of its own (never on the event loop); several processes on one
               machine share the file (``tactful serve --workers N``)
``postgres``   many replicas on many machines: ``database_url`` (psycopg 3, a pool)
=============  ==========================================================================

Every method is a coroutine. A backend that cannot be reached raises ``BackendDown`` (a 503 at
the edge, the template on the message path), never anything else, and recovers by itself.

Both keep one schema, migrated on start-up by versioned steps that several replicas may run at
once (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock).

Outbox rows are *claimed* before delivery: a claim is a lease (``lease_until``) that another
replica respects until it expires, so every replica can work the outbox without delivering a
row twice, and the rows of a replica that died are picked up when their lease runs out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from ._errors import ProxyError


class BackendDown(ProxyError):
    """A configured backend (PostgreSQL, Redis, a locked SQLite file) cannot answer right now."""

    status = 503

    def __init__(self, reason: str, retry_after: float = 5.0):
        self.retry_after = retry_after
        super().__init__(reason)


def spend_day(now: float) -> str:
    """The UTC day the spend cap counts against."""
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Delivery:
    id: int
    lead_id: str
    target: str  # "webhook" | "email"
    address: str
    attempts: int
    lead: dict
    retry_from: float  # the retry window starts here: the lead's creation, or a manual retry


DELIVERY_KEYS = ("id", "lead_id", "target", "address", "attempts", "state", "last_error", "next_attempt", "email",
                 "trigger", "created")  # fmt: skip
SPEND_KEYS = ("spent", "reserved", "calls", "input_tokens", "output_tokens")
OUTCOME_COLUMNS = ("visitor", "session", "arm", "eligible", "intervened", "converted", "value", "trigger", "phase",
                   "dismissed", "accepted", "bot", "synthetic", "updated", "storage", "variant", "eligible_at",
                   "converted_at", "test", "served", "source", "claimed_arm")  # fmt: skip
CONVERSION_COLUMNS = ("order_id", "visitor", "value", "at", "code", "discount", "received", "currency")
SAID_COLUMNS = ("at", "visitor", "trigger", "variant", "kind", "source", "text")


def delivery_from_row(r: tuple) -> Delivery:
    """A claimed outbox row (id, lead_id, target, address, attempts, email, trigger, page_kind,
    created, retry_from, locale) as a ``Delivery``: the lead as its follow-up receives it."""
    return Delivery(r[0], r[1], r[2], r[3], r[4],
                    {"id": r[1], "email": r[5], "trigger": r[6], "page_kind": r[7], "created": r[8], "locale": r[10]},
                    r[9])  # fmt: skip


def outcome_values(beacon: Any, now: float, synthetic: bool, checked: dict | None = None) -> tuple:
    """A beacon as an outcomes row. ``checked`` holds what the proxy found itself (``arm`` from the
    visitor's hash, ``served``: words were served to this visitor for the trigger, ``source``: a keyed
    hash of the sender's address); a synthetic beacon is its own account."""
    checked = checked or {}
    arm = checked.get("arm", beacon.arm)
    return (beacon.visitor, beacon.session, arm, int(beacon.eligible), int(beacon.intervened),
            int(beacon.converted), float(beacon.value), beacon.trigger, beacon.phase, int(beacon.dismissed),
            int(beacon.accepted), int(beacon.bot), int(synthetic), now, getattr(beacon, "storage", None),
            getattr(beacon, "variant", None), getattr(beacon, "eligible_at", None), getattr(beacon, "converted_at", None),
            int(bool(getattr(beacon, "test", False))), int(checked.get("served", beacon.intervened)),
            checked.get("source"), beacon.arm)  # fmt: skip


def lead_key(email: str, trigger: str) -> str:
    """One lead per address and trigger, however often it is sent."""
    return hashlib.sha256(f"{email.lower()}|{trigger}|".encode()).hexdigest()


class Store(Protocol):
    """What the proxy keeps durably. See the module docstring for the backends."""

    name: str

    async def start(self) -> None:
        """Connect and migrate the schema (safe when several replicas start at once)."""

    async def close(self) -> None: ...

    # leads and their outbox
    async def add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        """Store a lead and one outbox row per target in one transaction. Returns (id, created)."""

    async def lead_id(self, email: str, trigger: str) -> str | None: ...

    async def leads_since(self, since: float, session: str | None = None) -> int: ...

    async def claim_due(self, now: float, lease: float, limit: int = 20) -> list[Delivery]:
        """Pending rows due at ``now`` that no live lease holds, leased to the caller for ``lease`` s."""

    async def delivered(self, delivery_id: int) -> None: ...

    async def failed(self, delivery_id: int, error: str, next_attempt: float | None) -> None:
        """A failed attempt: retry at ``next_attempt``, or a dead letter when it is None."""

    async def deliveries(self, state: str | None = None) -> list[dict]: ...

    async def retry_dead(self, now: float) -> int: ...

    async def purge_dead(self) -> int: ...

    async def outbox_counts(self) -> dict[str, int]: ...

    async def purge_older(self, leads_before: float, outcomes_before: float) -> tuple[int, int]:
        """Retention: leads (never one still pending) and outcomes older than these instants."""

    # outcomes
    async def upsert_outcome(self, beacon: Any, now: float, synthetic: bool = False, checked: dict | None = None) -> None:
        """Idempotent per (visitor, session): the latest beacon of a visit wins. ``checked``: see ``outcome_values``."""

    async def replace_synthetic(self, outcomes: list, meta: dict, now: float) -> None: ...

    async def outcomes(self) -> list[dict]: ...

    # what the shop's server confirmed, what was said, what was refused
    async def add_conversion(self, conversion: dict) -> bool:
        """Keep a purchase the shop's server confirmed; idempotent by ``order_id`` (True when new)."""

    async def conversions(self) -> list[dict]: ...

    async def add_said(self, row: dict) -> None:
        """The review log: words shown (their source; the text of model-written ones) and chat turns."""

    async def said(self, limit: int = 200) -> list[dict]:
        """The newest rows of the review log, newest first."""

    async def served(self, visitor: str, trigger: str) -> bool:
        """Whether this proxy served words to ``visitor`` for ``trigger`` (its own record, not the browser's)."""

    async def count_refusal(self, day: str, reason: str) -> None: ...

    async def refusals(self) -> dict[str, int]:
        """Outcome beacons refused, by reason, over the records kept."""

    # spend
    async def reserve(self, day: str, amount: float, cap: float) -> bool:
        """Reserve ``amount`` USD of the day's cap in one atomic step; False when it would overshoot."""

    async def settle(self, day: str, reserved: float, actual: float, input_tokens: int, output_tokens: int,
                     calls: int = 1) -> None: ...  # fmt: skip

    async def spend(self, day: str) -> dict: ...

    async def spend_total(self) -> dict: ...

    # small facts
    async def set_meta(self, key: str, value: Any) -> None: ...

    async def get_meta(self, key: str, default: Any = None) -> Any: ...

    async def secret(self, name: str) -> str:
        """A random secret every replica shares, made by whichever asks first."""


def open_store(config) -> Store:
    """The configured store: PostgreSQL when ``database_url`` is set, else the SQLite file in the
    data directory. Call ``await store.start()`` before use."""
    if getattr(config, "database_url", ""):
        from ._postgres import PostgresStore

        return PostgresStore(config.database_url)
    from ._sqlite import SqliteStore

    return SqliteStore(config.data_dir / "tactful.sqlite3")
