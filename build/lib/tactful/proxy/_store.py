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
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

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


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Created at start-up, used on the event loop thread: one user at a time.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- leads and their outbox ------------------------------------------------

    def add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        """Store a lead and its deliveries in one transaction. Returns (id, created)."""
        dedupe = hashlib.sha256(
            f"{lead['email'].lower()}|{lead['trigger']}|{lead.get('session') or ''}".encode()
        ).hexdigest()
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

    def due(self, now: float, limit: int = 20) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT o.id, o.lead_id, o.target, o.address, o.attempts, l.email, l.trigger, l.page_kind, l.created "
            "FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE o.state = 'pending' AND o.next_attempt <= ? "
            "ORDER BY o.next_attempt LIMIT ?",
            (now, limit),
        ).fetchall()
        return [
            Delivery(r[0], r[1], r[2], r[3], r[4],
                     {"id": r[1], "email": r[5], "trigger": r[6], "page_kind": r[7], "created": r[8]})
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

    def settle(self, day: str, reserved: float, actual: float, input_tokens: int, output_tokens: int) -> None:
        self.db.execute(
            "UPDATE spend SET reserved = MAX(0, reserved - ?), spent = spent + ?, calls = calls + 1, "
            "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE day = ?",
            (reserved, actual, input_tokens, output_tokens, day),
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
