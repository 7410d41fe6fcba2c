"""The embedded store: one SQLite file, worked on a thread of its own.

Every call runs on the store's single worker thread, one at a time, so the event loop never
waits on the disk or on another process's lock, and each statement is atomic with respect to
every other request of this process. Several processes on one machine share the file (WAL mode;
SQLite's own locking serialises their writes). A lock held longer than ``busy_timeout`` is
``BackendDown`` (a 503), not an error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._config import private_dir, secret_file
from ._store import (
    CONVERSION_COLUMNS,
    DELIVERY_KEYS,
    OUTCOME_COLUMNS,
    SAID_COLUMNS,
    SPEND_KEYS,
    BackendDown,
    Delivery,
    delivery_from_row,
    lead_key,
    outcome_values,
)

# The lift's additions (the same steps in PostgreSQL's list): what the proxy checked of each beacon,
# purchases the shop's server confirmed, the review log of words said, beacons refused.
LIFT_COLUMNS = [
    "ALTER TABLE outcomes ADD COLUMN variant TEXT",
    "ALTER TABLE outcomes ADD COLUMN eligible_at REAL",
    "ALTER TABLE outcomes ADD COLUMN converted_at REAL",
    "ALTER TABLE outcomes ADD COLUMN test INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outcomes ADD COLUMN served INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outcomes ADD COLUMN source TEXT",
    "ALTER TABLE outcomes ADD COLUMN claimed_arm TEXT",
]
LIFT_TABLES = """
    CREATE TABLE IF NOT EXISTS conversions (
      order_id TEXT PRIMARY KEY, visitor TEXT NOT NULL, value REAL NOT NULL, at REAL NOT NULL, code TEXT,
      discount REAL, received REAL NOT NULL, currency TEXT
    );
    CREATE INDEX IF NOT EXISTS conversions_visitor ON conversions (visitor);
    CREATE TABLE IF NOT EXISTS said (
      id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, visitor TEXT, trigger TEXT NOT NULL, variant TEXT,
      kind TEXT NOT NULL, source TEXT NOT NULL, text TEXT
    );
    CREATE INDEX IF NOT EXISTS said_visitor ON said (visitor, trigger);
    CREATE TABLE IF NOT EXISTS refusals (
      day TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, reason)
    )
"""
# Versioned steps; PRAGMA user_version says how many ran. Step 1 is the first wave's schema, written
# so that it also adopts a file made before versions existed.
MIGRATIONS = [
    """
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
    """,
    "ALTER TABLE outbox ADD COLUMN retry_from REAL",  # when a manual retry restarted the window
    "ALTER TABLE outbox ADD COLUMN lease_until REAL",  # a claim by one process, until then
    "ALTER TABLE outcomes ADD COLUMN storage TEXT",  # "session": a visit without a persistent id
    *LIFT_COLUMNS,
    LIFT_TABLES,
]
BUSY_TIMEOUT = 5.0  # seconds a call waits for another process's write lock before it is BackendDown


def _until_unlocked(step) -> None:
    """Run ``step``, again while another process holds the lock it needs, for up to BUSY_TIMEOUT.
    (Switching a new file to WAL ignores the busy timeout: processes starting together collide.)"""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _records(keys: tuple[str, ...], rows: list[tuple]) -> list[dict]:
    """Rows as mappings, each selected with exactly ``keys``' columns."""
    return [dict(zip(keys, row, strict=True)) for row in rows]


class SqliteStore:
    name = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="tactful-sqlite")
        self._db: sqlite3.Connection | None = None
        self._closed = False

    # -- plumbing: one thread, one connection ---------------------------------------

    async def _call(self, function, *args) -> Any:
        if self._closed:  # shutting down: the thread is gone
            raise BackendDown("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, function, *args)
        except sqlite3.OperationalError as err:  # "database is locked" past the busy timeout, a full disk...
            raise BackendDown(f"the SQLite store cannot answer: {err}") from err

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise BackendDown("the store is not started")
        return self._db

    async def start(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        private_dir(self.path.parent)
        if not self.path.exists():  # created owner-only; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False)
        _until_unlocked(lambda: db.execute("PRAGMA journal_mode=WAL"))
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        self._db = db
        self._migrate()

    def _migrate(self) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")  # one process at a time runs the steps
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                column = step.split("ADD COLUMN ")[1].split()[0] if "ADD COLUMN" in step else None
                table = step.split()[2] if column else ""
                columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")} if column else set()
                if column is None:
                    for statement in filter(str.strip, step.split(";")):
                        self.db.execute(statement)
                elif column not in columns:  # a file from before versions may have it already
                    self.db.execute(step)
                self.db.execute(f"PRAGMA user_version = {number}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._db is not None:  # it never started
                self._db.close()

        await asyncio.get_running_loop().run_in_executor(self._pool, shut)
        self._pool.shutdown(wait=True)

    # -- leads and their outbox --------------------------------------------------------

    async def add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        return await self._call(self._add_lead, lead, targets, now)

    def _add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        dedupe = lead_key(lead["email"], lead["trigger"])
        lead_id = str(uuid.uuid4())
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            existing = self.db.execute("SELECT id FROM leads WHERE dedupe = ?", (dedupe,)).fetchone()
            if existing:
                return existing[0], False
            self.db.execute("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (lead_id, lead["email"], lead["trigger"], lead["page_kind"], lead.get("session"),
                             lead.get("locale"), now, dedupe))  # fmt: skip
            for target, address in targets:
                self.db.execute("INSERT INTO outbox (lead_id, target, address, next_attempt) VALUES (?, ?, ?, ?)",
                                (lead_id, target, address, now))  # fmt: skip
        return lead_id, True

    async def lead_id(self, email: str, trigger: str) -> str | None:
        row = await self._fetchone("SELECT id FROM leads WHERE dedupe = ?", (lead_key(email, trigger),))
        return row[0] if row else None

    async def leads_since(self, since: float, session: str | None = None) -> int:
        if session is None:
            row = await self._fetchone("SELECT COUNT(*) FROM leads WHERE created >= ?", (since,))
        else:
            row = await self._fetchone("SELECT COUNT(*) FROM leads WHERE created >= ? AND session = ?", (since, session))
        return int(row[0]) if row else 0

    async def claim_due(self, now: float, lease: float, limit: int = 20) -> list[Delivery]:
        return await self._call(self._claim_due, now, lease, limit)

    def _claim_due(self, now: float, lease: float, limit: int) -> list[Delivery]:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            rows = self.db.execute(
                "SELECT o.id, o.lead_id, o.target, o.address, o.attempts, l.email, l.trigger, l.page_kind, l.created, "
                "COALESCE(o.retry_from, l.created), l.locale FROM outbox o JOIN leads l ON l.id = o.lead_id "
                "WHERE o.state = 'pending' AND o.next_attempt <= ? AND COALESCE(o.lease_until, 0) < ? "
                "ORDER BY o.next_attempt LIMIT ?",
                (now, now, limit),
            ).fetchall()
            self.db.executemany("UPDATE outbox SET lease_until = ? WHERE id = ?", [(now + lease, r[0]) for r in rows])
        return [delivery_from_row(r) for r in rows]

    async def delivered(self, delivery_id: int) -> None:
        await self._execute("UPDATE outbox SET state = 'delivered', attempts = attempts + 1, lease_until = NULL "
                            "WHERE id = ?", (delivery_id,))  # fmt: skip

    async def failed(self, delivery_id: int, error: str, next_attempt: float | None) -> None:
        if next_attempt is None:
            await self._execute("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, "
                                "lease_until = NULL WHERE id = ?", (error[:500], delivery_id))  # fmt: skip
        else:
            await self._execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                                "lease_until = NULL WHERE id = ?", (error[:500], next_attempt, delivery_id))  # fmt: skip

    async def deliveries(self, state: str | None = None) -> list[dict]:
        query = ("SELECT o.id, o.lead_id, o.target, o.address, o.attempts, o.state, o.last_error, o.next_attempt, "
                 "l.email, l.trigger, l.created FROM outbox o JOIN leads l ON l.id = o.lead_id")  # fmt: skip
        rows = await self._fetchall(query + (" WHERE o.state = ?" if state else "") + " ORDER BY o.id",
                                    (state,) if state else ())  # fmt: skip
        return _records(DELIVERY_KEYS, rows)

    async def retry_dead(self, now: float) -> int:
        return await self._call(self._retry_dead, now)

    def _retry_dead(self, now: float) -> int:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db.execute("UPDATE outbox SET state = 'pending', next_attempt = ?, attempts = 0, retry_from = ?, "
                                   "lease_until = NULL WHERE state = 'dead'", (now, now)).rowcount  # fmt: skip

    async def purge_dead(self) -> int:
        return await self._call(lambda: self.db.execute("DELETE FROM outbox WHERE state = 'dead'").rowcount)

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state", ())
        return {state: count for state, count in rows}

    async def purge_older(self, leads_before: float, outcomes_before: float) -> tuple[int, int]:
        return await self._call(self._purge_older, leads_before, outcomes_before)

    def _purge_older(self, leads_before: float, outcomes_before: float) -> tuple[int, int]:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            old = "SELECT id FROM leads WHERE created < ? AND id NOT IN (SELECT lead_id FROM outbox WHERE state = 'pending')"
            self.db.execute(f"DELETE FROM outbox WHERE lead_id IN ({old})", (leads_before,))
            leads = self.db.execute(f"DELETE FROM leads WHERE id IN ({old})", (leads_before,)).rowcount
            outcomes = self.db.execute("DELETE FROM outcomes WHERE updated < ? AND synthetic = 0",
                                       (outcomes_before,)).rowcount  # fmt: skip
            self.db.execute("DELETE FROM said WHERE at < ?", (outcomes_before,))
            self.db.execute("DELETE FROM conversions WHERE received < ?", (outcomes_before,))
        return leads, outcomes

    # -- outcomes ----------------------------------------------------------------------

    UPSERT = (f"INSERT INTO outcomes ({', '.join(OUTCOME_COLUMNS)}) VALUES ({', '.join('?' * len(OUTCOME_COLUMNS))}) "
              "ON CONFLICT (visitor, session) DO UPDATE SET "
              + ", ".join(f"{c} = excluded.{c}" for c in OUTCOME_COLUMNS[2:]))  # fmt: skip

    async def upsert_outcome(self, beacon: Any, now: float, synthetic: bool = False, checked: dict | None = None) -> None:
        await self._execute(self.UPSERT, outcome_values(beacon, now, synthetic, checked))

    async def replace_synthetic(self, outcomes: list, meta: dict, now: float) -> None:
        def replace() -> None:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("DELETE FROM outcomes WHERE synthetic = 1")
                self.db.executemany(self.UPSERT, [outcome_values(b, now, True) for b in outcomes])
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("synthetic", json.dumps(meta)))

        await self._call(replace)

    async def outcomes(self) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM outcomes", ())
        return _records(OUTCOME_COLUMNS, rows)

    async def add_conversion(self, conversion: dict) -> bool:
        values = tuple(conversion.get(c) for c in CONVERSION_COLUMNS)
        sql = f"INSERT OR IGNORE INTO conversions VALUES ({', '.join('?' * len(CONVERSION_COLUMNS))})"
        return bool(await self._call(lambda: self.db.execute(sql, values).rowcount))

    async def conversions(self) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(CONVERSION_COLUMNS)} FROM conversions ORDER BY at", ())
        return _records(CONVERSION_COLUMNS, rows)

    async def add_said(self, row: dict) -> None:
        await self._execute(f"INSERT INTO said ({', '.join(SAID_COLUMNS)}) VALUES ({', '.join('?' * len(SAID_COLUMNS))})",
                            tuple(row.get(c) for c in SAID_COLUMNS))  # fmt: skip

    async def said(self, limit: int = 200) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(SAID_COLUMNS)} FROM said ORDER BY id DESC LIMIT ?", (limit,))
        return _records(SAID_COLUMNS, rows)

    async def served(self, visitor: str, trigger: str) -> bool:
        row = await self._fetchone("SELECT 1 FROM said WHERE visitor = ? AND trigger = ? AND kind = 'card' LIMIT 1",
                                   (visitor, trigger))  # fmt: skip
        return row is not None

    async def count_refusal(self, day: str, reason: str) -> None:
        await self._execute("INSERT INTO refusals VALUES (?, ?, 1) ON CONFLICT (day, reason) DO UPDATE SET "
                            "count = count + 1", (day, reason))  # fmt: skip

    async def refusals(self) -> dict[str, int]:
        return dict(await self._fetchall("SELECT reason, SUM(count) FROM refusals GROUP BY reason", ()))

    # -- spend -------------------------------------------------------------------------

    async def reserve(self, day: str, amount: float, cap: float) -> bool:
        def reserve() -> bool:
            self.db.execute("INSERT OR IGNORE INTO spend (day) VALUES (?)", (day,))
            cursor = self.db.execute("UPDATE spend SET reserved = reserved + ? WHERE day = ? AND spent + reserved + ? <= ?",
                                     (amount, day, amount, cap))  # fmt: skip
            return cursor.rowcount == 1

        return await self._call(reserve)

    async def settle(self, day: str, reserved: float, actual: float, input_tokens: int, output_tokens: int,
                     calls: int = 1) -> None:  # fmt: skip
        await self._execute(
            "UPDATE spend SET reserved = MAX(0, reserved - ?), spent = spent + ?, calls = calls + ?, "
            "input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE day = ?",
            (reserved, actual, calls, input_tokens, output_tokens, day),
        )

    async def spend(self, day: str) -> dict:
        row = await self._fetchone(f"SELECT {', '.join(SPEND_KEYS)} FROM spend WHERE day = ?", (day,))
        return _records(SPEND_KEYS, [row])[0] if row else dict.fromkeys(SPEND_KEYS, 0)

    async def spend_total(self) -> dict:
        row = await self._fetchone("SELECT COALESCE(SUM(spent), 0), COALESCE(SUM(calls), 0) FROM spend", ())
        return {"spent": float(row[0]), "calls": int(row[1])} if row else {"spent": 0.0, "calls": 0}

    # -- small facts -------------------------------------------------------------------

    async def set_meta(self, key: str, value: Any) -> None:
        await self._execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    async def get_meta(self, key: str, default: Any = None) -> Any:
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(row[0]) if row else default

    async def secret(self, name: str) -> str:
        # Kept as a file beside the database (0600), as the first wave did: existing tokens stay valid.
        return await self._call(secret_file, self.path.parent, name)

    # -- one-statement helpers ---------------------------------------------------------

    async def _execute(self, sql: str, params: tuple) -> None:
        await self._call(lambda: self.db.execute(sql, params))

    async def _fetchone(self, sql: str, params: tuple) -> tuple | None:
        return await self._call(lambda: self.db.execute(sql, params).fetchone())

    async def _fetchall(self, sql: str, params: tuple) -> list[tuple]:
        return await self._call(lambda: self.db.execute(sql, params).fetchall())
