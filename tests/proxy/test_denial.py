"""Denial of wallet and of service, tried as an adversary would on loopback: forged forwarding
headers, prompts the provider refuses, usage reports that lie, and thousands of hostile and slow
requests while a monitor keeps asking /healthz."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time

import httpx
import msgpack
import pytest
from golden import merge
from loopback import free_port, run_async
from proxy_helpers import FakeModel, model_overrides, start_proxy_process

from tactful.core import CONTENT_TYPE, MessageReply, Playbook, TokenReply, decode
from tactful.proxy import spend_day

CART = {"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart", "offer": "cart10"}


def test_a_rotating_x_forwarded_for_gains_nothing_by_default(make_proxy):
    proxy = make_proxy(ip_per_minute=5, tokens_per_minute=1000)
    codes = [proxy.client.post("/v1/token", headers={"x-forwarded-for": f"203.0.113.{i}"}).status_code
             for i in range(8)]  # fmt: skip
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}  # one address, however it signs itself
    # Behind a configured reverse proxy the forwarded address is the client's: each gets its own bucket.
    behind = make_proxy(ip_per_minute=5, tokens_per_minute=1000, trusted_proxies=("127.0.0.1",))
    codes = [behind.client.post("/v1/token", headers={"x-forwarded-for": f"203.0.113.{i}"}).status_code
             for i in range(8)]  # fmt: skip
    assert codes == [200] * 8
    # ...and a client cannot smuggle an address in front of what our proxy appended.
    spoofed = [behind.client.post("/v1/token", headers={"x-forwarded-for": f"10.0.0.{i}, 198.51.100.7"}).status_code
               for i in range(8)]  # fmt: skip
    assert spoofed[:5] == [200] * 5 and set(spoofed[5:]) == {429}


def test_visitor_tokens_are_minted_sparingly_per_address(make_proxy):
    proxy = make_proxy(tokens_per_minute=3, ip_per_minute=1000)
    codes = [proxy.client.post("/v1/token").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_limits_are_keyed_by_the_token_not_the_request(make_proxy):
    proxy = make_proxy(visitor_per_minute=3, ip_per_minute=1000)
    token = proxy.token()
    # The same token in the body and in the header is the same visitor.
    header = {"content-type": CONTENT_TYPE, "authorization": f"Bearer {token}"}
    codes = [proxy.client.post("/v1/message", content=msgpack.packb(CART), headers=header).status_code,
             proxy.post("/v1/message", CART, token).status_code,
             proxy.post("/v1/message", {**CART, "locale": "de"}, token).status_code,
             proxy.post("/v1/message", {**CART, "locale": "fr"}, token).status_code]  # fmt: skip
    assert codes == [200, 200, 200, 429]


def test_prompts_the_provider_refuses_do_not_open_the_breaker(make_proxy, fake_model):
    fake_model.mode = "400"
    proxy = make_proxy(**{**model_overrides(fake_model), "breaker_failures": 3, "cache_entries": 0,
                          "visitor_per_minute": 1e9})  # fmt: skip
    token = proxy.token()
    for _ in range(8):
        assert decode(MessageReply, proxy.post("/v1/message", CART, token).content).source == "template"
    assert fake_model.calls == 8  # each refusal asked once (no retry of a refusal) and the breaker stayed shut
    fake_model.mode = "ok"
    assert decode(MessageReply, proxy.post("/v1/message", CART, token).content).source == "model"


LIES = {
    "missing": {"usage": None},
    "negative": {"usage": (-50_000, -50_000)},
    "zero": {"usage": (0, 0)},
    "huge": {"usage": (10**12, 10**12)},
    "not a number": {"raw_usage": True},
    "long words": {"usage": (10, 10), "text": "A little something for your basket before you go. " * 60},
}


@pytest.mark.parametrize("lie", list(LIES))
def test_the_cap_holds_whatever_the_provider_reports(make_proxy, demo_source, lie):
    # 64 calls in flight at once, every answer's usage a lie; the prompts are non-ASCII (more bytes
    # than characters). Spend never passes the cap and every reservation is settled.
    fake = FakeModel("openai")
    behaviour = LIES[lie]
    fake.usage = behaviour.get("usage", (10, 10))
    fake.text = behaviour.get("text", fake.text)
    if "raw_usage" in behaviour:
        answer = {"choices": [{"message": {"content": "The offer below is yours."}}], "usage": {"prompt_tokens": "lots"}}
        fake.raw = json.dumps(answer)
    cap = 0.02
    source = merge(demo_source, {"privacy": {"level": "context"}})
    proxy = make_proxy(**{**model_overrides(fake), "playbook": Playbook.from_dict(source), "daily_usd": cap,
                          "cache_entries": 0, "timeout": 5.0, "max_in_flight": 64, "ip_per_minute": 1e9,
                          "visitor_per_minute": 1e9, "model": "claude-sonnet-4-5"})  # fmt: skip
    token = proxy.token()
    bodies = [msgpack.packb({**CART, "token": token, "locale": "ja",
                             "product": "登山靴" * random.Random(i).randint(1, 20)}) for i in range(300)]  # fmt: skip

    async def burst():
        async with httpx.AsyncClient(base_url=proxy.url, timeout=60, limits=httpx.Limits(max_connections=64)) as c:
            return await asyncio.gather(*[c.post("/v1/message", content=b, headers={"content-type": CONTENT_TYPE})
                                          for b in bodies])  # fmt: skip

    try:
        responses = run_async(burst)
    finally:
        fake.close()
    assert [r.status_code for r in responses] == [200] * len(bodies)
    spend = proxy.call(proxy.proxy.store.spend(spend_day(time.time())))
    assert spend["spent"] <= cap + 1e-12 and abs(spend["reserved"]) < 1e-12
    assert spend["spent"] >= 0 and spend["calls"] == fake.calls >= 1


# -- many hostile and slow clients against a served proxy ----------------------------------------


def _serve(tmp_path, playbook_path, port, **settings):
    config = tmp_path / "tactful.toml"
    lines = [f"[server]\nport = {port}\ndata_dir = \"{tmp_path / 'data'}\"\nplaybook = \"{playbook_path}\"",
             f"header_timeout = {settings.get('header_timeout', 2.0)}\nbody_timeout = {settings.get('body_timeout', 2.0)}",
             "[limits]\nip_per_minute = 600\nvisitor_per_minute = 60"]  # fmt: skip
    config.write_text("\n".join(lines) + "\n")
    return start_proxy_process(config, port, env={**os.environ, "TACTFUL_PROVIDER": "template"})


def _hostile_request(rng: random.Random, token: str) -> bytes:
    """One hostile HTTP/1.1 request, as raw bytes."""
    path = rng.choice(["/v1/message", "/v1/reply", "/v1/lead", "/v1/outcome", "/v1/token", "/v1/nope"])
    kind = rng.randrange(7)
    headers = {"host": "127.0.0.1", "content-type": CONTENT_TYPE}
    if kind == 0:
        body = rng.randbytes(rng.randrange(0, 300))
    elif kind == 1:
        body = msgpack.packb({**CART, "token": token, "product": "x" * rng.randrange(0, 40000)})
    elif kind == 2:
        body, headers["content-type"] = b'{"trigger": "cart_exit"}', "application/json"
    elif kind == 3:
        body = msgpack.packb({**CART, "token": token[:-3] + "abc"})
    elif kind == 4:
        body = msgpack.packb({**CART, "kind": rng.choice(["compare", "x" * 500]), "token": token})
    elif kind == 5:
        body = msgpack.packb({"v": 1, "email": "=?utf-8?q?x?=@e.co", "trigger": "longform_lead", "page_kind": "article",
                              "consent": True, "token": token})  # fmt: skip
    else:
        body, headers["content-length"] = msgpack.packb(CART), "99999999"
    headers.setdefault("content-length", str(len(body)))
    if rng.random() < 0.2:
        headers["x-forwarded-for"] = f"198.51.100.{rng.randrange(256)}"
    if rng.random() < 0.2:
        headers["origin"] = rng.choice(["https://evil.example", "null"])
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server closes the connection after it)."""
    status = await reader.readline()
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "connection" and "close" in value.lower():
            close = True
    await reader.readexactly(length)
    return int(status.split()[1]), close


def test_ten_thousand_hostile_and_slow_requests_get_no_5xx_and_health_stays_fast(tmp_path, root):
    playbook = root / "demo" / "playbook.toml"
    port = free_port()
    process = _serve(tmp_path, playbook, port)
    statuses: dict[int, int] = {}
    health: list[float] = []
    stuck: list[int] = []
    dropped: list[int] = []
    held_open: list[int] = []  # slowloris connections the server still held after 10 s
    total = 10_000

    async def attack() -> None:
        token = decode(TokenReply, httpx.post(f"http://127.0.0.1:{port}/v1/token").content).token
        stop = asyncio.Event()

        async def monitor() -> None:
            async with httpx.AsyncClient(timeout=5) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                    health.append(time.perf_counter() - started if response.status_code == 200 else 99.0)
                    await asyncio.sleep(0.1)

        async def slow_head(i: int) -> None:  # a slowloris: a request head a byte at a time, never finished
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(b"POST /v1/message HTTP/1.1\r\nhost: x\r\n")
                for _ in range(40):
                    await asyncio.sleep(0.25)
                    if reader.at_eof():
                        return  # closed by the server's header deadline: what it should do
                    writer.write(b"x")
                    await writer.drain()
                held_open.append(1)
            except (ConnectionError, OSError):
                return
            finally:
                writer.close()

        async def slow_body(i: int) -> None:  # a body that trickles in
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(b"POST /v1/message HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\n"
                             b"content-length: 500\r\n\r\n")  # fmt: skip
                for _ in range(40):
                    await asyncio.sleep(0.25)
                    if reader.at_eof() or len(reader._buffer):  # noqa: SLF001 - an answer (the 408) arrived
                        break
                    writer.write(b"\x00")
                    await writer.drain()
                status, _ = await asyncio.wait_for(_read_response(reader), 5)
                statuses[status] = statuses.get(status, 0) + 1
            except (asyncio.IncompleteReadError, ConnectionError, OSError, TimeoutError, ValueError, IndexError):
                return
            finally:
                writer.close()

        async def worker(seed: int, count: int) -> None:
            rng = random.Random(seed)
            reader = writer = None
            for _ in range(count):
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(_hostile_request(rng, token))
                try:
                    status, close = await asyncio.wait_for(_read_response(reader), 10)
                except TimeoutError:
                    stuck.append(1)  # the server neither answered nor closed: a held connection
                    writer.close()
                    reader = writer = None
                    continue
                except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
                    dropped.append(1)  # closed without an answer
                    writer.close()
                    reader = writer = None
                    continue
                statuses[status] = statuses.get(status, 0) + 1
                if close or rng.random() < 0.1:
                    writer.close()
                    reader = writer = None
            if writer is not None:
                writer.close()

        watching = asyncio.create_task(monitor())
        slow = [asyncio.create_task(slow_head(i)) for i in range(300)] + [asyncio.create_task(slow_body(i)) for i in range(100)]
        await asyncio.gather(*[worker(seed, total // 50) for seed in range(50)])
        await asyncio.gather(*slow)
        stop.set()
        await watching

    try:
        run_async(attack)
    finally:
        process.terminate()
        process.wait(10)
    answered = sum(statuses.values())
    assert not stuck, f"{len(stuck)} requests neither answered nor closed within 10 s"
    assert not held_open, f"{len(held_open)} of 300 never-finished request heads held for 10 s (header_timeout is 2 s)"
    assert answered >= total * 0.99, (statuses, len(dropped))  # (a request on a connection closing as it arrives)
    assert not [code for code in statuses if code >= 500], statuses
    assert {400, 403, 404, 413, 415, 429} & set(statuses) and len(health) >= 10
    assert max(health) < 1.0, f"/healthz took {max(health):.2f} s at worst"
    assert "Traceback" not in (tmp_path / "proxy.log").read_text()
