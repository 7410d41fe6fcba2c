"""What the proxy vouches for in an outcome: a token bound to the visitor, the arm from the visitor's
hash, "shown" from its own record, purchases from the shop's server, and triggers it paused."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace

import httpx
import msgpack

from tactful.core import (
    CONTENT_TYPE,
    HOLDOUT,
    TREATMENT,
    Host,
    OutcomeBeacon,
    TokenReply,
    TokenRequest,
    assign_arm,
    decode,
    encode,
)
from tactful.lift import attribute, judge_triggers

HEADERS = {"content-type": CONTENT_TYPE}
T0 = time.time() - 86400  # yesterday: the shop's server may confirm purchases of the last 90 days
CART = {"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart", "offer": "cart10"}


def visitor_in(arm: str, playbook, prefix: str = "v") -> str:
    hold = playbook.holdout
    return next(f"{prefix}{i}" for i in range(10_000)
                if assign_arm(hold.salt, f"{prefix}{i}", hold.fraction, hold.hash_version) == arm)  # fmt: skip


def _with(message, **changes):
    return replace(message, **changes)


def beacon(visitor: str, **fields) -> OutcomeBeacon:
    base = {"session": f"{visitor}:1", "arm": "treatment", "eligible": True, "intervened": True, "converted": False,
            "trigger": "cart_exit", "phase": 1}  # fmt: skip
    return OutcomeBeacon(visitor=visitor, **{**base, **fields})


def test_a_beacon_needs_a_token_bound_to_its_own_visitor(make_proxy):
    proxy = make_proxy()
    mine = beacon("v1")
    tries = {
        "no token": mine,
        "an unbound token": _with(mine, token=proxy.token()),
        "another visitor's token": _with(mine, token=proxy.token("v2")),
        "a forged token": _with(mine, token=proxy.token("v1")[:-4] + "AAAA"),
    }
    for what, sent in tries.items():
        refused = proxy.client.post("/v1/outcome", content=encode(sent), headers=HEADERS)
        assert refused.status_code == 403 and "bound to its visitor" in refused.json()["error"], what
    assert proxy.call(proxy.proxy.store.outcomes()) == []
    assert proxy.call(proxy.proxy.store.refusals()) == {"unbound": 3, "other_visitor": 1}
    assert proxy.client.post("/v1/outcome", content=encode(proxy.vouched(mine)), headers=HEADERS).status_code == 204
    assert len(proxy.call(proxy.proxy.store.outcomes())) == 1


def test_the_arm_is_the_visitors_hash_and_shown_is_the_proxys_own_record(make_proxy, demo_playbook):
    proxy = make_proxy()
    held = visitor_in(HOLDOUT, demo_playbook)
    treated = visitor_in(TREATMENT, demo_playbook)
    # A holdout visitor claiming the treatment arm and an intervention: the proxy's arm is used.
    assert proxy.client.post("/v1/outcome", content=encode(proxy.vouched(beacon(held))), headers=HEADERS).status_code == 204
    # A treated visitor claiming an intervention the proxy never wrote words for...
    claimed = proxy.vouched(beacon(treated))
    assert proxy.client.post("/v1/outcome", content=encode(claimed), headers=HEADERS).status_code == 204
    rows = {r["visitor"]: r for r in proxy.call(proxy.proxy.store.outcomes())}
    assert (rows[held]["arm"], rows[held]["claimed_arm"], rows[held]["served"]) == ("holdout", "treatment", 0)
    assert (rows[treated]["arm"], rows[treated]["served"]) == ("treatment", 0)
    # ...and once words were served to that visitor (token in the header, as the worker sends it):
    token = proxy.token(treated)
    served = proxy.client.post("/v1/message", content=msgpack.packb(CART),
                               headers={**HEADERS, "authorization": f"Bearer {token}"})  # fmt: skip
    assert served.status_code == 200
    assert proxy.client.post("/v1/outcome", content=encode(_with(claimed, token=token)), headers=HEADERS).status_code == 204
    rows = {r["visitor"]: r for r in proxy.call(proxy.proxy.store.outcomes())}
    assert rows[treated]["served"] == 1
    (said,) = proxy.call(proxy.proxy.store.said())
    assert (said["visitor"], said["trigger"], said["kind"], said["source"]) == (treated, "cart_exit", "card", "template")
    assert said["text"] is None  # the template's words are the playbook's: only model words are kept verbatim


def post_conversion(proxy, body, secret="s3cret") -> httpx.Response:
    return proxy.client.post("/v1/conversion", json=body, headers={"authorization": f"Bearer {secret}"})


def test_the_shops_server_confirms_purchases_idempotently(make_proxy):
    off = make_proxy()
    assert post_conversion(off, {"visitor": "v1", "order": "A1", "value": 10}).status_code == 404
    proxy = make_proxy(env={"TACTFUL_SITE_SECRET": "s3cret"})
    assert post_conversion(proxy, {"visitor": "v1", "order": "A1", "value": 10}, secret="guess").status_code == 401
    bad = {
        "visitor": {"order": "A1", "value": 10},
        "value": {"visitor": "v1", "order": "A1", "value": -1},
        "order": {"visitor": "v1", "order": "has space", "value": 1},
        "currency": {"visitor": "v1", "order": "A1", "value": 1, "currency": "euro"},
        "coupon": {"visitor": "v1", "order": "A1", "value": 1, "coupon": "X"},
        "at": {"visitor": "v1", "order": "A1", "value": 1, "at": 1e12},
    }
    for field, body in bad.items():
        refused = post_conversion(proxy, body)
        assert refused.status_code == 400 and refused.json()["error"].startswith(field), (field, refused.text)
    order = {"visitor": "v1", "order": "A-1001", "value": 59.8, "code": "SAVE10", "currency": "EUR"}
    first = post_conversion(proxy, order)
    assert first.status_code == 201 and first.json() == {"status": "stored", "order": "A-1001"}
    again = post_conversion(proxy, {**order, "value": 1000})  # a retry (or a replay) of the same order
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    (row,) = proxy.call(proxy.proxy.store.conversions())
    assert (row["visitor"], row["value"], row["code"], row["currency"]) == ("v1", 59.8, "SAVE10", "EUR")
    not_json = proxy.client.post("/v1/conversion", content=b"{", headers={"authorization": "Bearer s3cret",
                                                                         "content-type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400


def harmful_rows(playbook, n: int = 1200) -> list[OutcomeBeacon]:
    """pricing_compare visitors: the holdout buys at 30%, the treated never: a trigger that hurts."""
    out = []
    for i in range(n):
        vid = f"h{i}"
        hold = playbook.holdout
        arm = assign_arm(hold.salt, vid, hold.fraction, hold.hash_version)
        out.append(OutcomeBeacon(visitor=vid, session=f"{vid}:1", arm=arm, eligible=True, intervened=arm == TREATMENT,
                                 converted=arm == HOLDOUT and i % 10 < 3, trigger="pricing_compare", phase=2,
                                 eligible_at=1e9, converted_at=1e9 + 60))  # fmt: skip
    return out


def test_a_harmful_trigger_pauses_itself_and_browsers_learn_it_with_their_token(make_proxy, demo_playbook, demo_source,
                                                                                 tmp_path):  # fmt: skip
    data = tmp_path / "shared"
    proxy = make_proxy(judge=judge_triggers, data_dir=data)
    assert proxy.token_reply("v1").paused is None
    for row in harmful_rows(demo_playbook):
        proxy.call(proxy.proxy.store.upsert_outcome(row, 1e9))
    paused = proxy.call(proxy.proxy.judge_triggers())
    assert list(paused) == ["pricing_compare"] and "below zero" in paused["pricing_compare"]["why"]
    assert proxy.token_reply("v1").paused == "pricing_compare"
    # The browser's engine learns it from the token reply (and suppresses it: reason `paused`, golden spec).
    host = Host(json.dumps(demo_source), "v1")
    body = proxy.client.post("/v1/token", content=b"", headers=HEADERS).content
    host.read_token_reply(base64.b64encode(body).decode())
    assert host.engine.paused == frozenset({"pricing_compare"})
    # Configuration resumes it (another process on the same records).
    resumed = make_proxy(judge=judge_triggers, data_dir=data, resume=("pricing_compare",))
    assert resumed.call(resumed.proxy.judge_triggers()) == {}
    assert resumed.token_reply("v1").paused is None


def send_vouched(proxy, outcome: OutcomeBeacon, address: str) -> int:
    """A browser's beacon from ``address`` (behind the shop's load balancer), with a bound token."""
    forwarded = {"x-forwarded-for": address}
    reply = proxy.client.post("/v1/token", content=encode(TokenRequest(visitor=outcome.visitor)),
                              headers={**HEADERS, **forwarded})  # fmt: skip
    token = decode(TokenReply, reply.content).token
    return proxy.client.post("/v1/outcome", content=encode(_with(outcome, token=token)),
                             headers={**HEADERS, **forwarded}).status_code  # fmt: skip


def test_1000_forged_beacons_through_the_proxy_do_not_move_the_confirmed_lift(make_proxy, demo_playbook):
    proxy = make_proxy(env={"TACTFUL_SITE_SECRET": "s3cret"}, trusted_proxies=("127.0.0.1",),
                       tokens_per_minute=100_000, ip_per_minute=100_000, visitor_per_minute=100_000)  # fmt: skip
    hold = demo_playbook.holdout
    for i in range(300):  # honest visitors, each from their own address; the shop confirms every 4th's order
        vid = f"honest{i}"
        assert send_vouched(proxy, beacon(vid, eligible_at=T0 + i), f"10.{i // 250}.{i % 250}.7") == 204
        if i % 4 == 0:
            assert post_conversion(proxy, {"visitor": vid, "order": f"o{i}", "value": 40, "at": T0 + i + 60}).status_code == 201

    def confirmed():
        rows, conversions = proxy.call(proxy.proxy.store.outcomes()), proxy.call(proxy.proxy.store.conversions())
        att = attribute([r for r in rows if not r["synthetic"]], conversions, {})
        return att.overall.counts, att.overall.always_valid, att.left_out

    counts, interval, _ = confirmed()
    assert counts[1] > 0 and counts[3] > 0 and counts[0] + counts[2] == 75  # both arms; 75 confirmed purchases
    for i in range(1000):  # one machine forging visitors of any arm, each claiming a purchase
        forged = beacon(f"forged{i}", arm="holdout" if i % 2 else "treatment", converted=True, value=999.0,
                        eligible_at=T0 + i, converted_at=T0 + i + 1)  # fmt: skip
        assert send_vouched(proxy, forged, "203.0.113.66") == 204  # each looks like a real browser's
    assert confirmed() == (counts, interval, {"beacon bursts": 1000})
    arms = {assign_arm(hold.salt, f"honest{i}", hold.fraction, hold.hash_version) for i in range(300)}
    assert arms == {TREATMENT, HOLDOUT}
