"""Lead delivery: an outbox worked by a background task, so a stored lead is never dropped.

A lead and one outbox row per follow-up target are written in one transaction
before the visitor gets a reply. The worker delivers each row — a webhook signed
with HMAC-SHA256 and carrying an ``Idempotency-Key`` (the lead id), or an email
to the sales inbox over SMTP with the lead id as ``Message-ID`` — and retries
with exponential backoff (``backoff`` doubling up to ``max_backoff``) for
``retry_for`` seconds (a day by default); then the row is a dead letter, with its
reason, counted in /metrics and logged; ``tactful leads retry`` puts dead letters
back. One row's failure is that row's alone: whatever a target or an address
does, the pass goes on to the next row. If the process dies mid-delivery, the
row is still pending and is delivered after restart (or by another replica once its
lease expires): at least once on the wire, exactly once by its idempotency key at the
receiver. Every replica works the outbox; a row is claimed with a lease before delivery,
so two replicas never deliver it at the same time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import time
from email.message import EmailMessage

import httpx

from ._metrics import Metrics
from ._store import BackendDown, Delivery, Store

log = logging.getLogger("tactful.proxy")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp + "." + body`` (what receivers verify)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Outbox:
    idle = 1.0  # seconds between two passes when nobody nudges (a new lead nudges at once)
    http_timeout = httpx.Timeout(5.0, connect=2.0)  # a webhook that hangs is a failed try, not a stuck pass
    smtp_timeout = 5.0  # likewise a mail server that does not answer

    def __init__(self, store: Store, metrics: Metrics, config, clock=time.time):
        self.store = store
        self.metrics = metrics
        self.config = config
        self.clock = clock
        self.client = httpx.AsyncClient(timeout=self.http_timeout)
        self.wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())

    def nudge(self) -> None:
        """Start a pass now rather than within the second (safe from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake.set)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.client.aclose()

    async def _run(self) -> None:
        next_purge = 0.0
        while True:
            try:
                await self.deliver_due()
                if self.clock() >= next_purge:
                    await self.purge()
                    next_purge = self.clock() + PURGE_EVERY
            except BackendDown as err:  # the store is away: rows stay pending (or leased) until it is back
                log.warning("outbox pass skipped: %s", err.reason)
            except Exception:  # the loop must survive anything a target does; the row stays pending
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.idle)
            except TimeoutError:
                pass
            self.wake.clear()

    async def deliver_due(self) -> int:
        """Claim the rows due now (a lease other replicas respect) and deliver them side by side."""
        claimed = await self.store.claim_due(self.clock(), self.config.lease)
        return sum(await asyncio.gather(*(self._one(delivery) for delivery in claimed)))

    async def _one(self, delivery: Delivery) -> int:
        try:
            await self._deliver(delivery)
        except Exception as exc:  # noqa: BLE001 - one row's failure, whatever it is, is that row's alone
            await self._failed(delivery, f"{type(exc).__name__}: {exc}", isinstance(exc, DeliveryRefused) and exc.permanent)
            return 0
        await self.store.delivered(delivery.id)
        self.metrics.inc("tactful_leads_delivered_total", target=delivery.target)
        return 1

    async def purge(self) -> tuple[int, int]:
        """Retention: leads and outcomes older than their configured days are deleted (a lead still
        waiting for delivery is kept until it is delivered or dead)."""
        now = self.clock()
        leads, outcomes = await self.store.purge_older(now - self.config.lead_retention_days * 86400,
                                                 now - self.config.outcome_retention_days * 86400)  # fmt: skip
        if leads or outcomes:
            self.metrics.inc("tactful_purged_total", leads, record="lead")
            self.metrics.inc("tactful_purged_total", outcomes, record="outcome")
            log.info("retention: purged %d leads and %d outcomes", leads, outcomes)
        return leads, outcomes

    async def _deliver(self, delivery: Delivery) -> None:
        if delivery.target == "webhook":
            await self._webhook(delivery)
        else:
            await asyncio.to_thread(self._email, delivery)

    async def _failed(self, delivery: Delivery, reason: str, permanent: bool) -> None:
        now, attempts = self.clock(), delivery.attempts + 1
        wait = min(self.config.backoff * 2 ** (attempts - 1), self.config.max_backoff)
        if permanent or now + wait - delivery.retry_from > self.config.retry_for:
            await self.store.failed(delivery.id, reason, None)
            self.metrics.inc("tactful_leads_dead_total", target=delivery.target)
            log.error("lead %s to %s is a dead letter after %d attempts over %.0f s: %s",
                      delivery.lead_id, delivery.target, attempts, now - delivery.retry_from, reason)  # fmt: skip
        else:
            await self.store.failed(delivery.id, reason, now + wait)
            self.metrics.inc("tactful_leads_retries_total", target=delivery.target)

    async def _webhook(self, delivery: Delivery) -> None:
        body = json.dumps({"type": "lead", **delivery.lead}, sort_keys=True).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "content-type": "application/json",
            "idempotency-key": delivery.lead_id,
            "x-tactful-timestamp": timestamp,
            "x-tactful-signature": sign(self.config.webhook_secret, timestamp, body),
        }
        response = await self.client.post(delivery.address, content=body, headers=headers)
        if response.status_code >= 300:
            raise DeliveryRefused(f"webhook answered HTTP {response.status_code}")

    def _email(self, delivery: Delivery) -> None:
        if not self.config.smtp_host:
            raise DeliveryRefused("no SMTP server configured (leads.smtp_host)")
        lead = delivery.lead
        message = EmailMessage()
        message["From"] = self.config.smtp_from
        message["To"] = delivery.address
        message["Subject"] = f"New lead from {lead['trigger']}: {lead['email']}"
        message["Message-ID"] = f"<{delivery.lead_id}@tactful>"
        reply_to = ascii_address(lead["email"])
        if reply_to:  # an address a mail header can carry as it is (never as encoded words)
            message["Reply-To"] = reply_to
        message.set_content(
            f"A visitor asked to hear from you.\n\nEmail: {lead['email']}\nTrigger: {lead['trigger']}\n"
            f"Page: {lead['page_kind']}\n" + (f"Language: {lead['locale']}\n" if lead["locale"] else "")
            + f"Lead id: {delivery.lead_id}\n"
        )
        with smtplib.SMTP(self.config.smtp_host, self.config.smtp_port, timeout=self.smtp_timeout) as smtp:
            try:
                smtp.send_message(message)
            except smtplib.SMTPNotSupportedError as err:  # e.g. an address that needs SMTPUTF8
                raise DeliveryRefused(f"the mail server cannot carry this lead: {err}", permanent=True) from err
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
                if isinstance(err, smtplib.SMTPRecipientsRefused):  # each refused recipient with its code (one at least)
                    code = min(c for c, _ in err.recipients.values())
                else:
                    code = err.smtp_code
                # 5xx is permanent (RFC 5321's reply codes end there); 4xx says try again later
                raise DeliveryRefused(f"the mail server refused it: {err}", permanent=code >= 500) from err


def ascii_address(email: str) -> str | None:
    """``email`` as plain ASCII (an internationalised domain in its IDNA form), or None when the local
    part itself is not ASCII (such an address needs SMTPUTF8 end to end; the body still names it)."""
    local, _, domain = email.rpartition("@")
    if not local.isascii():
        return None
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None


PURGE_EVERY = 3600.0  # seconds between two retention passes


class DeliveryRefused(Exception):
    """The target answered, but not with success; ``permanent`` when asking again cannot help."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent
