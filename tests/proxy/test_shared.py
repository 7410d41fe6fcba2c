"""The shared state's contract, run against both backends: this process's memory (the embedded
default) and Redis (every replica's). Rate-limit buckets, the message cache, the model's circuit
breaker and the chats' turns mean the same on either; Redis keeps time by its own clock, so what
only a turned clock can show is shown on the local state here and by tests/proxy/test_limits.py.

A Redis that goes away is not an error: each call falls back to this process's memory, counted in
``tactful_backend_errors_total{backend="redis"}`` and logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from loopback import free_port, run_async

from tactful.proxy import Metrics, load_config, open_state


class Clock:
    def __init__(self) -> None:
        self.now = 0.0  # a clock may start at zero (a simulation's does): nothing is open or expired at its start

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "redis"])
def backend(request, tmp_path):
    """(settings, clock): load_config overrides for one state of this test's own, and the local
    state's clock (Redis ignores it)."""
    if request.param == "local":
        return {"data_dir": tmp_path}, Clock()
    from services import REDIS_URL

    prefix = request.getfixturevalue("redis_prefix")
    return {"data_dir": tmp_path, "redis_url": REDIS_URL, "redis_prefix": prefix}, Clock()


def with_state(backend, work, metrics=None, **settings):
    """``await work(state, clock)`` on a started state; closed after. Without ``metrics`` of the
    test's own, Redis must have answered every call (no silent fallback to local memory)."""
    overrides, clock = backend
    config = load_config(None, env={}, **{**overrides, **settings})
    counted = metrics or Metrics()

    async def run():
        state = open_state(config, counted, clock=clock)
        await state.start()
        try:
            return await work(state, clock)
        finally:
            await state.close()

    result = run_async(run)
    if metrics is None:
        assert counted.value("tactful_backend_errors_total", backend="redis") == 0
    return result


def redis_ttls(backend) -> dict[str, int]:
    """Every key under the test's prefix with its time to live (ms), read by a client of our own."""
    import redis

    overrides, _ = backend
    client = redis.Redis.from_url(overrides["redis_url"], decode_responses=True)
    try:
        return {key: client.pttl(key) for key in client.scan_iter(f"{overrides['redis_prefix']}*")}
    finally:
        client.close()


def test_a_bucket_holds_a_burst_as_large_as_its_rate_then_says_how_long(backend):
    async def work(state, clock):
        burst = [await state.take("visitor", "v1", 60) for _ in range(60)]
        refused = await state.take("visitor", "v1", 60)
        others = [await state.take("visitor", "v2", 60), await state.take("ip", "v1", 60)]
        slow = [await state.take("mint", "a", 0.5), await state.take("mint", "a", 0.5)]
        return burst, refused, others, slow

    burst, refused, others, slow = with_state(backend, work)
    assert burst == [0.0] * 60
    assert 0.5 < refused <= 1.0  # the next of 60 a minute is at most a second away
    assert others == [0.0, 0.0]  # another visitor, another limit: buckets of their own
    assert slow[0] == 0.0 and 115 < slow[1] <= 120  # half a request a minute: one, then two minutes


def test_messages_are_cached_for_the_cache_ttl(backend):
    async def work(state, clock):
        await state.cache_put("cart_exit|cart|en", "Still thinking it over?")
        hit, miss = await state.cache_get("cart_exit|cart|en"), await state.cache_get("cart_exit|cart|de")
        clock.now += 3600.5
        return hit, miss, await state.cache_get("cart_exit|cart|en")

    hit, miss, later = with_state(backend, work, cache_ttl=3600.0)
    assert hit == "Still thinking it over?" and miss is None
    if backend[0].get("redis_url"):
        ttls = redis_ttls(backend)
        assert list(ttls) == [f"{backend[0]['redis_prefix']}cache:cart_exit|cart|en"]
        assert 3_590_000 < next(iter(ttls.values())) <= 3_600_000
    else:
        assert later is None  # an hour and a half-second later it is gone


@pytest.mark.parametrize(("entries", "kept"), [(0, None), (1, "text")])
def test_a_cache_of_no_entries_keeps_nothing_and_of_one_keeps_one(backend, entries, kept):
    async def work(state, clock):
        await state.cache_put("k", "text")
        return await state.cache_get("k")

    assert with_state(backend, work, cache_entries=entries) == kept


def test_a_cache_ttl_under_a_millisecond_still_expires(backend):
    async def work(state, clock):
        await state.cache_put("k", "text")
        clock.now += 0.01
        for _ in range(100):  # Redis's own clock: its millisecond passes
            if await state.cache_get("k") is None:
                return True
            await asyncio.sleep(0.005)
        return False

    assert with_state(backend, work, cache_ttl=0.0001)


def test_the_breaker_opens_at_the_threshold_and_a_success_starts_the_count_again(backend):
    async def work(state, clock):
        seen = []
        for ok in (False, False, True, False, False):
            await state.breaker_record(ok)
            seen.append(await state.breaker_open())
        await state.breaker_record(False)  # the third failure in a row
        seen.append(await state.breaker_open())
        return seen

    assert with_state(backend, work, breaker_failures=3, breaker_cooldown=30.0) == [False] * 5 + [True]
    if backend[0].get("redis_url"):
        prefix = backend[0]["redis_prefix"]
        ttls = redis_ttls(backend)
        assert list(ttls) == [f"{prefix}breaker:open"] and 29_000 < ttls[f"{prefix}breaker:open"] <= 30_000


def test_an_open_breaker_closes_after_its_cooldown_and_counts_afresh(backend):
    cooldown = 0.2

    async def work(state, clock):
        for _ in range(2):
            await state.breaker_record(False)
        opened = await state.breaker_open()
        clock.now += cooldown
        for _ in range(100):  # Redis: until its own clock passes the cooldown
            if not await state.breaker_open():
                break
            await asyncio.sleep(0.01)
        closed = not await state.breaker_open()
        await state.breaker_record(False)  # one failure after the cooldown is one, not three
        return opened, closed, await state.breaker_open()

    assert with_state(backend, work, breaker_failures=2, breaker_cooldown=cooldown) == (True, True, False)


def test_a_chat_keeps_its_last_turns_for_the_token_ttl(backend):
    async def work(state, clock):
        for i in range(10):
            await state.add_turn("s1", "pricing", f"q{i}", f"a{i}")
        await state.add_turn("s1", "cart_exit", "other", "chat")
        kept = await state.turns("s1", "pricing")
        other = await state.turns("s2", "pricing")
        clock.now += 60.0
        at_the_end = await state.turns("s1", "pricing")  # the last instant of its lifetime: still there
        clock.now += 0.5
        return kept, other, at_the_end, await state.turns("s1", "pricing")

    kept, other, at_the_end, later = with_state(backend, work, token_ttl=60.0, max_turns=6)
    assert kept == [(role, f"{letter}{i}") for i in range(2, 10) for role, letter in (("visitor", "q"), ("agent", "a"))]
    assert other == []
    if backend[0].get("redis_url"):
        prefix = backend[0]["redis_prefix"]
        ttls = redis_ttls(backend)
        assert sorted(ttls) == [f"{prefix}chat:s1:cart_exit", f"{prefix}chat:s1:pricing"]
        assert all(59_000 < ttl <= 60_000 for ttl in ttls.values())
    else:
        assert at_the_end == kept and later == []  # past the token's lifetime the chat is over


def test_a_turn_limit_above_eight_keeps_enough_turns_to_count(backend):
    async def work(state, clock):
        for i in range(15):
            await state.add_turn("s1", "pricing", f"q{i}", f"a{i}")
        return await state.turns("s1", "pricing")

    assert len(with_state(backend, work, max_turns=12)) == 24


def test_the_local_state_forgets_the_stalest_tenth_past_fifty_thousand_chats(tmp_path):
    def chat(i):  # the older the chat, the later its words sort: staleness is by time, not by text
        return [("visitor", f"q{99_999 - i}"), ("agent", "a")]

    async def work(state, clock):
        for i in range(50_001):
            if i == 50_000:
                full = await state.turns("s0", "pricing")  # fifty thousand chats: all kept
            clock.now += 0.001
            await state.add_turn(f"s{i}", "pricing", *(text for _, text in chat(i)))
        return full, [await state.turns(f"s{i}", "pricing") for i in (0, 4999, 5000, 50_000)]

    full, (first, last_dropped, first_kept, newest) = with_state(({"data_dir": tmp_path}, Clock()), work)
    assert full == chat(0) and first_kept == chat(5000) and newest == chat(50_000)
    assert first == last_dropped == []  # one more: the 5,000 (a tenth) nearest their end are gone


def test_a_redis_that_is_away_leaves_this_process_its_own_state(tmp_path, caplog):
    metrics = Metrics()
    clock = Clock()
    clock.now = 1000.0
    backend = ({"data_dir": tmp_path, "redis_url": f"redis://127.0.0.1:{free_port()}/0"}, clock)

    def warned():
        return [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()]

    async def work(state, clock):
        takes = [await state.take("visitor", "v1", 2) for _ in range(3)]
        apart = [await state.take("visitor", "v2", 2), await state.take("ip", "v1", 2)]
        await state.cache_put("k", "text")
        cached = await state.cache_get("k")
        breaker = []
        for ok in (False, True, False, False):  # two failures in a row open it; a success between does not
            await state.breaker_record(ok)
            breaker.append(await state.breaker_open())
        await state.add_turn("s1", "pricing", "q", "a")
        turns = await state.turns("s1", "pricing")
        clock.now += 60.0  # a minute after the warning: not yet another
        refilled = await state.take("visitor", "v1", 2)  # a minute of this process's clock: the bucket refilled
        within_the_minute = len(warned())
        clock.now += 0.5  # past the minute: warned again
        await state.cache_get("k")
        return takes, apart, cached, breaker, turns, refilled, within_the_minute

    with caplog.at_level(logging.WARNING, logger="tactful"):
        takes, apart, cached, breaker, turns, refilled, within_the_minute = with_state(backend, work, metrics, breaker_failures=2)
    assert takes[:2] == [0.0, 0.0] and takes[2] > 0 and refilled == 0.0  # the limit still holds, in this process
    assert apart == [0.0, 0.0]  # another visitor, another bucket: each its own limit, as with Redis
    assert cached == "text" and breaker == [False, False, False, True] and turns == [("visitor", "q"), ("agent", "a")]
    # start, and each call (add_turn reads the turns first)
    assert metrics.value("tactful_backend_errors_total", backend="redis") == 21
    warnings = warned()
    assert within_the_minute == 1 and len(warnings) == 2  # once a minute
    assert all("this process's own until it is back" in w for w in warnings)


class Ticking(Clock):
    """A minute and a second passes between any two readings: every fallback is warned of."""

    def __call__(self) -> float:
        self.now += 61.0
        return self.now


def test_each_warning_of_a_redis_away_names_the_error(tmp_path, caplog):
    port = free_port()
    backend = ({"data_dir": tmp_path, "redis_url": f"redis://127.0.0.1:{port}/0"}, Ticking())

    async def work(state, clock):
        await state.take("visitor", "v1", 2)
        await state.cache_put("k", "text")
        await state.cache_get("k")
        for ok in (True, False):
            await state.breaker_record(ok)
        await state.breaker_open()
        await state.add_turn("s1", "pricing", "q", "a")  # two: the turns read, then the write
        await state.turns("s1", "pricing")

    with caplog.at_level(logging.WARNING, logger="tactful"):
        with_state(backend, work, Metrics())
    warnings = [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()]
    assert len(warnings) == 10  # start and each call: a minute apart, each is logged
    for warning in warnings:
        assert warning.startswith("Redis cannot answer (ConnectionError: ") and f"127.0.0.1:{port}" in warning, warning


@pytest.mark.parametrize("hang", ["never answers", "never accepts"])
def test_a_redis_that_hangs_costs_a_call_half_a_second_and_is_not_retried(tmp_path, hang):
    """A Redis whose host is overloaded: it takes the connection and never replies, or its queue of
    connections is full and the connection itself never completes. Either way the call gives up
    after half a second (the socket and connect timeouts), once, and falls back."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0 if hang == "never accepts" else 16)  # nothing ever accepts: the kernel queues
    held = [socket.create_connection(server.getsockname())] if hang == "never accepts" else []  # the queue of one full
    config = load_config(None, env={}, data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{server.getsockname()[1]}/0")
    metrics = Metrics()

    async def run():
        state = open_state(config, metrics)
        try:
            began = time.monotonic()
            await asyncio.wait_for(state.cache_put("k", "text"), 5)  # a hang would end here, not in CI's timeout
            return time.monotonic() - began, await state.local.cache_get("k")
        finally:
            await state.close()

    try:
        took, fallback = run_async(run)
    finally:
        for sock in (*held, server):
            sock.close()
    assert 0.4 < took < 0.95, took  # half a second, once: no second attempt
    assert fallback == "text" and metrics.value("tactful_backend_errors_total", backend="redis") == 1
