"""Fast shared state: rate limits, the message cache, the model breaker, chat turns.

Replicas must agree on these, but losing them costs little (a limit restarts, a message is
written again, a chat starts over), so they live in memory: the process's own (``LocalState``,
the embedded default) or Redis (``RedisState``, with ``redis_url``), where every read-modify-write
is one Lua script, atomic across replicas, timed by Redis's own clock.

A Redis that cannot be reached never fails a request: each call falls back to the process's own
state (limits per process, a local cache), counts ``tactful_backend_errors_total`` and logs once a
minute; the next call tries Redis again, so it recovers by itself.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Protocol

from ._metrics import Metrics
from ._protect import MessageCache, TokenBuckets

log = logging.getLogger("tactful.proxy")


class SharedState(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def take(self, bucket: str, key: str, per_minute: float) -> float:
        """One request from ``key`` against ``bucket`` (``per_minute``, bursts as large): 0 when
        allowed, else the seconds to wait."""

    async def cache_get(self, key: str) -> str | None: ...

    async def cache_put(self, key: str, text: str) -> None: ...

    async def breaker_open(self) -> bool:
        """Whether the model's circuit breaker is open (every replica's failures count)."""

    async def breaker_record(self, ok: bool) -> None: ...

    async def turns(self, subject: str, trigger: str) -> list[tuple[str, str]]:
        """The chat turns (role, text) the server answered for this visitor and trigger."""

    async def add_turn(self, subject: str, trigger: str, visitor: str, agent: str) -> None: ...


MAX_TURNS_KEPT = 8  # turns (question and answer) kept at least; more when the turn limit is higher


def kept_turns(config) -> int:
    """Entries (a question or an answer) kept per chat: enough for the turn limit to be counted."""
    return 2 * max(MAX_TURNS_KEPT, int(config.max_turns))


class LocalState:
    """This process's memory: the embedded default, and the fallback when Redis is away."""

    name = "local"

    def __init__(self, config, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self.buckets: dict[tuple[str, float], TokenBuckets] = {}
        self.cache = MessageCache(config.cache_ttl, config.cache_entries, clock=clock)
        self.failures = 0
        self.open_until = 0.0
        self.chats: dict[tuple[str, str], tuple[float, list[tuple[str, str]]]] = {}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def take(self, bucket: str, key: str, per_minute: float) -> float:
        buckets = self.buckets.get((bucket, per_minute))
        if buckets is None:
            buckets = self.buckets[(bucket, per_minute)] = TokenBuckets(per_minute, clock=self.clock)
        return buckets.take(key)

    async def cache_get(self, key: str) -> str | None:
        return self.cache.get(key)

    async def cache_put(self, key: str, text: str) -> None:
        self.cache.put(key, text)

    async def breaker_open(self) -> bool:
        return self.clock() < self.open_until

    async def breaker_record(self, ok: bool) -> None:
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.config.breaker_failures:
            self.open_until = self.clock() + self.config.breaker_cooldown
            self.failures = 0

    async def turns(self, subject: str, trigger: str) -> list[tuple[str, str]]:
        kept = self.chats.get((subject, trigger))
        return kept[1] if kept is not None and kept[0] >= self.clock() else []

    async def add_turn(self, subject: str, trigger: str, visitor: str, agent: str) -> None:
        turns = [*await self.turns(subject, trigger), ("visitor", visitor), ("agent", agent)][-kept_turns(self.config) :]
        self.chats[(subject, trigger)] = (self.clock() + self.config.token_ttl, turns)
        if len(self.chats) > 50_000:  # drop the stalest conversations
            for key, _ in sorted(self.chats.items(), key=lambda item: item[1][0])[: len(self.chats) // 10]:
                del self.chats[key]


# A token bucket in one step: refill from Redis's own clock, take one if there is one, else say how
# long to wait. Returned as a string (Lua numbers become Redis integers).
TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local held = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(held[1]) or burst
local last = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

# A failure counted by every replica; at the threshold the breaker opens for the cooldown.
FAIL = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  redis.call('DEL', KEYS[1])
end
return n
"""


class RedisState:
    """Redis (``redis_url``): one state for every replica; keys start with ``redis_prefix``."""

    name = "redis"

    def __init__(self, config, url: str, prefix: str, metrics: Metrics | None = None, clock=time.monotonic):
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.config = config
        self.prefix = prefix
        self.metrics = metrics or Metrics()
        self.clock = clock  # the fallback's time and the warnings' (keys expire by Redis's clock)
        self.local = LocalState(config, clock=clock)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)
        # Short timeouts and no retries: a Redis that is away costs a request half a second, once.
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                          retry=Retry(NoBackoff(), 0), decode_responses=True)  # fmt: skip
        self._take = self.redis.register_script(TAKE)
        self._fail = self.redis.register_script(FAIL)
        self.last_warning: float | None = None

    async def start(self) -> None:
        try:
            await self.redis.ping()
        except self.errors as err:
            self._down(err)

    async def close(self) -> None:
        await self.redis.aclose()

    def _down(self, err: BaseException) -> None:
        self.metrics.inc("tactful_backend_errors_total", backend="redis")
        now = self.clock()
        if self.last_warning is None or now - self.last_warning > 60:
            self.last_warning = now
            log.warning("Redis cannot answer (%s: %s); limits, cache and breaker are this process's own until it "
                        "is back", type(err).__name__, err)  # fmt: skip

    async def take(self, bucket: str, key: str, per_minute: float) -> float:
        try:
            wait = await self._take(keys=[f"{self.prefix}rate:{bucket}:{key}"],
                                    args=[per_minute / 60.0, max(1.0, per_minute)])  # fmt: skip
            return float(wait)
        except self.errors as err:
            self._down(err)
            return await self.local.take(bucket, key, per_minute)

    async def cache_get(self, key: str) -> str | None:
        try:
            text = await self.redis.get(f"{self.prefix}cache:{key}")
            return text if isinstance(text, str) else None
        except self.errors as err:
            self._down(err)
            return await self.local.cache_get(key)

    async def cache_put(self, key: str, text: str) -> None:
        if self.config.cache_entries <= 0:
            return
        try:
            await self.redis.set(f"{self.prefix}cache:{key}", text, px=max(1, int(self.config.cache_ttl * 1000)))
        except self.errors as err:
            self._down(err)
            await self.local.cache_put(key, text)

    async def breaker_open(self) -> bool:
        try:
            return bool(await self.redis.exists(f"{self.prefix}breaker:open"))
        except self.errors as err:
            self._down(err)
            return await self.local.breaker_open()

    async def breaker_record(self, ok: bool) -> None:
        try:
            if ok:
                await self.redis.delete(f"{self.prefix}breaker:failures")
            else:
                await self._fail(keys=[f"{self.prefix}breaker:failures", f"{self.prefix}breaker:open"],
                                 args=[self.config.breaker_failures, max(1, int(self.config.breaker_cooldown * 1000))])  # fmt: skip
        except self.errors as err:
            self._down(err)
            await self.local.breaker_record(ok)

    async def turns(self, subject: str, trigger: str) -> list[tuple[str, str]]:
        try:
            kept = await self.redis.get(self._chat(subject, trigger))
        except self.errors as err:
            self._down(err)
            return await self.local.turns(subject, trigger)
        return [(role, text) for role, text in json.loads(kept)] if kept else []

    async def add_turn(self, subject: str, trigger: str, visitor: str, agent: str) -> None:
        turns = [*await self.turns(subject, trigger), ("visitor", visitor), ("agent", agent)][-kept_turns(self.config) :]
        try:
            await self.redis.set(self._chat(subject, trigger), json.dumps(turns),
                                 px=max(1, int(self.config.token_ttl * 1000)))  # fmt: skip
        except self.errors as err:
            self._down(err)
            await self.local.add_turn(subject, trigger, visitor, agent)

    def _chat(self, subject: str, trigger: str) -> str:
        return f"{self.prefix}chat:{subject}:{trigger}"


def open_state(config, metrics: Metrics | None = None, clock=time.monotonic) -> SharedState:
    """Redis when ``redis_url`` is set, else this process's memory, timed by ``clock`` (seconds;
    simulations and tests give their own). Redis's keys expire by Redis's own clock; ``clock`` times
    its fallback to this process's memory and its warnings."""
    if config.redis_url:
        return RedisState(config, config.redis_url, config.redis_prefix, metrics, clock=clock)
    return LocalState(config, clock=clock)
