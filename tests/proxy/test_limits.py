"""Rate limits in this process's own state (the embedded default): token buckets of ``per_minute``
requests a minute with bursts as large, on a clock the test turns. Redis's buckets are held to the
same limits by tests/proxy/test_replicas.py."""

from __future__ import annotations

import pytest
from loopback import run_async

from tactful.proxy import load_config, open_state


@pytest.fixture
def limiter(tmp_path):
    now = [5000.0]
    state = open_state(load_config(None, env={}, data_dir=tmp_path), clock=lambda: now[0])
    assert state.name == "local"

    def take(key: str, per_minute: float, bucket: str = "visitor") -> float:
        return run_async(lambda: state.take(bucket, key, per_minute))

    return now, take


def test_a_burst_as_large_as_the_rate_then_one_more_a_second(limiter):
    now, take = limiter
    assert [take("v1", 60) for _ in range(60)] == [0.0] * 60
    assert take("v1", 60) == 1.0  # empty: the next token is a second away
    now[0] += 0.25
    assert take("v1", 60) == 0.75  # a refused request takes nothing
    now[0] += 0.75
    assert take("v1", 60) == 0.0
    assert take("v1", 60) == 1.0
    assert take("v2", 60) == 0.0  # another visitor has their own bucket...
    assert take("v1", 60, bucket="ip") == 0.0  # ...and so does another limit


def test_an_idle_bucket_refills_to_its_burst_and_no_further(limiter):
    now, take = limiter
    for _ in range(10):
        take("v1", 10)
    assert take("v1", 10) == 6.0  # 10 a minute: a token every 6 s
    now[0] += 3
    assert take("v1", 10) == 3.0  # half a token has come back: half the wait is left
    now[0] += 3
    assert take("v1", 10) == 0.0
    assert take("v1", 10) == 6.0
    now[0] += 3600  # an hour idle refills ten tokens, not six hundred
    assert [take("v1", 10) for _ in range(11)] == [0.0] * 10 + [6.0]


def test_a_rate_below_one_a_minute_still_allows_one_request(limiter):
    now, take = limiter
    assert take("v1", 0.5) == 0.0  # the burst is never below one request
    assert take("v1", 0.5) == 120.0
    now[0] += 120
    assert take("v1", 0.5) == 0.0


def test_a_full_table_forgets_the_longest_quiet_visitor(limiter):
    # Memory is bounded at 100,000 keys a limit: beyond it the longest-quiet key is dropped, and
    # starts over with a full bucket when it comes back; a key seen recently is kept.
    _, take = limiter
    assert take("busy", 1) == 0.0
    assert take("quiet", 1) == 0.0
    for i in range(99_998):
        take(f"other{i}", 1)
    assert take("busy", 1) == 60.0  # 100,000 keys: all remembered, and busy is now the most recent
    take("one more", 1)  # the 100,001st: the longest-quiet key goes
    assert take("quiet", 1) == 0.0  # dropped, so a full bucket again
    assert take("busy", 1) == 60.0
