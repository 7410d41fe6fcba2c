"""The proxy, measured side by side in one run.

1. The cached /v1/message path under load on loopback vs a bare ASGI hello-world served
   by the same server (uvicorn), both driven by the same raw load generator in a process of
   its own (``loadgen.py``; an HTTP client library would be the bottleneck): throughput and
   p50/p99 latency, and their ratios. The proxy writes with a stand-in model server, so the
   measured requests are real cache hits (checked: ``source == "cache"``), not the template.
2. Model calls saved by the message cache over a replayed synthetic day: every intervention
   the engine makes for a day of synthetic traffic asks for words; how many reach the model?

    python bench/bench_proxy.py [--seconds 5] [--connections 64] [--sessions 5000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "engine"), str(ROOT / "bench")]

import httpx  # noqa: E402
import msgpack  # noqa: E402
from figures import recorded  # noqa: E402
from loadgen import run_load  # noqa: E402
from serving import free_port, stand_in_model, start_hello, stop, wait_up  # noqa: E402

from tactful.core import CONTENT_TYPE, MessageReply, Replay, TokenReply, decode, message_request  # noqa: E402
from tactful.lift import random_visit  # noqa: E402
from tactful.playbook_file import read_playbook  # noqa: E402
from tactful.proxy import StandInWriter, price_requests  # noqa: E402


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
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sessions", type=int, default=5000)
    args = parser.parse_args()

    model = stand_in_model()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        (tmp / "tactful.toml").write_text(
            f'[server]\nport = {port}\ndata_dir = "{tmp / "data"}"\nplaybook = "{ROOT / "demo" / "playbook.toml"}"\n'
            f'[model]\nprovider = "openai"\nmodel = "gpt-4o-mini"\nbase_url = "http://127.0.0.1:{model.server_address[1]}"\n'
            "[limits]\nvisitor_per_minute = 1e9\nip_per_minute = 1e9\n"
        )
        env = {**os.environ, "OPENAI_API_KEY": "bench"}
        proxy = subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--config", str(tmp / "tactful.toml")],
                                 stdout=subprocess.DEVNULL, cwd=ROOT, env=env)  # fmt: skip
        hello, hello_url = start_hello(tmp)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base + "/healthz")
            token = decode(TokenReply, httpx.post(base + "/v1/token").content).token
            body = msgpack.packb({"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart",
                                  "offer": "cart10", "locale": "en-GB"})  # fmt: skip
            headers = (f"content-type: {CONTENT_TYPE}", f"authorization: Bearer {token}")
            plain = dict(h.split(": ", 1) for h in headers)
            sources = [decode(MessageReply, httpx.post(base + "/v1/message", content=body, headers=plain).content).source
                       for _ in range(3)]  # fmt: skip
            if sources != ["model", "cache", "cache"] or model.calls != 1:
                raise RuntimeError(f"not the cached path: {sources}, {model.calls} model calls")
            hello_figures = run_load([hello_url], args.seconds, args.connections)
            cached = run_load([base + "/v1/message"], args.seconds, args.connections, "POST", body, headers)
            if model.calls != 1 or set(cached["statuses"]) != {"200"}:
                raise RuntimeError(f"the load left the cached path: {model.calls} model calls, {cached['statuses']}")
        finally:
            stop([proxy, hello])
            model.shutdown()

    days = [(privacy, ttl, cache_day(args.sessions, privacy, ttl))
            for privacy in ("minimal", "context") for ttl in (3600.0, 86400.0)]  # fmt: skip
    print(f"tactful proxy benchmark (raw load generator in its own process, {args.connections} keep-alive "
          f"connections, {args.seconds:g} s each; loopback, one run)")
    for name, r in (("bare ASGI hello-world", hello_figures), ("cached /v1/message", cached)):
        print(f"  {name + ':':<23}{r['rps']:>7,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
    print(f"  ratio message/hello: throughput {cached['rps'] / hello_figures['rps']:.2f}x, "
          f"p50 {cached['p50_ms'] / hello_figures['p50_ms']:.2f}x, p99 {cached['p99_ms'] / hello_figures['p99_ms']:.2f}x "
          "(every message request: token check, two rate limits, a cache hit, msgpack both ways)")
    for privacy, ttl, day in days:
        saved = 1 - day["model_calls"] / max(1, day["requests"])
        print(f"  synthetic day, privacy {privacy}, cache TTL {ttl / 3600:g} h: {day['requests']} message requests "
              f"from {args.sessions} sessions, {day['model_calls']} model calls ({saved:.1%} saved by the cache)")


if __name__ == "__main__":
    with recorded("proxy"):
        main()
