"""Replicas, measured side by side in one run: cached /v1/message throughput with 1, 2 and 3
`tactful serve` processes sharing PostgreSQL and Redis, next to a bare ASGI hello-world on the
same uvicorn, all driven by the same raw load generator (its own process).

Every message request is a real cache hit (Redis), after one model call to a stand-in model
server; the answer's `source` is checked to be `cache` before the run.

What two cores can show: the load generator needs a core of its own to not be the bottleneck,
so the replicas share the other one (and PostgreSQL and Redis run on the same two). More
replicas cannot add throughput here; what the figures do show is the price of sharing (a Redis
round trip per request for limits and cache) and that adding replicas costs little. On a machine
with a core per replica, throughput scales with them until Redis is the limit.

    python bench/bench_replicas.py [--seconds 5] [--connections 64]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "engine"), str(ROOT / "bench")]

import httpx  # noqa: E402
import msgpack  # noqa: E402
import psycopg  # noqa: E402
from figures import recorded  # noqa: E402
from loadgen import run_load  # noqa: E402
from serving import free_port, stand_in_model, start_hello, stop, wait_up  # noqa: E402

from tactful.core import CONTENT_TYPE, MessageReply, TokenReply, decode  # noqa: E402

CART = {"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart", "offer": "cart10", "locale": "en"}


def start_replicas(n: int, tmp: Path, database_url: str, redis_url: str, prefix: str, model_url: str) -> tuple[list, list[str]]:
    processes, urls = [], []
    for i in range(n):
        port = free_port()
        config = tmp / f"r{i}.toml"
        config.write_text(
            f'[server]\nport = {port}\ndata_dir = "{tmp / "data"}"\nplaybook = "{ROOT / "demo" / "playbook.toml"}"\n'
            f'[backends]\ndatabase_url = "{database_url}"\nredis_url = "{redis_url}"\nredis_prefix = "{prefix}"\n'
            f'[model]\nprovider = "openai"\nbase_url = "{model_url}"\nmodel = "gpt-4o-mini"\n'
            "[limits]\nip_per_minute = 100000000\nvisitor_per_minute = 100000000\n"
        )
        env = {**os.environ, "OPENAI_API_KEY": "bench", "TACTFUL_TOKEN_SECRET": "bench-secret"}
        processes.append(subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--config", str(config)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))  # fmt: skip
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        wait_up(url + "/healthz")
    return processes, urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--database-url", default=os.environ.get("TACTFUL_TEST_DATABASE_URL",
                                                                  "postgresql://postgres@127.0.0.1:5432/test"))  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("TACTFUL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    database_url = f"{args.database_url}?options={quote(f'-csearch_path={schema}')}"
    model = stand_in_model()
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            process, hello_url = start_hello(Path(tmp))
            try:
                results["bare ASGI hello-world, 1 process"] = run_load([hello_url], args.seconds, args.connections)
            finally:
                stop([process])
            for n in (1, 2, 3):
                processes, urls = start_replicas(n, Path(tmp), database_url, args.redis_url, f"bench-{uuid.uuid4().hex[:6]}:",
                                                 f"http://127.0.0.1:{model.server_address[1]}")  # fmt: skip
                try:
                    token = decode(TokenReply, httpx.post(urls[0] + "/v1/token").content).token
                    body = msgpack.packb(CART)
                    headers = {"content-type": CONTENT_TYPE, "authorization": f"Bearer {token}"}
                    first = decode(MessageReply, httpx.post(urls[-1] + "/v1/message", content=body, headers=headers).content)
                    check = [decode(MessageReply, httpx.post(u + "/v1/message", content=body, headers=headers).content)
                             for u in urls]  # fmt: skip
                    if first.source not in ("model", "cache") or {c.source for c in check} != {"cache"}:
                        raise RuntimeError(f"not the cached path: {first.source}, {[c.source for c in check]}")
                    results[f"cached /v1/message, {n} replica{'s' if n > 1 else ''}"] = run_load(
                        [u + "/v1/message" for u in urls], args.seconds, args.connections, "POST", body,
                        (f"content-type: {CONTENT_TYPE}", f"authorization: Bearer {token}"))  # fmt: skip
                finally:
                    stop(processes)
    finally:
        model.shutdown()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    base = results["bare ASGI hello-world, 1 process"]["rps"]
    print(f"tactful replicas benchmark ({os.cpu_count()} cores; raw load generator in its own process, "
          f"{args.connections} keep-alive connections, {args.seconds:g} s each; one run)")
    for name, r in results.items():
        bad = {k: v for k, v in r["statuses"].items() if k != "200"}
        print(f"  {name:<38} {r['rps']:>7,.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
              f"{r['rps'] / base:4.2f}x hello" + (f"  non-200: {bad}" if bad else ""))
    one = results["cached /v1/message, 1 replica"]["rps"]
    print("  replicas / 1 replica: " + ", ".join(f"{n}: {results[f'cached /v1/message, {n} replicas']['rps'] / one:.2f}x"
                                              for n in (2, 3)))  # fmt: skip
    print("  (two cores shared by the generator, the replicas, PostgreSQL and Redis: a third replica has no core "
          "to run on; see the docstring)")


if __name__ == "__main__":
    with recorded("replicas"):
        main()
