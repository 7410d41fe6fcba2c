"""The shared store: PostgreSQL, for many replicas on many machines (``database_url``).

A psycopg 3 connection pool; every operation has a deadline, and any failure to reach the server
is ``BackendDown`` (a 503 for leads and outcomes, the template for words); the pool reconnects by
itself when the server is back. Migrations run under an advisory lock, so replicas starting
together apply each step once. Outbox rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a lease:
replicas never deliver the same row at once, and a dead replica's rows come back when their lease
expires. The spend cap is one conditional ``UPDATE`` of the day's row: atomic across replicas,
durable across restarts of anything.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

import psycopg
import psycopg_pool

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

MIGRATIONS = [
    """
    CREATE TABLE leads (
      id TEXT PRIMARY KEY, email TEXT NOT NULL, trigger TEXT NOT NULL, page_kind TEXT NOT NULL,
      session TEXT, locale TEXT, created DOUBLE PRECISION NOT NULL, dedupe TEXT UNIQUE NOT NULL
    );
    CREATE INDEX leads_created ON leads (created);
    CREATE TABLE outbox (
      id BIGSERIAL PRIMARY KEY, lead_id TEXT NOT NULL REFERENCES leads(id), target TEXT NOT NULL,
      address TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt DOUBLE PRECISION NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending', last_error TEXT, retry_from DOUBLE PRECISION,
      lease_until DOUBLE PRECISION, UNIQUE (lead_id, target)
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt);
    CREATE TABLE outcomes (
      visitor TEXT NOT NULL, session TEXT NOT NULL, arm TEXT NOT NULL, eligible INTEGER NOT NULL,
      intervened INTEGER NOT NULL, converted INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL, trigger TEXT,
      phase INTEGER, dismissed INTEGER NOT NULL, accepted INTEGER NOT NULL, bot INTEGER NOT NULL,
      synthetic INTEGER NOT NULL DEFAULT 0, updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (visitor, session)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE spend (
      day TEXT PRIMARY KEY, spent DOUBLE PRECISION NOT NULL DEFAULT 0, reserved DOUBLE PRECISION NOT NULL DEFAULT 0,
      calls INTEGER NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0
    );
    """,
    "ALTER TABLE outcomes ADD COLUMN storage TEXT",  # "session": a visit without a persistent id
    # The lift's additions (as in SQLite's list): what the proxy checked of each beacon, purchases the
    # shop's server confirmed, the review log of words said, beacons refused.
    """
    ALTER TABLE outcomes ADD COLUMN variant TEXT, ADD COLUMN eligible_at DOUBLE PRECISION,
      ADD COLUMN converted_at DOUBLE PRECISION, ADD COLUMN test INTEGER NOT NULL DEFAULT 0,
      ADD COLUMN served INTEGER NOT NULL DEFAULT 0, ADD COLUMN source TEXT, ADD COLUMN claimed_arm TEXT;
    CREATE TABLE conversions (
      order_id TEXT PRIMARY KEY, visitor TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, at DOUBLE PRECISION NOT NULL,
      code TEXT, discount DOUBLE PRECISION, received DOUBLE PRECISION NOT NULL, currency TEXT
    );
    CREATE INDEX conversions_visitor ON conversions (visitor);
    CREATE TABLE said (
      id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, visitor TEXT, trigger TEXT NOT NULL, variant TEXT,
      kind TEXT NOT NULL, source TEXT NOT NULL, text TEXT
    );
    CREATE INDEX said_visitor ON said (visitor, trigger);
    CREATE TABLE refusals (
      day TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, reason)
    )
    """,
]
DEADLINE = 10.0  # seconds any one operation may take before it is BackendDown
START_WAIT = 30.0  # seconds start-up waits for the server before giving up


class PostgresStore:
    name = "postgres"

    def __init__(self, url: str, pool_size: int = 10):
        self.url = url
        self.pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, timeout=2.0, reconnect_timeout=START_WAIT,
            kwargs={"autocommit": True}, check=psycopg_pool.AsyncConnectionPool.check_connection,
        )  # fmt: skip

    async def start(self) -> None:
        await self.pool.open(wait=False)
        deadline = asyncio.get_running_loop().time() + START_WAIT
        while True:
            try:
                await self._migrate()
                return
            except BackendDown:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _migrate(self) -> None:
        async def run(conn: psycopg.AsyncConnection) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.tactful'))")
                await conn.execute("CREATE TABLE IF NOT EXISTS tactful_schema (version INTEGER PRIMARY KEY)")
                row = await (await conn.execute("SELECT COALESCE(MAX(version), 0) FROM tactful_schema")).fetchone()
                version = row[0] if row else 0
                for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in filter(str.strip, step.split(";")):
                        await conn.execute(statement)
                    await conn.execute("INSERT INTO tactful_schema VALUES (%s)", (number,))

        await self._with(run)

    async def close(self) -> None:
        await self.pool.close()

    async def _with(self, work) -> Any:
        """Run ``work(connection)`` with a pooled connection and a deadline; failures are BackendDown."""
        try:
            async with asyncio.timeout(DEADLINE):
                async with self.pool.connection() as conn:
                    return await work(conn)
        except (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout, TimeoutError) as err:
            raise BackendDown(f"PostgreSQL cannot answer: {type(err).__name__}: {err}".strip()) from err

    async def _execute(self, sql: str, params: tuple = ()) -> int:
        async def run(conn):
            return (await conn.execute(sql, params)).rowcount

        return await self._with(run)

    async def _fetchone(self, sql: str, params: tuple = ()) -> tuple | None:
        async def run(conn):
            return await (await conn.execute(sql, params)).fetchone()

        return await self._with(run)

    async def _fetchall(self, sql: str, params: tuple = ()) -> list[tuple]:
        async def run(conn):
            return await (await conn.execute(sql, params)).fetchall()

        return await self._with(run)

    # -- leads and their outbox --------------------------------------------------------

    async def add_lead(self, lead: dict, targets: list[tuple[str, str]], now: float) -> tuple[str, bool]:
        dedupe = lead_key(lead["email"], lead["trigger"])

        async def run(conn) -> tuple[str, bool]:
            async with conn.transaction():
                inserted = await (await conn.execute(
                    "INSERT INTO leads VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe) DO NOTHING RETURNING id",
                    (str(uuid.uuid4()), lead["email"], lead["trigger"], lead["page_kind"], lead.get("session"),
                     lead.get("locale"), now, dedupe))).fetchone()  # fmt: skip
                if inserted is None:
                    row = await (await conn.execute("SELECT id FROM leads WHERE dedupe = %s", (dedupe,))).fetchone()
                    return row[0], False
                for target, address in targets:
                    await conn.execute("INSERT INTO outbox (lead_id, target, address, next_attempt) VALUES (%s, %s, %s, %s)",
                                       (inserted[0], target, address, now))  # fmt: skip
                return inserted[0], True

        return await self._with(run)

    async def lead_id(self, email: str, trigger: str) -> str | None:
        row = await self._fetchone("SELECT id FROM leads WHERE dedupe = %s", (lead_key(email, trigger),))
        return row[0] if row else None

    async def leads_since(self, since: float, session: str | None = None) -> int:
        if session is None:
            row = await self._fetchone("SELECT COUNT(*) FROM leads WHERE created >= %s", (since,))
        else:
            row = await self._fetchone("SELECT COUNT(*) FROM leads WHERE created >= %s AND session = %s", (since, session))
        return int(row[0]) if row else 0

    async def claim_due(self, now: float, lease: float, limit: int = 20) -> list[Delivery]:
        rows = await self._fetchall(
            "WITH claimed AS (UPDATE outbox SET lease_until = %s WHERE id IN ("
            "  SELECT id FROM outbox WHERE state = 'pending' AND next_attempt <= %s AND COALESCE(lease_until, 0) < %s"
            "  ORDER BY next_attempt LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *) "
            "SELECT c.id, c.lead_id, c.target, c.address, c.attempts, l.email, l.trigger, l.page_kind, l.created, "
            "COALESCE(c.retry_from, l.created), l.locale FROM claimed c JOIN leads l ON l.id = c.lead_id ORDER BY c.next_attempt",
            (now + lease, now, now, limit),
        )
        return [delivery_from_row(r) for r in rows]

    async def delivered(self, delivery_id: int) -> None:
        await self._execute("UPDATE outbox SET state = 'delivered', attempts = attempts + 1, lease_until = NULL "
                            "WHERE id = %s", (delivery_id,))  # fmt: skip

    async def failed(self, delivery_id: int, error: str, next_attempt: float | None) -> None:
        if next_attempt is None:
            await self._execute("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = %s, "
                                "lease_until = NULL WHERE id = %s", (error[:500], delivery_id))  # fmt: skip
        else:
            await self._execute("UPDATE outbox SET attempts = attempts + 1, last_error = %s, next_attempt = %s, "
                                "lease_until = NULL WHERE id = %s", (error[:500], next_attempt, delivery_id))  # fmt: skip

    async def deliveries(self, state: str | None = None) -> list[dict]:
        query = ("SELECT o.id, o.lead_id, o.target, o.address, o.attempts, o.state, o.last_error, o.next_attempt, "
                 "l.email, l.trigger, l.created FROM outbox o JOIN leads l ON l.id = o.lead_id")  # fmt: skip
        rows = await self._fetchall(query + (" WHERE o.state = %s" if state else "") + " ORDER BY o.id",
                                    (state,) if state else ())  # fmt: skip
        return [dict(zip(DELIVERY_KEYS, row, strict=True)) for row in rows]

    async def retry_dead(self, now: float) -> int:
        return await self._execute("UPDATE outbox SET state = 'pending', next_attempt = %s, attempts = 0, "
                                   "retry_from = %s, lease_until = NULL WHERE state = 'dead'", (now, now))  # fmt: skip

    async def purge_dead(self) -> int:
        return await self._execute("DELETE FROM outbox WHERE state = 'dead'")

    async def outbox_counts(self) -> dict[str, int]:
        return {state: count for state, count in await self._fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")}

    async def purge_older(self, leads_before: float, outcomes_before: float) -> tuple[int, int]:
        async def run(conn) -> tuple[int, int]:
            async with conn.transaction():
                old = ("SELECT id FROM leads WHERE created < %s AND id NOT IN "
                       "(SELECT lead_id FROM outbox WHERE state = 'pending')")  # fmt: skip
                await conn.execute(f"DELETE FROM outbox WHERE lead_id IN ({old})", (leads_before,))
                leads = (await conn.execute(f"DELETE FROM leads WHERE id IN ({old})", (leads_before,))).rowcount
                outcomes = (await conn.execute("DELETE FROM outcomes WHERE updated < %s AND synthetic = 0",
                                               (outcomes_before,))).rowcount  # fmt: skip
                await conn.execute("DELETE FROM said WHERE at < %s", (outcomes_before,))
                await conn.execute("DELETE FROM conversions WHERE received < %s", (outcomes_before,))
                return leads, outcomes

        return await self._with(run)

    # -- outcomes ----------------------------------------------------------------------

    UPSERT = (f"INSERT INTO outcomes ({', '.join(OUTCOME_COLUMNS)}) VALUES ({', '.join(['%s'] * len(OUTCOME_COLUMNS))}) "
              "ON CONFLICT (visitor, session) DO UPDATE SET "
              + ", ".join(f"{c} = excluded.{c}" for c in OUTCOME_COLUMNS[2:]))  # fmt: skip

    async def upsert_outcome(self, beacon: Any, now: float, synthetic: bool = False, checked: dict | None = None) -> None:
        await self._execute(self.UPSERT, outcome_values(beacon, now, synthetic, checked))

    async def replace_synthetic(self, outcomes: list, meta: dict, now: float) -> None:
        async def run(conn) -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM outcomes WHERE synthetic = 1")
                async with conn.cursor() as cursor:
                    await cursor.executemany(self.UPSERT, [outcome_values(b, now, True) for b in outcomes])
                await conn.execute("INSERT INTO meta VALUES ('synthetic', %s) ON CONFLICT (key) DO UPDATE SET "
                                   "value = excluded.value", (json.dumps(meta),))  # fmt: skip

        await self._with(run)

    async def outcomes(self) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM outcomes")
        return [dict(zip(OUTCOME_COLUMNS, row, strict=True)) for row in rows]

    async def add_conversion(self, conversion: dict) -> bool:
        sql = (f"INSERT INTO conversions VALUES ({', '.join(['%s'] * len(CONVERSION_COLUMNS))}) "
               "ON CONFLICT (order_id) DO NOTHING")  # fmt: skip
        return bool(await self._execute(sql, tuple(conversion.get(c) for c in CONVERSION_COLUMNS)))

    async def conversions(self) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(CONVERSION_COLUMNS)} FROM conversions ORDER BY at")
        return [dict(zip(CONVERSION_COLUMNS, row, strict=True)) for row in rows]

    async def add_said(self, row: dict) -> None:
        await self._execute(f"INSERT INTO said ({', '.join(SAID_COLUMNS)}) VALUES ({', '.join(['%s'] * len(SAID_COLUMNS))})",
                            tuple(row.get(c) for c in SAID_COLUMNS))  # fmt: skip

    async def said(self, limit: int = 200) -> list[dict]:
        rows = await self._fetchall(f"SELECT {', '.join(SAID_COLUMNS)} FROM said ORDER BY id DESC LIMIT %s", (limit,))
        return [dict(zip(SAID_COLUMNS, row, strict=True)) for row in rows]

    async def served(self, visitor: str, trigger: str) -> bool:
        row = await self._fetchone("SELECT 1 FROM said WHERE visitor = %s AND trigger = %s AND kind = 'card' LIMIT 1",
                                   (visitor, trigger))  # fmt: skip
        return row is not None

    async def count_refusal(self, day: str, reason: str) -> None:
        await self._execute("INSERT INTO refusals VALUES (%s, %s, 1) ON CONFLICT (day, reason) DO UPDATE SET "
                            "count = refusals.count + 1", (day, reason))  # fmt: skip

    async def refusals(self) -> dict[str, int]:
        return {reason: int(n) for reason, n in await self._fetchall("SELECT reason, SUM(count) FROM refusals GROUP BY reason")}

    # -- spend -------------------------------------------------------------------------

    async def reserve(self, day: str, amount: float, cap: float) -> bool:
        async def run(conn) -> bool:
            await conn.execute("INSERT INTO spend (day) VALUES (%s) ON CONFLICT (day) DO NOTHING", (day,))
            cursor = await conn.execute("UPDATE spend SET reserved = reserved + %s WHERE day = %s "
                                        "AND spent + reserved + %s <= %s", (amount, day, amount, cap))  # fmt: skip
            return cursor.rowcount == 1

        return await self._with(run)

    async def settle(self, day: str, reserved: float, actual: float, input_tokens: int, output_tokens: int,
                     calls: int = 1) -> None:  # fmt: skip
        await self._execute(
            "UPDATE spend SET reserved = GREATEST(0, reserved - %s), spent = spent + %s, calls = calls + %s, "
            "input_tokens = input_tokens + %s, output_tokens = output_tokens + %s WHERE day = %s",
            (reserved, actual, calls, input_tokens, output_tokens, day),
        )

    async def spend(self, day: str) -> dict:
        row = await self._fetchone(f"SELECT {', '.join(SPEND_KEYS)} FROM spend WHERE day = %s", (day,))
        return dict(zip(SPEND_KEYS, row, strict=True)) if row else dict.fromkeys(SPEND_KEYS, 0)

    async def spend_total(self) -> dict:
        row = await self._fetchone("SELECT COALESCE(SUM(spent), 0), COALESCE(SUM(calls), 0) FROM spend")
        return {"spent": float(row[0]), "calls": int(row[1])} if row else {"spent": 0.0, "calls": 0}

    # -- small facts -------------------------------------------------------------------

    async def set_meta(self, key: str, value: Any) -> None:
        await self._execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            (key, json.dumps(value)))  # fmt: skip

    async def get_meta(self, key: str, default: Any = None) -> Any:
        row = await self._fetchone("SELECT value FROM meta WHERE key = %s", (key,))
        return json.loads(row[0]) if row else default

    async def secret(self, name: str) -> str:
        key = f"secret:{name}"
        await self._execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                            (key, json.dumps(secrets.token_urlsafe(32))))  # fmt: skip
        return str(await self.get_meta(key))
