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


def test_every_small_record_reads_back_exactly(settings):
    """Each of the store's small records, written and read back through the contract, value for value."""

    async def go():
        (s,) = stores(settings, 1)
        await s.start()
        seen = {"meta_missing": await s.get_meta("synthetic", {"none": True}), "meta_none": await s.get_meta("x")}
        await s.set_meta("synthetic", {"visits": 3, "seed": "a"})
        await s.set_meta("synthetic", {"visits": 4, "seed": "b"})  # replaced, not added
        seen["meta"] = await s.get_meta("synthetic")
        for at, visitor, kind in ((1.0, "v1", "card"), (2.0, "v1", "reply"), (3.0, "v2", "card")):
            await s.add_said({"at": at, "visitor": visitor, "trigger": "cart_exit", "variant": None, "kind": kind,
                              "source": "model", "text": f"words {at:g}"})  # fmt: skip
        seen["said"] = await s.said()
        seen["said_1"] = await s.said(limit=1)
        seen["served"] = [await s.served(v, t) for v, t in (("v1", "cart_exit"), ("v2", "cart_exit"), ("v3", "cart_exit"),
                                                              ("v1", "other"))]  # fmt: skip
        for day, reason in (("2026-12-01", "token"), ("2026-12-01", "token"), ("2026-12-02", "token"), ("2026-12-02", "origin")):
            await s.count_refusal(day, reason)
        seen["refusals"] = await s.refusals()
        order = {"order_id": "o-2", "visitor": "v1", "value": 30.0, "at": 20.0, "code": "SAVE10", "discount": 3.0,
                 "received": 21.0, "currency": "EUR"}  # fmt: skip
        seen["added"] = [await s.add_conversion(order), await s.add_conversion({**order, "value": 99.0}),
                         await s.add_conversion({**order, "order_id": "o-1", "at": 10.0, "code": None, "discount": None})]  # fmt: skip
        seen["conversions"] = await s.conversions()
        seen["spend_empty"], seen["total_empty"] = await s.spend("2026-12-01"), await s.spend_total()
        seen["reserved"] = [await s.reserve("2026-12-01", 0.25, 1.0), await s.reserve("2026-12-01", 0.75, 1.0),
                            await s.reserve("2026-12-01", 0.125, 1.0), await s.reserve("2026-12-02", 0.5, 1.0)]  # fmt: skip
        await s.settle("2026-12-01", 0.25, 0.125, 100, 20)
        await s.settle("2026-12-01", 0.75, 0.5, 300, 60, calls=2)
        await s.settle("2026-12-02", 1.0, 0.25, 10, 1)  # more than was reserved: reserved stops at 0
        seen["spend"] = [await s.spend("2026-12-01"), await s.spend("2026-12-02")]
        seen["total"] = await s.spend_total()
        await s.close()
        return seen

    seen = run_async(go)
    assert (seen["meta_missing"], seen["meta_none"], seen["meta"]) == ({"none": True}, None, {"visits": 4, "seed": "b"})
    assert [(r["at"], r["visitor"], r["kind"], r["text"]) for r in seen["said"]] == [
        (3.0, "v2", "card", "words 3"), (2.0, "v1", "reply", "words 2"), (1.0, "v1", "card", "words 1")]  # newest first
    assert seen["said"][0] == {"at": 3.0, "visitor": "v2", "trigger": "cart_exit", "variant": None, "kind": "card",
                               "source": "model", "text": "words 3"}  # fmt: skip
    assert [r["at"] for r in seen["said_1"]] == [3.0]
    assert seen["served"] == [True, True, False, False]
    assert seen["refusals"] == {"token": 3, "origin": 1}
    assert seen["added"] == [True, False, True]  # an order counts once, whatever is sent again
    assert seen["conversions"] == [
        {"order_id": "o-1", "visitor": "v1", "value": 30.0, "at": 10.0, "code": None, "discount": None, "received": 21.0,
         "currency": "EUR"},
        {"order_id": "o-2", "visitor": "v1", "value": 30.0, "at": 20.0, "code": "SAVE10", "discount": 3.0, "received": 21.0,
         "currency": "EUR"}]  # fmt: skip
    assert seen["spend_empty"] == {"spent": 0, "reserved": 0, "calls": 0, "input_tokens": 0, "output_tokens": 0}
    assert seen["total_empty"] == {"spent": 0.0, "calls": 0}
    assert seen["reserved"] == [True, True, False, True]  # 0.25 + 0.75 fills the cap of 1 exactly; 0.125 more does not fit
    assert seen["spend"] == [{"spent": 0.625, "reserved": 0.0, "calls": 3, "input_tokens": 400, "output_tokens": 80},
                             {"spent": 0.25, "reserved": 0.0, "calls": 1, "input_tokens": 10, "output_tokens": 1}]  # fmt: skip
    assert seen["total"] == {"spent": 0.875, "calls": 4} and type(seen["total"]["spent"]) is float


def test_the_outbox_by_state_and_leads_by_time_and_visit(settings):
    async def go():
        (s,) = stores(settings, 1)
        await s.start()
        seen = {"counts_empty": await s.outbox_counts(), "none": await s.lead_id("ada@example.com", "longform_lead")}
        first, new = await s.add_lead(LEAD, [("webhook", "https://crm.example/in"), ("email", "sales@shop.example")], 10.0)
        again, new_again = await s.add_lead({**LEAD, "email": "ADA@example.com"}, [("webhook", "x")], 11.0)
        other, _ = await s.add_lead({**LEAD, "email": "bob@example.com", "session": "s2"}, [("webhook", "h")], 20.0)
        seen["ids"] = (first, new, again, new_again, await s.lead_id("Ada@Example.com", "longform_lead"))
        seen["since"] = [await s.leads_since(10.0), await s.leads_since(10.5), await s.leads_since(0.0, "s1"),
                         await s.leads_since(0.0, "s2"), await s.leads_since(20.5), await s.leads_since(0.0, "s9")]  # fmt: skip
        hook, mail, third = sorted(await s.claim_due(30.0, 60.0), key=lambda d: d.id)
        await s.delivered(hook.id)
        await s.failed(mail.id, "550 no such user " + "x" * 600, None)
        await s.failed(third.id, "timed out", 90.0)
        seen["counts"] = await s.outbox_counts()
        seen["dead"] = await s.deliveries("dead")
        seen["pending"] = await s.deliveries("pending")
        seen["all"] = [(d["id"], d["state"], d["attempts"]) for d in await s.deliveries()]
        seen["retried"] = await s.retry_dead(100.0)
        seen["after_retry"] = await s.deliveries("pending")
        await s.failed(mail.id, "550 again", None)
        seen["purged"] = await s.purge_dead()
        seen["final"] = await s.outbox_counts()
        await s.close()
        return seen, first, other, (hook, mail, third)

    seen, first, other, (hook, mail, third) = run_async(go)
    assert seen["counts_empty"] == {} and seen["none"] is None
    assert seen["ids"] == (first, True, first, False, first)  # one lead per address (any case) and trigger
    assert seen["since"] == [2, 1, 1, 1, 0, 0]
    assert [(d.lead_id, d.target) for d in (hook, mail, third)] == [
        (first, "webhook"), (first, "email"), (other, "webhook")]  # fmt: skip
    assert seen["counts"] == {"delivered": 1, "dead": 1, "pending": 1}
    (dead,) = seen["dead"]
    assert (dead["id"], dead["lead_id"], dead["target"], dead["address"], dead["attempts"], dead["state"]) == (
        mail.id, first, "email", "sales@shop.example", 1, "dead")
    assert dead["last_error"] == ("550 no such user " + "x" * 600)[:500] and (dead["email"], dead["trigger"], dead["created"]) == (
        "ada@example.com", "longform_lead", 10.0)  # fmt: skip
    (pending,) = seen["pending"]
    assert (pending["id"], pending["attempts"], pending["next_attempt"], pending["last_error"]) == (third.id, 1, 90.0, "timed out")
    assert seen["all"] == [(hook.id, "delivered", 1), (mail.id, "dead", 1), (third.id, "pending", 1)]
    assert seen["retried"] == 1
    assert [(d["id"], d["attempts"], d["next_attempt"]) for d in seen["after_retry"]] == [(mail.id, 0, 100.0), (third.id, 1, 90.0)]
    assert seen["purged"] == 1 and seen["final"] == {"delivered": 1, "pending": 1}


def test_bounded_reads_and_one_secret_per_name(settings):
    async def go():
        (s,) = stores(settings, 1)
        await s.start()
        for i in range(21):
            await s.add_lead({**LEAD, "email": f"p{i}@example.com"}, [("webhook", "h")], float(i))
        claimed = await s.claim_due(100.0, 60.0)
        rest = await s.claim_due(100.0, 60.0)  # the first 20 are leased: the 21st is left
        for i in range(201):
            await s.add_said({"at": float(i), "visitor": "v", "trigger": "t", "variant": None, "kind": "card",
                              "source": "template", "text": None})  # fmt: skip
        said = await s.said()
        await s.failed(rest[0].id, "E" * 700, 200.0)  # a retry keeps the error's first 500 characters too
        (waiting,) = [d for d in await s.deliveries("pending") if d["id"] == rest[0].id]
        secrets = [await s.secret("token"), await s.secret("beacon"), await s.secret("token")]
        await s.close()
        return claimed, rest, said, waiting, secrets

    claimed, rest, said, waiting, secrets = run_async(go)
    assert [d.retry_from for d in claimed] == [float(i) for i in range(20)] and [d.retry_from for d in rest] == [20.0]
    assert len(said) == 200 and said[0]["at"] == 200.0 and said[-1]["at"] == 1.0  # the newest 200
    assert waiting["last_error"] == "E" * 500 and waiting["next_attempt"] == 200.0
    assert secrets[0] == secrets[2] != secrets[1] and len(secrets[1]) >= 32


def test_a_store_used_before_it_starts_is_backend_down(tmp_path):
    store = open_store(load_config(None, env={}, data_dir=tmp_path / "data"))
    with pytest.raises(BackendDown, match="^the store is not started$"):
        run_async(lambda: store.outcomes())
    run_async(store.close)


def test_a_new_sqlite_file_locked_at_start_is_waited_for(tmp_path):
    """Switching a new file to WAL needs the lock that another process starting at once may hold.

    A writer part way through a transaction makes the switch fail at once ("database is locked"),
    without SQLite's busy handler: the store tries again until the writer is done.
    """
    path = tmp_path / "data" / "tactful.sqlite3"
    path.parent.mkdir(mode=0o700)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE held (x)")  # the file exists and another process is writing it
    release = threading.Timer(0.3, other.commit)
    release.start()
    config = load_config(None, env={}, data_dir=tmp_path / "data")

    async def go():
        store = open_store(config)
        await store.start()
        mode = await store._call(lambda: store.db.execute("PRAGMA journal_mode").fetchone()[0])  # noqa: SLF001
        await store.close()
        return mode

    assert run_async(go) == "wal"
    release.join()
    other.close()


def test_a_new_sqlite_file_locked_past_the_busy_timeout_is_backend_down(tmp_path):
    """A writer that never finishes: the store gives up after its busy timeout (5 s), with a reason."""
    path = tmp_path / "data" / "tactful.sqlite3"
    path.parent.mkdir(mode=0o700)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE held (x)")
    store = open_store(load_config(None, env={}, data_dir=tmp_path / "data"))
    started = time.monotonic()
    with pytest.raises(BackendDown, match="^the SQLite store cannot answer: database is locked$"):
        run_async(store.start)
    waited = time.monotonic() - started
    run_async(store.close)
    other.rollback()
    other.close()
    assert waited >= 4.9  # it kept trying for the whole timeout, not once


def test_a_closed_store_is_backend_down_and_closes_twice(settings):
    """Calls that race a shutdown get the store's own 503, not a thread pool's RuntimeError."""

    async def go():
        (s,) = stores(settings, 1)
        await s.start()
        await s.close()
        with pytest.raises(BackendDown, match="closed"):
            await s.outcomes()
        await s.close()

    run_async(go)


def test_a_closed_sqlite_store_lets_go_of_its_file(tmp_path):
    path = tmp_path / "data" / "tactful.sqlite3"
    store = open_store(load_config(None, env={}, data_dir=tmp_path / "data"))
    run_async(store.start)
    run_async(lambda: store.upsert_outcome(OutcomeBeacon(visitor="v", session="s", arm="holdout", eligible=False,
                                                         intervened=False, converted=False), 1.0))  # fmt: skip
    assert path.with_name("tactful.sqlite3-wal").exists()
    run_async(store.close)
    assert not path.with_name("tactful.sqlite3-wal").exists()  # the last connection closed: WAL checkpointed away


def test_synthetic_outcomes_are_replaced_whole_and_real_ones_kept(settings):
    real = OutcomeBeacon(visitor="v1", session="v1:1", arm="treatment", eligible=True, intervened=True,
                         converted=True, value=12.0, trigger="cart_exit", phase=1)  # fmt: skip
    fake = [replace(real, visitor=f"s{i}", session=f"s{i}:1", converted=False, value=0.0) for i in range(3)]

    async def go():
        (s,) = stores(settings, 1)
        await s.start()
        await s.upsert_outcome(real, 5.0)
        await s.replace_synthetic(fake, {"visitors": 3}, 6.0)
        first = await s.outcomes()
        await s.replace_synthetic(fake[:1], {"visitors": 1}, 7.0)
        second = await s.outcomes()
        meta = await s.get_meta("synthetic")
        await s.close()
        return first, second, meta

    first, second, meta = run_async(go)
    assert sorted((r["visitor"], r["synthetic"], r["updated"]) for r in first) == [
        ("s0", 1, 6.0), ("s1", 1, 6.0), ("s2", 1, 6.0), ("v1", 0, 5.0)]  # fmt: skip
    assert sorted((r["visitor"], r["synthetic"], r["updated"]) for r in second) == [("s0", 1, 7.0), ("v1", 0, 5.0)]
    assert meta == {"visitors": 1}


SCHEMA_STEPS = 12  # the SQLite schema's versioned steps so far: a new step raises this on purpose


def test_a_sqlite_file_is_versioned_and_one_from_before_versions_is_adopted(tmp_path):
    config = load_config(None, env={}, data_dir=tmp_path / "data")
    path = tmp_path / "data" / "tactful.sqlite3"

    async def start_and_add(email):
        store = open_store(config)
        await store.start()
        await store.add_lead({**LEAD, "email": email}, [("webhook", "h")], 1.0)
        await store.close()

    def version():
        with sqlite3.connect(path) as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    run_async(lambda: start_and_add("a@example.com"))
    assert version() == SCHEMA_STEPS
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 0")  # a file from before versions: every column is there already
    run_async(lambda: start_and_add("b@example.com"))
    assert version() == SCHEMA_STEPS
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 3")  # a file three steps in: the rest run, none twice
        db.execute("ALTER TABLE outcomes DROP COLUMN variant")  # (a later step's column: not there yet)
    run_async(lambda: start_and_add("c@example.com"))
    with sqlite3.connect(path) as db:
        leads = db.execute("SELECT email FROM leads ORDER BY email").fetchall()
        columns = {row[1] for row in db.execute("PRAGMA table_info(outcomes)")}
    assert version() == SCHEMA_STEPS and leads == [("a@example.com",), ("b@example.com",), ("c@example.com",)]
    assert {"variant", "claimed_arm", "storage"} <= columns
