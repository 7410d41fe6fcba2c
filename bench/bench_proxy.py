"""The proxy, measured side by side in one run.

1. The cached /v1/message path under load on loopback vs a bare ASGI hello-world served
   by the same server (uvicorn) with the same client: throughput and p50/p99 latency, and
   their ratios.
2. Model calls saved by the message cache over a replayed synthetic day: every intervention
   the engine makes for a day of synthetic traffic asks for words; how many reach the model?

    python bench/bench_proxy.py [--requests 3000] [--concurrency 32] [--sessions 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "engine"), str(ROOT / "bench")]

import httpx  # noqa: E402
import msgpack  # noqa: E402

from tactful.core import CONTENT_TYPE, Replay, TokenReply, decode, message_request  # noqa: E402
from tactful.lift import random_visit  # noqa: E402
from tactful.playbook_file import read_playbook  # noqa: E402
from tactful.proxy import StandInWriter, price_requests  # noqa: E402

HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, make_body, requests: int, concurrency: int, method: str) -> dict:
    latencies: list[float] = []
    queue = iter(range(requests))

    async def user(client: httpx.AsyncClient) -> None:
        for _ in queue:
            t0 = time.perf_counter()
            if method == "POST":
                response = await client.post(url, content=make_body(), headers={"content-type": CONTENT_TYPE})
            else:
                response = await client.get(url)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*[user(client) for _ in range(concurrency)])
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rps": requests / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}  # fmt: skip


def cache_day(sessions: int, privacy: str, ttl: float) -> dict:
    playbook = read_playbook(ROOT / "demo" / "playbook.toml")
    playbook.privacy = privacy
    rng = random.Random(5)
    day_start = 1_800_000_000.0
    products = [f"Product {i}" for i in range(40)]
    requests = []
    replay = Replay(playbook)
    for i in range(sessions):
        start = day_start + rng.uniform(0, 86400)
        product = rng.choice(products)
        for event in random_visit(rng, start):
            for decision in replay.feed(f"visitor-{i}", [event]):
                if decision.intervene:
                    locale = rng.choice(["en-GB", "en-US", "de-DE", "fr-FR"])
                    requests.append((decision.t, message_request(decision, privacy, locale, product, "shoes")))
    requests.sort(key=lambda r: r[0])
    writer = StandInWriter("Happy to help you decide: ask me anything about it.", 300, 40)
    calls, _cost = price_requests(playbook, requests, writer, cache_ttl=ttl)
    return {"requests": len(requests), "model_calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sessions", type=int, default=5000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "hello.py").write_text(HELLO)
        proxy_port, hello_port = free_port(), free_port()
        (tmp / "tactful.toml").write_text(
            f'[server]\nport = {proxy_port}\ndata_dir = "{tmp / "data"}"\nplaybook = "{ROOT / "demo" / "playbook.toml"}"\n'
            "[limits]\nvisitor_per_minute = 1e9\nip_per_minute = 1e9\n"
        )
        uvicorn_args = ["--log-level", "warning", "--no-access-log"]
        procs = [
            subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--config", str(tmp / "tactful.toml")],
                             stdout=subprocess.DEVNULL, cwd=ROOT),
            subprocess.Popen([sys.executable, "-m", "uvicorn", "hello:app", "--port", str(hello_port), *uvicorn_args],
                             cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]  # fmt: skip
        try:
            wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            wait_up(f"http://127.0.0.1:{hello_port}/")
            token = decode(TokenReply, httpx.post(f"http://127.0.0.1:{proxy_port}/v1/token").content).token
            body = msgpack.packb({"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart",
                                  "offer": "cart10", "locale": "en-GB", "token": token})  # fmt: skip
            msg_url = f"http://127.0.0.1:{proxy_port}/v1/message"
            asyncio.run(load(msg_url, lambda: body, 200, 8, "POST"))  # warm up: fills the cache
            asyncio.run(load(f"http://127.0.0.1:{hello_port}/", None, 200, 8, "GET"))
            hello = asyncio.run(load(f"http://127.0.0.1:{hello_port}/", None, args.requests, args.concurrency, "GET"))
            cached = asyncio.run(load(msg_url, lambda: body, args.requests, args.concurrency, "POST"))
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)

    days = [(privacy, ttl, cache_day(args.sessions, privacy, ttl))
            for privacy in ("minimal", "context") for ttl in (3600.0, 86400.0)]  # fmt: skip
    print(f"tactful proxy benchmark ({args.requests} requests, {args.concurrency} concurrent; loopback, one run)")
    print(f"  bare ASGI hello-world: {hello['rps']:,.0f} req/s, p50 {hello['p50_ms']:.1f} ms, p99 {hello['p99_ms']:.1f} ms")
    print(f"  cached /v1/message:    {cached['rps']:,.0f} req/s, p50 {cached['p50_ms']:.1f} ms, p99 {cached['p99_ms']:.1f} ms")
    print(f"  ratio message/hello: throughput {cached['rps'] / hello['rps']:.2f}x, "
          f"p50 {cached['p50_ms'] / hello['p50_ms']:.2f}x, p99 {cached['p99_ms'] / hello['p99_ms']:.2f}x")
    for privacy, ttl, day in days:
        saved = 1 - day["model_calls"] / max(1, day["requests"])
        print(f"  synthetic day, privacy {privacy}, cache TTL {ttl / 3600:g} h: {day['requests']} message requests "
              f"from {args.sessions} sessions, {day['model_calls']} model calls ({saved:.1%} saved by the cache)")


if __name__ == "__main__":
    main()
