"""The outbox on its own, pass by pass: a real SQLite store, real receivers on loopback, and a clock the
test turns, so the retry schedule, the dead-letter instant and the signed request can be read exactly.

The proxy tests (test_leads, test_delivery) show the same outbox working inside a running proxy; here
each pass is one ``deliver_due()`` the test calls, at an instant the test chose.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
from email import message_from_string

import httpx
import pytest
from loopback import free_port, run_async
from proxy_helpers import serve_inbox

from tactful.core import OutcomeBeacon
from tactful.proxy import BackendDown, Metrics, Outbox, ascii_address, load_config, open_store

T0 = 1_800_000_000.0
OUTCOME = OutcomeBeacon(visitor="v1", session="v1:1", arm="treatment", eligible=True, intervened=True, converted=False,
                        trigger="pricing_hesitation", phase=1)  # fmt: skip
LEAD = {"email": "ada@example.com", "trigger": "pricing_hesitation", "page_kind": "pricing", "session": "v1:1"}


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def with_outbox(tmp_path, targets, work, clock=None, kind=Outbox, **overrides):
    """``await work(outbox, store, clock)`` with one lead stored for ``targets`` at the clock's time;
    the outbox is a ``kind`` (a subclass with other timeouts, say)."""
    clock = clock or Clock()
    config = load_config(None, env={"TACTFUL_WEBHOOK_SECRET": "hook-secret"}, data_dir=tmp_path / "data",
                         port=free_port(), **overrides)  # fmt: skip

    async def run():
        store = open_store(config)
        await store.start()
        outbox = kind(store, Metrics(), config, clock=clock)
        try:
            await store.add_lead(LEAD, targets, clock())
            return await work(outbox, store, clock)
        finally:
            await outbox.stop()
            await store.close()

    return run_async(run)


async def attempts_until_settled(outbox, store, clock, step=1.0, limit=10_000):
    """Pass after pass, ``step`` seconds apart, until no row is pending: the instants the one row was
    tried at (seconds after the lead) and its final state."""
    tried = []
    for _ in range(limit):
        before = (await store.deliveries())[0]["attempts"]
        await outbox.deliver_due()
        (row,) = await store.deliveries()
        if row["attempts"] > before:
            tried.append(clock.now - T0)
        if row["state"] != "pending":
            return tried, row
        clock.now += step
    raise AssertionError("still pending")


def test_retries_double_up_to_the_cap_and_the_row_dies_past_the_window(tmp_path, receiver, caplog):
    receiver.failing = True

    async def work(outbox, store, clock):
        tried, row = await attempts_until_settled(outbox, store, clock)
        return tried, row, outbox.metrics

    # backoff 2 s doubling (2, 4, 8) to a cap of 16 s; the window closes exactly at the ninth try
    # (94 s): a try whose next wait would end past it is the last.
    with caplog.at_level(logging.ERROR, logger="tactful.proxy"):
        tried, row, metrics = with_outbox(tmp_path, [("webhook", receiver.url)], work, backoff=2.0, max_backoff=16.0,
                                          retry_for=94.0)  # fmt: skip
    assert tried == [0, 2, 6, 14, 30, 46, 62, 78, 94]
    assert row["state"] == "dead" and row["attempts"] == 9
    assert row["last_error"] == "DeliveryRefused: webhook answered HTTP 503"
    assert len(receiver.requests) == 9
    assert metrics.value("tactful_leads_retries_total", target="webhook") == 8
    assert metrics.value("tactful_leads_dead_total", target="webhook") == 1
    assert metrics.value("tactful_leads_delivered_total", target="webhook") == 0
    (record,) = [r for r in caplog.records if "dead letter" in r.getMessage()]
    assert record.getMessage() == (f"lead {row['lead_id']} to webhook is a dead letter after 9 attempts over 94 s: "
                                   "DeliveryRefused: webhook answered HTTP 503")  # fmt: skip


def test_a_retried_dead_letter_gets_a_fresh_window(tmp_path, receiver):
    receiver.failing = True

    async def work(outbox, store, clock):
        first, _ = await attempts_until_settled(outbox, store, clock)
        clock.now += 1000  # `tactful leads retry`, long after the lead was left
        assert await store.retry_dead(clock()) == 1
        start = clock.now - T0
        again, row = await attempts_until_settled(outbox, store, clock)
        return first, [t - start for t in again], row

    first, again, row = with_outbox(tmp_path, [("webhook", receiver.url)], work, backoff=2.0, max_backoff=4.0,
                                    retry_for=10.0)  # fmt: skip
    assert first == [0, 2, 6, 10] and again == [0, 2, 6, 10]  # measured from the retry, not from the lead
    assert row["state"] == "dead"


def test_a_success_is_delivered_once_and_counted(tmp_path, receiver):
    receiver.status = 204  # any 2xx is a success

    async def work(outbox, store, clock):
        first = await outbox.deliver_due()
        second = await outbox.deliver_due()
        return first, second, await store.deliveries(), outbox.metrics

    first, second, (row,), metrics = with_outbox(tmp_path, [("webhook", receiver.url)], work)
    assert (first, second) == (1, 0)
    assert row["state"] == "delivered" and row["attempts"] == 1 and len(receiver.requests) == 1
    assert metrics.value("tactful_leads_delivered_total", target="webhook") == 1
    assert metrics.value("tactful_leads_retries_total", target="webhook") == 0


def test_a_redirect_is_not_a_delivery(tmp_path, receiver):
    receiver.status = 300  # never followed: the lead would go where nobody signed up for it

    async def work(outbox, store, clock):
        return await outbox.deliver_due(), await store.deliveries()

    delivered, (row,) = with_outbox(tmp_path, [("webhook", receiver.url)], work, backoff=5.0)
    assert delivered == 0 and row["state"] == "pending" and row["next_attempt"] == T0 + 5.0
    assert row["last_error"] == "DeliveryRefused: webhook answered HTTP 300"


def test_the_webhook_is_signed_over_timestamp_and_body(tmp_path, receiver):
    async def work(outbox, store, clock):
        clock.now = T0 + 0.75  # the timestamp is whole seconds
        await outbox.deliver_due()
        return (await store.deliveries())[0]["lead_id"]

    lead_id = with_outbox(tmp_path, [("webhook", receiver.url)], work)
    (request,) = receiver.requests
    assert request["type"] == "application/json" and request["key"] == lead_id
    assert request["ts"] == str(int(T0))
    # What a receiver checks, written out here rather than with the proxy's own function.
    expected = "sha256=" + hmac.new(b"hook-secret", f"{int(T0)}.".encode() + request["raw"], hashlib.sha256).hexdigest()
    assert request["sig"] == expected
    body = json.loads(request["raw"])
    assert body == {"type": "lead", "id": lead_id, "email": "ada@example.com", "trigger": "pricing_hesitation",
                    "page_kind": "pricing", "created": T0, "locale": None}  # fmt: skip
    assert request["raw"] == json.dumps(body, sort_keys=True).encode()  # keys in order: the same lead, the same bytes


def test_an_unreachable_webhook_is_retried_with_the_reason(tmp_path):
    async def work(outbox, store, clock):
        return await outbox.deliver_due(), await store.deliveries()

    delivered, (row,) = with_outbox(tmp_path, [("webhook", f"http://127.0.0.1:{free_port()}/hook")], work, backoff=3.0)
    assert delivered == 0 and row["state"] == "pending" and row["attempts"] == 1
    assert row["next_attempt"] == T0 + 3.0 and row["last_error"].startswith("ConnectError")


@pytest.mark.parametrize(("refusal", "state"), [("554 5.7.1 refused by policy", "dead"),
                                                ("451 4.3.0 try again later", "pending"),
                                                ("500 5.0.0 this mail server does not like it", "dead"),
                                                ("599 5.9.9 the last permanent code", "dead")])  # fmt: skip
def test_a_mail_server_refusal_is_permanent_only_when_it_says_so(tmp_path, smtp, refusal, state):
    smtp.refuse = ("ada@",)
    smtp.refusal = refusal

    async def work(outbox, store, clock):
        await outbox.deliver_due()
        return await store.deliveries()

    (row,) = with_outbox(tmp_path, [("email", "sales@shop.test")], work, smtp_host="127.0.0.1", smtp_port=smtp.port)
    assert row["state"] == state and row["attempts"] == 1 and refusal.split()[0] in row["last_error"]


def test_an_unknown_sales_inbox_is_a_dead_letter_at_once(tmp_path, smtp):
    smtp.unknown = ("nobody@shop.test",)

    async def work(outbox, store, clock):
        await outbox.deliver_due()
        return await store.deliveries()

    (row,) = with_outbox(tmp_path, [("email", "nobody@shop.test")], work, smtp_host="127.0.0.1", smtp_port=smtp.port)
    assert row["state"] == "dead" and "550" in row["last_error"] and smtp.messages == []


def test_the_sales_email_names_the_lead(tmp_path, smtp):
    async def work(outbox, store, clock):
        await outbox.deliver_due()
        return (await store.deliveries())[0]["lead_id"]

    lead_id = with_outbox(tmp_path, [("email", "sales@shop.test")], work, smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_from="leads@shop.test")  # fmt: skip
    ((rcpt, content),) = smtp.messages
    mail = message_from_string(content)
    assert rcpt == ["sales@shop.test"] and mail["From"] == "leads@shop.test" and mail["To"] == "sales@shop.test"
    assert mail["Subject"] == "New lead from pricing_hesitation: ada@example.com"
    assert mail["Message-ID"] == f"<{lead_id}@tactful>" and mail["Reply-To"] == "ada@example.com"
    assert mail.get_payload().splitlines() == ["A visitor asked to hear from you.", "", "Email: ada@example.com",
                                               "Trigger: pricing_hesitation", "Page: pricing", f"Lead id: {lead_id}"]  # fmt: skip
    # (a lead that came with the page's language names it: tests/proxy/test_leads.py)


def test_addresses_a_header_can_carry():
    assert ascii_address("ada@example.com") == "ada@example.com"
    assert ascii_address("ada@bücher.example") == "ada@xn--bcher-kva.example"  # IDNA, never an encoded word
    assert ascii_address("jürgen@example.com") is None  # needs SMTPUTF8 end to end
    assert ascii_address("ada@" + "x" * 64 + ".example") is None  # a label IDNA cannot carry
    assert ascii_address('"a@b"@bücher.example') == '"a@b"@xn--bcher-kva.example'  # the last @ splits


def test_retention_purges_from_the_first_second_past_it_and_counts(tmp_path, receiver, caplog):
    async def work(outbox, store, clock):
        for name in ("bea", "cy"):
            await store.add_lead({**LEAD, "email": f"{name}@example.com"}, [("webhook", receiver.url)], clock())
        await store.upsert_outcome(OUTCOME, clock())
        await outbox.deliver_due()
        clock.now = T0 + 2.5 * 86400
        at_the_edge = await outbox.purge()
        clock.now += 1
        leads = await outbox.purge()
        clock.now = T0 + 3 * 86400 + 1
        outcomes = await outbox.purge()
        return at_the_edge, leads, outcomes, await outbox.purge(), outbox.metrics

    with caplog.at_level(logging.INFO, logger="tactful.proxy"):
        at_the_edge, leads, outcomes, again, metrics = with_outbox(
            tmp_path, [("webhook", receiver.url)], work, lead_retention_days=2.5, outcome_retention_days=3
        )
    assert (at_the_edge, leads, outcomes, again) == ((0, 0), (3, 0), (0, 1), (0, 0))
    assert metrics.value("tactful_purged_total", record="lead") == 3
    assert metrics.value("tactful_purged_total", record="outcome") == 1
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention")]
    assert logged == ["retention: purged 3 leads and 0 outcomes", "retention: purged 0 leads and 1 outcomes"]


def test_a_lead_inside_its_retention_is_kept(tmp_path, receiver):
    async def work(outbox, store, clock):
        await outbox.deliver_due()
        clock.now += 2 * 86400
        return await outbox.purge(), await store.deliveries()

    purged, rows = with_outbox(tmp_path, [("webhook", receiver.url)], work, lead_retention_days=2.5)
    assert purged == (0, 0) and len(rows) == 1


class WatchedStore:
    """The configured (SQLite) store, noting each pass (a claim) and each retention run, and failing the
    passes named in ``failures`` (an exception per pass number) as a store that is away would."""

    def __init__(self, store, failures=None):
        self.store = store
        self.claims: list[float] = []
        self.purges: list[float] = []
        self.failures = failures or {}

    def __getattr__(self, name):
        return getattr(self.store, name)

    async def claim_due(self, now, lease, limit=20):
        self.claims.append(now)
        if len(self.claims) in self.failures:
            raise self.failures[len(self.claims)]
        return await self.store.claim_due(now, lease, limit)

    async def purge_older(self, leads_before, outcomes_before):
        self.purges.append(leads_before)
        return await self.store.purge_older(leads_before, outcomes_before)


def running_outbox(tmp_path, work, failures=None):
    """``await work(outbox, store, clock, passes)`` with the outbox's own loop running; ``passes(n)``
    returns once the loop has begun its n-th pass (so every earlier pass is over)."""
    clock = Clock()
    config = load_config(None, env={}, data_dir=tmp_path / "data", port=free_port(), lead_retention_days=1)

    async def run():
        store = WatchedStore(open_store(config), failures)
        await store.start()
        outbox = Outbox(store, Metrics(), config, clock=clock)
        outbox.idle = 3600.0  # no pass comes by itself: each one here is nudged

        async def passes(n):
            for _ in range(2000):
                if len(store.claims) >= n:
                    return
                outbox.nudge()  # as the proxy does when a lead is stored
                await asyncio.sleep(0.005)
            raise AssertionError(f"the outbox loop did not reach pass {n}")

        outbox.start()
        try:
            return await work(outbox, store, clock, passes)
        finally:
            await outbox.stop()
            await store.close()

    return run_async(run)


def test_retention_runs_on_the_first_pass_then_hourly(tmp_path):
    async def work(outbox, store, clock, passes):
        await passes(2)
        first = list(store.purges)
        clock.now += 3599  # passes go on every second (or when nudged); retention waits an hour
        await passes(len(store.claims) + 2)
        within = list(store.purges)
        clock.now += 1  # the hour is up
        await passes(len(store.claims) + 2)
        return first, within, store.purges

    first, within, after = running_outbox(tmp_path, work)
    assert first == [T0 - 86400] and within == first
    assert after == [T0 - 86400, T0 + 3600 - 86400]


def test_the_loop_outlives_a_store_that_is_away_and_a_pass_that_fails(tmp_path, receiver, caplog):
    failures = {1: BackendDown("database is locked"), 2: RuntimeError("a driver bug")}

    async def work(outbox, store, clock, passes):
        await store.add_lead(LEAD, [("webhook", receiver.url)], clock())
        await passes(4)
        return await store.deliveries()

    with caplog.at_level(logging.WARNING, logger="tactful.proxy"):
        (row,) = running_outbox(tmp_path, work, failures)
    assert row["state"] == "delivered" and len(receiver.requests) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert "outbox pass skipped: database is locked" in messages and "outbox pass failed" in messages


def test_a_nudge_before_the_loop_starts_is_harmless(tmp_path):
    async def work(outbox, store, clock):
        outbox.nudge()  # a lead stored while the proxy is still starting
        return await outbox.deliver_due()

    assert with_outbox(tmp_path, [], work) == 0


class Quick(Outbox):
    http_timeout = httpx.Timeout(0.3)
    smtp_timeout = 0.3


def test_a_webhook_that_hangs_is_a_failed_try(tmp_path, receiver):
    receiver.hang_first = 2.0

    async def work(outbox, store, clock):
        return await outbox.deliver_due(), await store.deliveries()

    delivered, (row,) = with_outbox(tmp_path, [("webhook", receiver.url)], work, kind=Quick, backoff=7.0)
    assert delivered == 0 and row["state"] == "pending" and row["next_attempt"] == T0 + 7.0
    assert row["last_error"].startswith("ReadTimeout")


def test_a_mail_server_that_never_greets_is_a_failed_try(tmp_path):
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()

        async def work(outbox, store, clock):
            await outbox.deliver_due()
            return await store.deliveries()

        (row,) = with_outbox(tmp_path, [("email", "sales@shop.test")], work, kind=Quick, smtp_host="127.0.0.1",
                             smtp_port=silent.getsockname()[1], backoff=7.0)  # fmt: skip
    assert row["state"] == "pending" and row["next_attempt"] == T0 + 7.0 and "timed out" in row["last_error"]


@pytest.fixture()
def ascii_smtp():
    """An SMTP inbox that does not offer SMTPUTF8 (many do not)."""
    yield from serve_inbox(enable_SMTPUTF8=False)


def test_an_inbox_the_mail_server_cannot_address_is_a_dead_letter_at_once(tmp_path, ascii_smtp):
    # The sales inbox has an internationalised address, which needs SMTPUTF8.
    async def work(outbox, store, clock):
        await outbox.deliver_due()
        return await store.deliveries()

    (row,) = with_outbox(tmp_path, [("email", "équipe@shop.test")], work, smtp_host="127.0.0.1",
                         smtp_port=ascii_smtp.port)  # fmt: skip
    assert row["state"] == "dead" and row["attempts"] == 1 and ascii_smtp.messages == []
    assert row["last_error"].startswith("DeliveryRefused: the mail server cannot carry this lead: ")
