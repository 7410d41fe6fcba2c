"""Leads that always arrive: one bad lead blocks no other, an outage of hours loses nothing, dead
letters can be listed, retried and purged, and records older than their retention are deleted.

The proxy runs on loopback with a clock the test moves (hours pass in seconds); the receivers are
real: a webhook endpoint and an SMTP inbox.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace

import pytest
from golden import merge
from loopback import RunningProxy, free_port
from proxy_helpers import wait_for

from tactful.cli import main as tactful
from tactful.core import CONTENT_TYPE, LeadReply, OutcomeBeacon, Playbook, decode, encode
from tactful.proxy import load_config

LEAD = {"v": 1, "email": "ada@example.com", "trigger": "longform_lead", "page_kind": "article", "consent": True}
HOUR = 3600.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def start(tmp_path, demo_source, receiver=None, smtp=None, clock=None, **overrides):
    followup = {"email": "sales@demo-shop.test" if smtp or not receiver else "", "webhook": receiver.url if receiver else ""}
    playbook = Playbook.from_dict(merge(demo_source, {"followup": followup}))
    if smtp:
        overrides.update(smtp_host="127.0.0.1", smtp_port=smtp.port)
    config = load_config(None, env={}, data_dir=tmp_path / "data", port=free_port(), **overrides)
    return RunningProxy(config, playbook=playbook, clock=clock or Clock()).__enter__()


def post_lead(proxy, email: str) -> str:
    response = proxy.post("/v1/lead", {**LEAD, "email": email}, proxy.token())
    assert response.status_code == 200, response.text
    return decode(LeadReply, response.content).id


def rows(proxy, state=None):
    """The outbox as `tactful leads` sees it."""
    return proxy.call(proxy.proxy.store.deliveries(state))


def pass_until_idle(proxy, clock):
    """Nudge the outbox and wait until no delivery is due at the clock's time."""
    proxy.proxy.outbox.nudge()
    wait_for(lambda: not [r for r in rows(proxy, "pending") if r["next_attempt"] <= clock.now])


def test_a_poison_lead_blocks_no_other(tmp_path, demo_source, receiver, smtp, capsys):
    smtp.refuse = ("poison@",)  # the sales inbox's filter refuses this one lead, for good
    proxy = start(tmp_path, demo_source, receiver, smtp, backoff=0.05)
    try:
        # An RFC 2047 encoded word is not an address: refused at the wire with a reason.
        encoded = proxy.post("/v1/lead", {**LEAD, "email": "=?utf-8?q?=41?=@example.co"}, proxy.token())
        assert encoded.status_code == 400 and "email" in encoded.json()["error"]
        poison = post_lead(proxy, "poison@example.com")
        others = [post_lead(proxy, f"buyer{i}@example.com") for i in range(5)]
        international = post_lead(proxy, "jürgen@bücher.example")
        wait_for(lambda: len(smtp.messages) == 6 and len(receiver.delivered()) == 7)
        assert receiver.delivered() == {poison, *others, international}  # the webhook takes every lead
        (dead,) = rows(proxy, "dead")
        assert dead["lead_id"] == poison and dead["target"] == "email" and dead["attempts"] == 1
        assert "554" in dead["last_error"]  # refused for good: a dead letter at once, with the reason
        mails = "\n".join(content for _, content in smtp.messages)
        assert "Reply-To: buyer0@example.com" in mails
        assert "Reply-To: =?" not in mails  # never an encoded word where an address belongs

        data = ["--data-dir", str(proxy.proxy.config.data_dir)]
        assert tactful(["leads", "list", "--state", "dead", *data]) == 0
        listed = capsys.readouterr().out
        assert poison in listed and "poison@example.com" in listed and "554" in listed and "1 deliveries: 1 dead" in listed
        assert tactful(["leads", "retry", *data]) == 0
        assert "1 dead letters back in the queue" in capsys.readouterr().out
        proxy.proxy.outbox.nudge()
        wait_for(lambda: rows(proxy, "dead") and rows(proxy, "dead")[0]["attempts"] == 1 and not rows(proxy, "pending"))
        assert tactful(["leads", "purge", *data]) == 0
        assert "1 dead letters deleted" in capsys.readouterr().out
        assert rows(proxy, "dead") == [] and len(rows(proxy, "delivered")) == 13
    finally:
        proxy.__exit__(None, None, None)


def test_a_two_hour_outage_loses_no_lead(tmp_path, demo_source, receiver):
    clock = Clock()
    receiver.failing = True
    proxy = start(tmp_path, demo_source, receiver, clock=clock)  # default backoff: 2 s doubling to an hour
    try:
        before = [post_lead(proxy, f"early{i}@example.com") for i in range(3)]
        during = []
        for step in range(24):  # two hours in five-minute steps; a visitor leaves a lead every half hour
            clock.now += 5 * 60
            if step % 6 == 0:
                during.append(post_lead(proxy, f"during{step}@example.com"))
            pass_until_idle(proxy, clock)
        attempts = len(receiver.requests)
        assert receiver.delivered() == set() and attempts >= 3 * 10  # retried all along, with backoff
        assert rows(proxy, "dead") == []
        receiver.failing = False
        for _ in range(13):  # the receiver is back: within the longest backoff (an hour) all arrive
            clock.now += 5 * 60
            pass_until_idle(proxy, clock)
        assert receiver.delivered() == {*before, *during}
        assert sum(1 for r in receiver.requests if r["ok"]) == len(before) + len(during)  # each once
        assert rows(proxy, "dead") == [] and rows(proxy, "pending") == []
        assert proxy.proxy.metrics.value("tactful_leads_delivered_total", target="webhook") == len(before) + len(during)
    finally:
        proxy.__exit__(None, None, None)


def test_retention_purges_old_records_but_never_an_undelivered_lead(tmp_path, demo_source, receiver):
    clock = Clock()
    proxy = start(tmp_path, demo_source, receiver, clock=clock, lead_retention_days=30, outcome_retention_days=60,
                  retry_for=40 * 86400)  # a lead still being retried is kept past its retention
    try:
        delivered = post_lead(proxy, "old@example.com")
        wait_for(lambda: receiver.delivered() == {delivered})
        receiver.failing = True
        waiting = post_lead(proxy, "waiting@example.com")  # still undelivered when its time is up
        beacon = proxy.vouched(OutcomeBeacon(visitor="v1", session="v1:1", arm="treatment", eligible=True,
                                             intervened=True, converted=False, trigger="cart_exit", phase=1))  # fmt: skip
        assert proxy.client.post("/v1/outcome", content=encode(beacon),
                                  headers={"content-type": CONTENT_TYPE}).status_code == 204  # fmt: skip
        clock.now += 31 * 86400
        fresh = post_lead(proxy, "fresh@example.com")
        pass_until_idle(proxy, clock)
        leads = {r["lead_id"] for r in rows(proxy)}
        assert delivered not in leads and {waiting, fresh} <= leads
        assert len(outcomes(proxy)) == 1  # 31 days old: kept for 60
        clock.now += 30 * 86400
        pass_until_idle(proxy, clock)
        assert outcomes(proxy) == []
        assert {r["lead_id"] for r in rows(proxy)} == {fresh}  # `waiting` died at 40 days, then aged out
        assert proxy.proxy.metrics.value("tactful_purged_total", record="lead") == 2
        assert proxy.proxy.metrics.value("tactful_purged_total", record="outcome") == 1
    finally:
        proxy.__exit__(None, None, None)


def outcomes(proxy):
    return proxy.call(proxy.proxy.store.outcomes())


@pytest.mark.parametrize("carried", ["header", "body"])  # the worker sends its token in a header; older loaders in the body
def test_lead_floods_are_limited_per_visitor_and_per_day(tmp_path, demo_source, receiver, caplog, carried):
    proxy = start(tmp_path, demo_source, receiver, leads_per_visitor=2, leads_per_day=4)

    def lead(email, token):
        if carried == "body":
            return proxy.post("/v1/lead", {**LEAD, "email": email}, token)
        return proxy.post("/v1/lead", {**LEAD, "email": email}, authorization=f"Bearer {token}")

    try:
        token = proxy.token()
        codes = [lead(f"a{i}@example.com", token).status_code for i in range(3)]
        assert codes == [200, 200, 429]
        assert lead("a2@example.com", token).json() == {"error": "this visitor already left the day's leads"}
        again = lead("a0@example.com", token)
        assert again.status_code == 200  # the same lead again is the stored one, not a new lead
        more = [lead(f"b{i}@example.com", proxy.token()).status_code for i in range(3)]  # another visitor each
        assert more == [200, 200, 429]
        assert proxy.proxy.metrics.value("tactful_leads_refused_total", reason="daily") == 1
        assert "ALERT lead flood" in caplog.text
        assert 'tactful_leads_refused_total{reason="visitor"} 2' in proxy.client.get("/metrics").text
    finally:
        proxy.__exit__(None, None, None)


def test_consent_must_be_explicit(tmp_path, demo_source):
    proxy = start(tmp_path, demo_source)
    try:
        token = proxy.token()
        body = {k: v for k, v in LEAD.items() if k != "consent"}
        missing = proxy.post("/v1/lead", body, token)
        assert missing.status_code == 400 and "consent" in missing.json()["error"]
        assert proxy.post("/v1/lead", {**LEAD, "consent": "yes"}, token).status_code == 400
        assert proxy.post("/v1/lead", {**LEAD, "email": "ada@example.com\r\nBcc: x@evil.example"}, token).status_code == 400
    finally:
        proxy.__exit__(None, None, None)


def test_the_data_directory_and_its_files_are_the_owners_alone(tmp_path, demo_source, receiver):
    proxy = start(tmp_path, demo_source, receiver)
    try:
        post_lead(proxy, "ada@example.com")
        data = proxy.proxy.config.data_dir
        assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
        files = sorted(p.name for p in data.iterdir())
        assert {"tactful.sqlite3", "token.secret", "webhook.secret"} <= set(files)
        assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in data.iterdir()} == dict.fromkeys(files, "0o600")
    finally:
        proxy.__exit__(None, None, None)


def test_metrics_can_require_a_bearer_token(tmp_path, demo_source):
    proxy = start(tmp_path, demo_source, metrics_token="s3cret")
    try:
        assert proxy.client.get("/metrics").status_code == 401
        assert proxy.client.get("/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
        shown = proxy.client.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert shown.status_code == 200 and "tactful_" in shown.text
    finally:
        proxy.__exit__(None, None, None)
    open_proxy = start(tmp_path / "b", demo_source)
    try:
        assert open_proxy.client.get("/metrics").status_code == 200  # no token configured: open, on loopback
    finally:
        open_proxy.__exit__(None, None, None)


def test_the_metrics_token_comes_from_the_environment_only(tmp_path):
    config = load_config(None, env={"TACTFUL_METRICS_TOKEN": "from-env"})
    assert config.metrics_token == "from-env" and "from-env" not in repr(config)
    assert replace(config, metrics_token="").metrics_token == ""
