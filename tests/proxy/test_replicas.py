"""Many replicas: three `tactful serve` processes on loopback sharing PostgreSQL and Redis.

A client spreads its requests across them as a load balancer would. The spend cap, the limits,
the outbox and the outcome rows are each one for all three; a replica killed mid-delivery loses
no lead; PostgreSQL or Redis going away and coming back costs nothing but documented 503s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import msgpack
import pytest
from golden import merge
from loopback import free_port, run_async
from proxy_helpers import FakeModel, healthy, wait_for
from services import DATABASE_URL, REDIS_URL, Relay

from tactful.core import CONTENT_TYPE, MessageReply, OutcomeBeacon, TokenReply, TokenRequest, decode, encode

CART = {"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart", "offer": "cart10"}
LEAD = {"v": 1, "trigger": "longform_lead", "page_kind": "article", "consent": True}


class Replicas:
    """``n`` proxy processes with one configuration (each on its own port), started and stopped together."""

    def __init__(self, tmp_path, playbook: dict, n: int = 3, env: dict | None = None, **settings):
        self.tmp_path = tmp_path
        path = tmp_path / "playbook.json"
        path.write_text(json.dumps(playbook))
        self.settings = {"playbook": str(path), "data_dir": str(tmp_path / "data"), **settings}
        self.env = {**os.environ, "TACTFUL_TOKEN_SECRET": "", **(env or {})}
        self.ports = [free_port() for _ in range(n)]
        self.processes: dict[int, subprocess.Popen] = {}
        for port in self.ports:
            self.start(port)
        for port in self.ports:
            wait_for(lambda port=port: healthy(port), timeout=40)

    def start(self, port: int) -> None:
        config = self.tmp_path / f"tactful-{port}.toml"
        lines = ["[server]", f"port = {port}"]
        sections = {"backends": ("database_url", "redis_url", "redis_prefix"),
                    "leads": ("lease", "backoff", "retry_for"), "budget": ("daily_usd",),
                    "limits": ("visitor_per_minute", "ip_per_minute", "tokens_per_minute"),
                    "model": ("provider", "model", "base_url", "timeout", "max_retries", "max_in_flight"),
                    "cache": ("cache_entries",)}  # fmt: skip
        placed = {key for keys in sections.values() for key in keys}
        lines += [f"{key} = {json.dumps(value)}" for key, value in self.settings.items() if key not in placed]
        for section, keys in sections.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(self.settings[key])}" for key in keys if key in self.settings]
        config.write_text("\n".join(lines) + "\n")
        with open(self.tmp_path / f"replica-{port}.log", "ab") as log:  # the child keeps its own copy
            self.processes[port] = subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--config", str(config)],
                                                    stdout=log, stderr=log, env=self.env)  # fmt: skip

    def urls(self):
        return itertools.cycle([f"http://127.0.0.1:{port}" for port in self.ports])

    def kill(self, port: int) -> None:
        os.kill(self.processes[port].pid, signal.SIGKILL)
        self.processes[port].wait(10)

    def logs(self) -> str:
        return "".join(p.read_text() for p in self.tmp_path.glob("replica-*.log"))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


async def tokens(client: httpx.AsyncClient, urls, n: int, prefix: str = "") -> list[str]:
    """``n`` visitor tokens from the replicas in turn; bound to visitors prefix0.. when a prefix is given."""
    bodies = [encode(TokenRequest(visitor=f"{prefix}{i}")) if prefix else b"" for i in range(n)]
    replies = [await client.post(next(urls) + "/v1/token", content=body, headers={"content-type": CONTENT_TYPE})
               for body in bodies]  # fmt: skip
    return [decode(TokenReply, r.content).token for r in replies]


def shared(postgres, redis_prefix, **settings):
    return {"database_url": postgres.url, "redis_url": REDIS_URL, "redis_prefix": redis_prefix, **settings}


def test_three_replicas_hold_one_spend_cap_and_one_set_of_limits(tmp_path, demo_source, postgres, redis_prefix):
    fake = FakeModel("openai")
    fake.usage = (400, 120)  # every call really costs 0.0004 + 0.0006 = 0.001 USD at the haiku price
    cap = 0.05
    replicas = Replicas(tmp_path, demo_source, env={"OPENAI_API_KEY": "k"},
                        **shared(postgres, redis_prefix, provider="openai", model="claude-haiku-4-5",
                                 base_url=fake.url + "/v1", timeout=5.0, max_retries=0, cache_entries=0,
                                 daily_usd=cap, visitor_per_minute=40, ip_per_minute=100000,
                                 tokens_per_minute=100000))  # fmt: skip
    try:
        async def load():
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=120)) as client:
                urls = replicas.urls()
                visitors = await tokens(client, urls, 25)
                # 500 concurrent message requests, 20 per visitor, spread over the three replicas
                burst = await asyncio.gather(*(
                    client.post(next(urls) + "/v1/message", content=msgpack.packb({**CART, "token": visitors[i % 25]}),
                                headers={"content-type": CONTENT_TYPE}) for i in range(500)))  # fmt: skip
                # one more visitor, 100 requests round-robin: its 40-a-minute limit is one limit, not three
                (one,) = await tokens(client, urls, 1)
                limited = [await client.post(next(urls) + "/v1/message", content=msgpack.packb({**CART, "token": one}),
                                             headers={"content-type": CONTENT_TYPE}) for _ in range(100)]  # fmt: skip
                return burst, limited

        burst, limited = run_async(load)
    finally:
        replicas.stop()
        fake.close()
    assert [r.status_code for r in burst] == [200] * 500
    sources = [decode(MessageReply, r.content).source for r in burst]
    ((spent, reserved, calls),) = postgres.query("SELECT spent, reserved, calls FROM spend")
    assert spent <= cap + 1e-9 and abs(reserved) < 1e-9  # one cap, reservations all settled
    assert fake.calls == calls == sources.count("model") >= 40  # the cap was reached: the rest are templates
    assert sources.count("template") == 500 - fake.calls
    codes = [r.status_code for r in limited]
    assert 40 <= codes.count(200) <= 45 and set(codes) == {200, 429}  # alone, each replica would allow 40 (120)
    assert "Traceback" not in replicas.logs()


def test_a_replica_killed_mid_delivery_loses_no_lead(tmp_path, demo_source, postgres, redis_prefix, receiver):
    receiver.hang_first = 3.0  # the first delivery hangs long enough for its replica to be killed
    playbook = merge(demo_source, {"followup": {"webhook": receiver.url, "email": ""}})
    replicas = Replicas(tmp_path, playbook, **shared(postgres, redis_prefix, lease=2.0, backoff=0.2,
                                                       tokens_per_minute=100000, ip_per_minute=100000))  # fmt: skip
    try:
        urls = replicas.urls()
        lead_ids = []
        for i in range(30):
            base = next(urls)
            token = decode(TokenReply, httpx.post(base + "/v1/token").content).token
            reply = httpx.post(base + "/v1/lead", content=msgpack.packb({**LEAD, "email": f"b{i}@example.com", "token": token}),
                               headers={"content-type": CONTENT_TYPE})  # fmt: skip
            assert reply.status_code == 200, reply.text
            lead_ids.append(msgpack.unpackb(reply.content)["id"])
            if i == 0:
                wait_for(lambda: receiver.requests)  # one replica is now inside the hanging delivery...
                killed = _process_with_local_port(replicas, receiver.requests[0]["peer"])
                replicas.kill(killed)  # ...and dies there
                urls = itertools.cycle([f"http://127.0.0.1:{p}" for p in replicas.ports if p != killed])
        wait_for(lambda: receiver.delivered() == set(lead_ids), timeout=40)
    finally:
        replicas.stop()
    ok = [r["key"] for r in receiver.requests if r.get("ok")]
    assert set(ok) == set(lead_ids)
    assert len(ok) - len(set(ok)) <= 1  # only the row in flight at the kill may have arrived twice (same key)
    states = dict(postgres.query("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
    assert states == {"delivered": 30}


def _process_with_local_port(replicas: Replicas, local_port: int) -> int:
    """The port of the replica whose process owns the TCP connection from ``local_port`` (read from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(fields[9])
    for port, process in replicas.processes.items():
        fd_dir = f"/proc/{process.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return port
    raise AssertionError(f"no replica owns the connection from port {local_port}")


def _bound_tokens(urls, n: int, prefix: str) -> list[str]:
    """Tokens bound to visitors prefix0.., each minted by the next replica (synchronously: pytest's
    thread may hold Playwright's event loop)."""
    replies = [httpx.post(next(urls) + "/v1/token", content=encode(TokenRequest(visitor=f"{prefix}{i}")),
                          headers={"content-type": CONTENT_TYPE}, timeout=20) for i in range(n)]  # fmt: skip
    return [decode(TokenReply, r.content).token for r in replies]


def test_outcome_beacons_to_different_replicas_are_one_row_per_visit(tmp_path, demo_source, postgres, redis_prefix):
    replicas = Replicas(tmp_path, demo_source, **shared(postgres, redis_prefix, ip_per_minute=100000))
    try:
        urls = replicas.urls()
        bound = _bound_tokens(urls, 7, "v")  # each minted by one replica, honoured by all
        for visit in range(20):
            beacon = OutcomeBeacon(visitor=f"v{visit % 7}", session=f"v{visit % 7}:{visit}", arm="treatment",
                                   eligible=True, intervened=True, converted=False, trigger="cart_exit", phase=1,
                                   token=bound[visit % 7])  # fmt: skip
            for step in range(3):  # the same visit's beacon, sent three times, to three replicas
                body = encode(replace(beacon, converted=step == 2, value=10.0 * step))
                assert httpx.post(next(urls) + "/v1/outcome", content=body,
                                  headers={"content-type": CONTENT_TYPE}).status_code == 204  # fmt: skip
    finally:
        replicas.stop()
    rows = postgres.query("SELECT visitor, session, converted, value FROM outcomes ORDER BY session")
    assert len(rows) == 20 and all(converted == 1 and value == 20.0 for _, _, converted, value in rows)


@pytest.mark.parametrize("away", ["postgres", "redis"])
def test_a_backend_that_goes_away_costs_only_documented_503s(tmp_path, demo_source, postgres, redis_prefix, receiver,
                                                              away):  # fmt: skip
    relay = Relay(DATABASE_URL if away == "postgres" else REDIS_URL)
    settings = shared(postgres, redis_prefix, backoff=0.2, tokens_per_minute=100000, ip_per_minute=100000,
                      visitor_per_minute=100000)  # fmt: skip
    settings["database_url" if away == "postgres" else "redis_url"] = relay.url(
        settings["database_url" if away == "postgres" else "redis_url"])
    playbook = merge(demo_source, {"followup": {"webhook": receiver.url, "email": ""}})
    replicas = Replicas(tmp_path, playbook, n=2, **settings)
    seen: dict[tuple[str, int], int] = {}
    accepted: list[str] = []
    try:
        async def traffic(phase_seconds: float):
            async with httpx.AsyncClient(timeout=20) as client:
                urls = replicas.urls()
                visitors = await tokens(client, urls, 4)
                outcome_tokens = await tokens(client, urls, 4, "o")
                deadline = time.monotonic() + phase_seconds
                n = 0
                while time.monotonic() < deadline:
                    n += 1
                    token = visitors[n % 4]
                    for path, body in (("/v1/message", {**CART, "token": token}),
                                       ("/v1/lead", {**LEAD, "email": f"c{n}-{away}@example.com", "token": token}),
                                       ("/v1/outcome", None)):  # fmt: skip
                        if body is None:
                            content = encode(OutcomeBeacon(visitor=f"o{n % 4}", session=f"o{n % 4}:{n}", arm="holdout",
                                                           eligible=False, intervened=False, converted=False,
                                                           token=outcome_tokens[n % 4]))  # fmt: skip
                        else:
                            content = msgpack.packb(body)
                        r = await client.post(next(urls) + path, content=content, headers={"content-type": CONTENT_TYPE})
                        seen[(path, r.status_code)] = seen.get((path, r.status_code), 0) + 1
                        if path == "/v1/lead" and r.status_code == 200:
                            accepted.append(msgpack.unpackb(r.content)["id"])
                        if r.status_code == 503:
                            assert int(r.headers["retry-after"]) >= 1
                    await asyncio.sleep(0.02)

        run_async(lambda: traffic(1.0))
        relay.cut()  # the backend goes away...
        run_async(lambda: traffic(3.0))
        relay.restore()  # ...and comes back
        run_async(lambda: traffic(3.0))
        wait_for(lambda: receiver.delivered() >= set(accepted), timeout=40)
    finally:
        replicas.stop()
        relay.close()
    errors = {key: count for key, count in seen.items() if key[1] >= 500}
    if away == "postgres":
        assert set(errors) <= {("/v1/lead", 503), ("/v1/outcome", 503)}, seen
        assert errors, "the cut should have been felt by leads and outcomes"
    else:
        assert errors == {}, seen  # without Redis each replica falls back to its own limits and cache
    assert seen.get(("/v1/message", 200), 0) == sum(c for (p, _), c in seen.items() if p == "/v1/message")
    stored = {row[0] for row in postgres.query("SELECT id FROM leads")}
    assert set(accepted) <= stored and receiver.delivered() >= set(accepted)  # no accepted lead lost
    late = [key for key in seen if key[0] == "/v1/lead" and key[1] == 200]
    assert late  # and after the cut, leads are accepted again: it recovered by itself
    assert "Traceback" not in replicas.logs()


def test_serve_with_workers_runs_several_processes_on_one_port(tmp_path, demo_source):
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(demo_source))
    port = free_port()
    log = open(tmp_path / "serve.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--playbook", str(path), "--port", str(port),
                                "--workers", "2"], stdout=log, stderr=log, cwd=tmp_path)  # fmt: skip
    log.close()
    try:
        wait_for(lambda: healthy(port), timeout=40)
        pids = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client() as fresh:  # a new connection each time: the kernel hands it to either process
                pids.add(fresh.get(f"http://127.0.0.1:{port}/healthz").json()["process"])
        token = decode(TokenReply, httpx.post(f"http://127.0.0.1:{port}/v1/token").content).token
        replies = [httpx.post(f"http://127.0.0.1:{port}/v1/message", content=msgpack.packb({**CART, "token": token}),
                              headers={"content-type": CONTENT_TYPE}).status_code for _ in range(6)]  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)
    assert len(pids) == 2 and process.pid not in pids  # two worker processes under one supervisor
    assert replies == [200] * 6  # a token minted by one process is good at the other (one secret)
    assert "2 processes" in (tmp_path / "serve.log").read_text()
