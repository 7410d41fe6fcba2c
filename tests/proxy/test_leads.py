"""Leads are stored before the reply and delivered by the outbox — even across a kill -9."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from email import message_from_string

import httpx
import msgpack
from golden import merge
from loopback import free_port
from proxy_helpers import lead_playbook, start_proxy_process, wait_for

from tactful.cli import main as tactful
from tactful.core import (
    CONTENT_TYPE,
    LeadReply,
    OutcomeBeacon,
    Playbook,
    TokenReply,
    decode,
    encode,
)
from tactful.proxy import sign_webhook

LEAD = {"v": 1, "email": "ada@example.com", "trigger": "longform_lead", "page_kind": "article", "session": "v1:100",
        "consent": True, "locale": "pt-BR"}


def test_lead_goes_to_webhook_and_sales_inbox(make_proxy, demo_source, receiver, smtp):
    proxy = make_proxy(playbook=Playbook.from_dict(lead_playbook(demo_source, receiver)), smtp_host="127.0.0.1",
                       smtp_port=smtp.port, smtp_from="leads@shop.test", env={"TACTFUL_WEBHOOK_SECRET": "hook-secret"})  # fmt: skip
    response = proxy.post("/v1/lead", LEAD, proxy.token())
    reply = decode(LeadReply, response.content)
    assert reply.status == "stored"
    wait_for(lambda: receiver.requests and smtp.messages)
    hook = receiver.requests[0]
    assert hook["key"] == reply.id and hook["body"]["email"] == "ada@example.com"
    assert hook["body"]["locale"] == "pt-BR"  # the follow-up can answer in the visitor's language
    assert hook["sig"] == sign_webhook("hook-secret", hook["ts"], hook["raw"])
    (rcpt, content), = smtp.messages
    assert rcpt == ["sales@demo-shop.test"] and "ada@example.com" in content and reply.id in content
    mail = message_from_string(content)  # what the sales team's mail client shows
    assert mail["From"] == "leads@shop.test" and mail["To"] == "sales@demo-shop.test"
    assert mail["Subject"] == "New lead from longform_lead: ada@example.com"
    assert mail["Reply-To"] == "ada@example.com" and mail["Message-ID"] == f"<{reply.id}@tactful>"
    assert mail.get_payload().splitlines()[3:6] == ["Trigger: longform_lead", "Page: article", "Language: pt-BR"]
    again = decode(LeadReply, proxy.post("/v1/lead", LEAD, proxy.token()).content)
    assert again.id == reply.id  # the same lead twice is one lead
    assert proxy.call(proxy.proxy.outbox.deliver_due()) == 0  # a whole outbox pass now: nothing left to send
    assert proxy.call(proxy.proxy.store.deliveries("pending")) == []
    assert len(receiver.requests) == 1
    assert proxy.proxy.metrics.value("tactful_leads_delivered_total", target="webhook") == 1


def test_failed_deliveries_retry_then_dead_letter(make_proxy, demo_source, receiver):
    receiver.fail_first = 2
    source = merge(demo_source, {"followup": {"webhook": receiver.url, "email": ""}})
    proxy = make_proxy(playbook=Playbook.from_dict(source), backoff=0.1, max_backoff=0.1)
    proxy.post("/v1/lead", LEAD, proxy.token())
    wait_for(lambda: proxy.proxy.metrics.value("tactful_leads_delivered_total", target="webhook") == 1)
    assert len(receiver.requests) == 3 and len(receiver.unique) == 1
    # No SMTP server at all: the email row retries, then becomes a visible dead letter.
    dead = make_proxy(playbook=Playbook.from_dict(merge(demo_source, {})), backoff=0.1, retry_for=0.25,
                      smtp_host="127.0.0.1", smtp_port=free_port())  # fmt: skip
    dead.post("/v1/lead", LEAD, dead.token())
    wait_for(lambda: dead.proxy.metrics.value("tactful_leads_dead_total", target="email") == 1)
    assert 'tactful_leads_dead_total{target="email"} 1' in dead.client.get("/metrics").text


def test_an_inbox_without_a_mail_server_is_a_dead_letter_that_says_so(make_proxy, demo_source, capsys):
    # The playbook names a sales inbox but the proxy has no SMTP server: the lead is kept, and the
    # dead letter tells the engineer which setting is missing.
    proxy = make_proxy(playbook=Playbook.from_dict(merge(demo_source, {})), backoff=0.05, retry_for=0.2)
    lead_id = decode(LeadReply, proxy.post("/v1/lead", LEAD, proxy.token()).content).id
    wait_for(lambda: proxy.proxy.metrics.value("tactful_leads_dead_total", target="email") == 1)
    assert tactful(["leads", "list", "--state", "dead", "--data-dir", str(proxy.proxy.config.data_dir)]) == 0
    listed = capsys.readouterr().out
    assert lead_id in listed and "\n    last error: DeliveryRefused: no SMTP server configured (leads.smtp_host)\n" in listed


def test_lead_requests_are_checked(make_proxy):
    proxy = make_proxy()
    token = proxy.token()
    assert proxy.post("/v1/lead", {**LEAD, "trigger": "cart_exit"}, token).status_code == 400
    assert proxy.post("/v1/lead", {**LEAD, "email": "nope"}, token).status_code == 400
    assert proxy.post("/v1/lead", {**LEAD, "consent": False}, token).status_code == 400


def test_outcomes_are_idempotent_per_visit(make_proxy):
    proxy = make_proxy()
    beacon = proxy.vouched(OutcomeBeacon(visitor="v1", session="v1:100.000", arm="treatment", eligible=True,
                                         intervened=True, converted=False, trigger="cart_exit", phase=1))  # fmt: skip
    headers = {"content-type": CONTENT_TYPE}
    assert proxy.client.post("/v1/outcome", content=encode(beacon), headers=headers).status_code == 204
    converted = replace(beacon, converted=True, value=30.0)
    assert proxy.client.post("/v1/outcome", content=encode(converted), headers=headers).status_code == 204
    rows = proxy.call(proxy.proxy.store.outcomes())
    assert len(rows) == 1 and rows[0]["converted"] == 1 and rows[0]["value"] == 30.0


def test_kill_9_during_delivery_then_restart_delivers_exactly_once(tmp_path, demo_source, receiver, smtp):
    receiver.hang_first = 3.0  # the first delivery is in flight when the proxy dies
    playbook = tmp_path / "playbook.json"
    playbook.write_text(json.dumps(lead_playbook(demo_source, receiver)))
    port = free_port()
    config = tmp_path / "tactful.toml"
    config.write_text(
        f'[server]\nport = {port}\ndata_dir = "{tmp_path / "data"}"\nplaybook = "{playbook}"\n'
        f'[leads]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\nbackoff = 0.2\nlease = 2.0\n'
    )
    process = start_proxy_process(config, port)
    try:
        base = f"http://127.0.0.1:{port}"
        token = decode(TokenReply, httpx.post(base + "/v1/token").content).token
        body = msgpack.packb({**LEAD, "token": token})
        reply = httpx.post(base + "/v1/lead", content=body, headers={"content-type": CONTENT_TYPE})
        lead_id = decode(LeadReply, reply.content).id
        wait_for(lambda: receiver.requests)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process = start_proxy_process(config, port)
        wait_for(lambda: len(receiver.requests) >= 2 and smtp.messages, timeout=30)
    finally:
        process.kill()
        process.wait(10)
    assert receiver.unique == {lead_id}  # delivered again after the restart, one lead by its key
    message_ids = {line for _, content in smtp.messages for line in content.splitlines() if line.startswith("Message-ID")}
    assert message_ids == {f"Message-ID: <{lead_id}@tactful>"}
