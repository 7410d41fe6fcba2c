"""Durable records in one SQLite file: leads and their outbox, outcomes, and the daily spend.

All calls run on the event loop's thread with one connection, so every statement
is atomic with respect to every other request in this process; SQLite's own
locking covers several processes on one file. (Many replicas behind a load
balancer would use PostgreSQL for these records and Redis for counters.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from ._config import private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
  id TEXT PRIMARY KEY, email TEXT NOT NULL, trigger TEXT NOT NULL, page_kind TEXT NOT NULL,
  session TEXT, locale TEXT, created REAL NOT NULL, dedupe TEXT UNIQUE NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, lead_id TEXT NOT NULL REFERENCES leads(id), target TEXT NOT NULL,
  address TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending', last_error TEXT, UNIQUE (lead_id, target)
);
CREATE TABLE IF NOT EXISTS outcomes (
  visitor TEXT NOT NULL, session TEXT NOT NULL, arm TEXT NOT NULL, eligible INTEGER NOT NULL,
  intervened INTEGER NOT NULL, converted INTEGER NOT NULL, value REAL NOT NULL, trigger TEXT,
  phase INTEGER, dismissed INTEGER NOT NULL, accepted INTEGER NOT NULL, bot INTEGER NOT NULL,
  synthetic INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL, PRIMARY KEY (visitor, session)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS leads_created ON leads (created);
CREATE TABLE IF NOT EXISTS spend (
  day TEXT PRIMARY KEY, spent REAL NOT NULL DEFAULT 0, reserved REAL NOT NULL DEFAULT 0,
  calls INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0
);
"""


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

class Store:
    def __init__(self, path: Path):
        private_dir(path.parent)
        if not path.exists():  # created owner-only; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path = path
        # Created at start-up, used on the event loop thread: one user at a time.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
        if "retry_from" not in columns:  # added in schema 2: when a manual retry restarted the window
            self.db.execute("ALTER TABLE outbox ADD COLUMN retry_from REAL")

    def close(self) -> None:
        self.db.close()

    # -- leads and their outbox ------------------------------------------------

    def add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        """Store a lead and its deliveries in one transaction. Returns (id, created)."""
        dedupe = _lead_key(lead["email"], lead["trigger"])
        existing = self.db.execute("SELECT id FROM leads WHERE dedupe = ?", (dedupe,)).fetchone()
        if existing:
            return existing[0], False
        lead_id = str(uuid.uuid4())
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (lead_id, lead["email"], lead["trigger"], lead["page_kind"], lead.get("session"),
                 lead.get("locale"), now, dedupe),  # fmt: skip
            )
            for target, address in targets:
                self.db.execute(
                    "INSERT INTO outbox (lead_id, target, address, next_attempt) VALUES (?, ?, ?, ?)",
                    (lead_id, target, address, now),
                )
        return lead_id, True

    def lead_id(self, email: str, trigger: str) -> str | None:
        """The stored lead for this address and trigger, if any: asking twice (another tab, a new
        token) is one lead."""
        row = self.db.execute("SELECT id FROM leads WHERE dedupe = ?", (_lead_key(email, trigger),)).fetchone()
        return row[0] if row else None

    def leads_since(self, since: float, session: str | None = None) -> int:
        """Leads stored since ``since`` (by one visit when ``session`` is given)."""
        if session is None:
            row = self.db.execute("SELECT COUNT(*) FROM leads WHERE created >= ?", (since,)).fetchone()
        else:
            row = self.db.execute("SELECT COUNT(*) FROM leads WHERE created >= ? AND session = ?",
                                  (since, session)).fetchone()  # fmt: skip
        return int(row[0])

    def deliveries(self, state: str | None = None) -> list[dict]:
        """Outbox rows with their lead, for `tactful leads` (``state``: pending, delivered or dead)."""
        query = ("SELECT o.id, o.lead_id, o.target, o.address, o.attempts, o.state, o.last_error, o.next_attempt, "
                 "l.email, l.trigger, l.created FROM outbox o JOIN leads l ON l.id = o.lead_id")  # fmt: skip
        rows = self.db.execute(query + (" WHERE o.state = ?" if state else "") + " ORDER BY o.id",
                               (state,) if state else ()).fetchall()  # fmt: skip
        keys = ("id", "lead_id", "target", "address", "attempts", "state", "last_error", "next_attempt", "email",
                "trigger", "created")  # fmt: skip
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def retry_dead(self, now: float) -> int:
        """Dead letters back in the queue, due now, with a fresh retry window. Returns how many."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            ids = [r[0] for r in self.db.execute("SELECT id FROM outbox WHERE state = 'dead'").fetchall()]
            self.db.execute("UPDATE outbox SET state = 'pending', next_attempt = ?, attempts = 0, retry_from = ? "
                            "WHERE state = 'dead'", (now, now))  # fmt: skip
        return len(ids)

    def purge_dead(self) -> int:
        return self.db.execute("DELETE FROM outbox WHERE state = 'dead'").rowcount

    def purge_older(self, leads_before: float, outcomes_before: float) -> tuple[int, int]:
        """Retention: leads (with their delivered or dead outbox rows) and outcomes older than these instants."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            old = "SELECT id FROM leads WHERE created < ? AND id NOT IN (SELECT lead_id FROM outbox WHERE state = 'pending')"
            self.db.execute(f"DELETE FROM outbox WHERE lead_id IN ({old})", (leads_before,))
            leads = self.db.execute(f"DELETE FROM leads WHERE id IN ({old})", (leads_before,)).rowcount
            outcomes = self.db.execute("DELETE FROM outcomes WHERE updated < ? AND synthetic = 0",
                                       (outcomes_before,)).rowcount  # fmt: skip
        return leads, outcomes

    def due(self, now: float, limit: int = 20) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT o.id, o.lead_id, o.target, o.address, o.attempts, l.email, l.trigger, l.page_kind, l.created, "
            "COALESCE(o.retry_from, l.created) FROM outbox o JOIN leads l ON l.id = o.lead_id "
            "WHERE o.state = 'pending' AND o.next_attempt <= ? ORDER BY o.next_attempt LIMIT ?",
            (now, limit),
        ).fetchall()
        return [
            Delivery(r[0], r[1], r[2], r[3], r[4],
                     {"id": r[1], "email": r[5], "trigger": r[6], "page_kind": r[7], "created": r[8]}, r[9])
            for r in rows
        ]  # fmt: skip

    def delivered(self, delivery_id: int) -> None:
        self.db.execute("UPDATE outbox SET state = 'delivered', attempts = attempts + 1 WHERE id = ?", (delivery_id,))

    def failed(self, delivery_id: int, error: str, next_attempt: float | None) -> None:
        if next_attempt is None:
            self.db.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], delivery_id),
            )
        else:
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE id = ?",
                (error[:500], next_attempt, delivery_id),
            )

    def outbox_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    # -- outcomes -------------------------------------------------------------

    def upsert_outcome(self, beacon, now: float, synthetic: bool = False) -> None:
        """Idempotent per (visitor, session): the latest beacon of a visit wins."""
        self.db.execute(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (visitor, session) DO UPDATE SET arm = excluded.arm, eligible = excluded.eligible, "
            "intervened = excluded.intervened, converted = excluded.converted, value = excluded.value, "
            "trigger = excluded.trigger, phase = excluded.phase, dismissed = excluded.dismissed, "
            "accepted = excluded.accepted, bot = excluded.bot, synthetic = excluded.synthetic, updated = excluded.updated",
            (beacon.visitor, beacon.session, beacon.arm, beacon.eligible, beacon.intervened, beacon.converted,
             beacon.value, beacon.trigger, beacon.phase, beacon.dismissed, beacon.accepted, beacon.bot,
             synthetic, now),  # fmt: skip
        )

    def replace_synthetic(self, outcomes, meta: dict, now: float) -> None:
        """Replace earlier synthetic outcomes with these, and record the run's figures (``meta``)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM outcomes WHERE synthetic = 1")
            for beacon in outcomes:
                self.upsert_outcome(beacon, now, synthetic=True)
            self.set_meta("synthetic", meta)

    def outcomes(self) -> list[dict]:
        cursor = self.db.execute("SELECT * FROM outcomes")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- spend ----------------------------------------------------------------

    def reserve(self, day: str, amount: float, cap: float) -> bool:
        """Reserve ``amount`` USD of today's cap; False when it would overshoot."""
        self.db.execute("INSERT OR IGNORE INTO spend (day) VALUES (?)", (day,))
        cursor = self.db.execute(
            "UPDATE spend SET reserved = reserved + ? WHERE day = ? AND spent + reserved + ? <= ?",
            (amount, day, amount, cap),
        )
        return cursor.rowcount == 1

    def settle(self, day: str, reserved: float, actual: float, input_tokens: int, output_tokens: int,
               calls: int = 1) -> None:  # fmt: skip
        """Release a reservation and charge what the call cost (``calls``: 0 when no call was made)."""
        self.db.execute(
            "UPDATE spend SET reserved = MAX(0, reserved - ?), spent = spent + ?, calls = calls + ?, "
            "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE day = ?",
            (reserved, actual, calls, input_tokens, output_tokens, day),
        )

    def spend(self, day: str) -> dict:
        row = self.db.execute(
            "SELECT spent, reserved, calls, input_tokens, output_tokens FROM spend WHERE day = ?", (day,)
        ).fetchone()
        keys = ("spent", "reserved", "calls", "input_tokens", "output_tokens")
        return dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys, 0)

    def spend_total(self) -> dict:
        row = self.db.execute("SELECT COALESCE(SUM(spent), 0), COALESCE(SUM(calls), 0) FROM spend").fetchone()
        return {"spent": row[0], "calls": row[1]}

    # -- small facts ------------------------------------------------------------

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default


def open_store(config) -> Store:
    """The configured store: the SQLite file in the data directory."""
    return Store(Path(config.data_dir) / "tactful.sqlite3")


def _lead_key(email: str, trigger: str) -> str:
    return hashlib.sha256(f"{email.lower()}|{trigger}|".encode()).hexdigest()
