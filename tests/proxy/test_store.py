"""The store contract, run against both backends: SQLite (embedded) and PostgreSQL (shared).

Several store instances on one database stand for several processes or replicas: they migrate
together, never claim the same outbox row, share one spend cap and one set of secrets.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from dataclasses import replace

import pytest
from loopback import run_async
from services import Relay

from tactful.core import OutcomeBeacon
from tactful.proxy import BackendDown, load_config, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path):
    """load_config overrides that point at one database of this test's own."""
    if request.param == "sqlite":
        yield {"data_dir": tmp_path / "data"}
        return
    schema = request.getfixturevalue("postgres")
    yield {"database_url": schema.url, "data_dir": tmp_path / "data"}


def stores(settings, n):
    return [open_store(load_config(None, env={}, **settings)) for _ in range(n)]


LEAD = {"email": "ada@example.com", "trigger": "longform_lead", "page_kind": "article", "session": "s1", "locale": "en"}


def test_replicas_migrate_together_and_share_secrets(settings):
    async def go():
        several = stores(settings, 4)
        await asyncio.gather(*(s.start() for s in several))  # four replicas starting at once
        secrets = await asyncio.gather(*(s.secret("token") for s in several))
        again = stores(settings, 1)[0]
        await again.start()  # a restart finds the schema current and changes nothing
        secrets.append(await again.secret("token"))
        for s in [*several, again]:
            await s.close()
        return secrets

    secrets = run_async(go)
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 32


def test_a_lead_is_one_lead_and_its_rows_are_claimed_once(settings):
    async def go():
        a, b = stores(settings, 2)
        await a.start()
        await b.start()
        ids = await asyncio.gather(*(s.add_lead({**LEAD, "email": f"x{i}@example.com"}, [("webhook", "h"), ("email", "e")],
                                                100.0) for i, s in enumerate([a, b] * 10)))  # fmt: skip
        same = await b.add_lead({**LEAD, "email": "X0@example.com"}, [("webhook", "h")], 101.0)  # case differs
        claims = await asyncio.gather(*(s.claim_due(200.0, 60.0, limit=7) for s in [a, b, a, b, a, b]))
        later = await a.claim_due(230.0, 60.0)  # leases still held
        expired = await b.claim_due(261.0, 60.0, limit=100)  # the replica holding them died: back they come
        await a.delivered(expired[0].id)
        await a.failed(expired[1].id, "boom", None)
        counts = await b.outbox_counts()
        for s in (a, b):
            await s.close()
        return ids, same, claims, later, expired, counts

    ids, same, claims, later, expired, counts = run_async(go)
    assert all(created for _, created in ids) and same == (ids[0][0], False)
    claimed = [d.id for batch in claims for d in batch]
    assert len(claimed) == len(set(claimed)) == 40  # every row once, whoever asked
    assert later == [] and len(expired) == 40
    assert counts == {"pending": 38, "delivered": 1, "dead": 1}


def test_the_spend_cap_is_one_cap_for_every_replica(settings):
    async def go():
        several = stores(settings, 3)
        for s in several:
            await s.start()
        # 2**-7 USD a call: sums of it are exact in binary, so the count below is exact too
        granted = await asyncio.gather(*(several[i % 3].reserve("2026-12-02", 2**-7, 0.5) for i in range(200)))
        for s in several:
            await s.settle("2026-12-02", 2**-7, 2**-9, 10, 10)
        spend = await several[0].spend("2026-12-02")
        for s in several:
            await s.close()
        return granted, spend

    granted, spend = run_async(go)
    assert granted.count(True) == 64  # 0.5 / 2**-7, exactly, whatever the interleaving
    assert spend["reserved"] == 61 * 2**-7 and spend["spent"] == 3 * 2**-9


def test_outcomes_are_one_row_per_visit_and_retention_keeps_pending_leads(settings):
    beacon = OutcomeBeacon(visitor="v1", session="v1:1", arm="treatment", eligible=True, intervened=True,
                           converted=False, trigger="cart_exit", phase=1)  # fmt: skip

    async def go():
        a, b = stores(settings, 2)
        await a.start()
        await b.start()
        await a.upsert_outcome(beacon, 10.0)
        await b.upsert_outcome(replace(beacon, converted=True, value=30.0), 11.0)
        rows = await a.outcomes()
        old, _ = await a.add_lead(LEAD, [("webhook", "h")], 1.0)
        (delivery,) = await a.claim_due(2.0, 60.0)
        await a.delivered(delivery.id)
        waiting, _ = await a.add_lead({**LEAD, "email": "w@example.com"}, [("webhook", "h")], 1.0)
        purged = await b.purge_older(5.0, 10.5)
        left = {d["lead_id"] for d in await b.deliveries()}
        after = await a.outcomes()
        for s in (a, b):
            await s.close()
        return rows, old, waiting, purged, left, after

    rows, old, waiting, purged, left, after = run_async(go)
    assert len(rows) == 1 and rows[0]["converted"] == 1 and rows[0]["value"] == 30.0
    assert purged == (1, 0) and left == {waiting} and len(after) == 1


def test_a_postgres_that_is_away_is_backend_down_and_comes_back(postgres):
    relay = Relay("postgresql://127.0.0.1:5432")
    url = relay.url(postgres.url)

    async def go():
        store = open_store(load_config(None, env={}, database_url=url))
        await store.start()
        await store.set_meta("k", 1)
        relay.cut()
        started = time.monotonic()
        with pytest.raises(BackendDown):
            await store.get_meta("k")
        refused_in = time.monotonic() - started
        relay.restore()
        value = None
        for _ in range(50):  # the pool reconnects by itself
            try:
                value = await store.get_meta("k")
                break
            except BackendDown:
                await asyncio.sleep(0.1)
        await store.close()
        return refused_in, value

    try:
        refused_in, value = run_async(go)
    finally:
        relay.close()
    assert refused_in < 5 and value == 1


def test_a_sqlite_file_locked_by_another_process_never_blocks_the_loop(tmp_path):
    config = load_config(None, env={}, data_dir=tmp_path / "data")

    async def go():
        store = open_store(config)
        await store.start()
        other = sqlite3.connect(tmp_path / "data" / "tactful.sqlite3", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock...
        release = threading.Timer(1.5, other.rollback)  # ...for a second and a half
        release.start()
        ticks = 0

        async def heartbeat():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        started = time.monotonic()
        await store.upsert_outcome(OutcomeBeacon(visitor="v", session="s", arm="holdout", eligible=False,
                                                 intervened=False, converted=False), 1.0)  # fmt: skip
        waited = time.monotonic() - started
        beat.cancel()
        other.close()
        rows = await store.outcomes()
        await store.close()
        return waited, ticks, rows

    waited, ticks, rows = run_async(go)
    assert waited >= 1.0 and len(rows) == 1  # it waited for the lock, then wrote
    assert ticks >= waited / 0.05 * 0.7  # and the event loop kept ticking all along


TABLES = ("leads", "outbox", "outcomes", "spend", "meta", "conversions", "said", "refusals")


def test_the_inventory_names_every_column_the_stores_keep(settings, tmp_path):
    from tactful.core import SERVER_RECORDS

    listed = {record["record"]: set(record["fields"]) for record in SERVER_RECORDS}

    async def go():
        store = open_store(load_config(None, env={}, **settings))
        await store.start()
        try:
            if store.name == "sqlite":
                return {table: {row[1] for row in store.db.execute(f"PRAGMA table_info({table})")}
                        for table in TABLES}  # fmt: skip
            rows = await store._fetchall(  # noqa: SLF001 - the schema itself, as PostgreSQL reports it
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")
            columns: dict[str, set[str]] = {}
            for table, column in rows:
                columns.setdefault(table, set()).add(column)
            return {t: c for t, c in columns.items() if t != "tactful_schema"}
        finally:
            await store.close()

    assert run_async(go) == {table: listed[table] for table in TABLES}


def test_the_inventorys_retention_defaults_are_the_proxys():
    from tactful.core import inventory
    from tactful.proxy import ProxyConfig

    kept = {r["record"]: r["retention"] for r in inventory()["server_records"]}
    assert kept["leads"] == f"{ProxyConfig().lead_retention_days:g} days (lead_retention_days)"
    assert kept["outcomes"] == f"{ProxyConfig().outcome_retention_days:g} days (outcome_retention_days)"
