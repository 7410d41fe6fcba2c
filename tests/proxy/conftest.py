"""Real HTTP on loopback: the proxy under uvicorn in a thread, fake model servers, receivers."""

from __future__ import annotations

import pytest
from loopback import RunningProxy, free_port
from proxy_helpers import FakeModel, Receiver, serve_inbox

from tactful.proxy import load_config


@pytest.fixture()
def make_proxy(tmp_path, demo_playbook):
    """Start a proxy with config overrides; stopped at the end of the test."""
    running = []

    def start(**overrides):
        env = overrides.pop("env", {})
        playbook = overrides.pop("playbook", demo_playbook)
        clock = overrides.pop("clock", None)
        judge = overrides.pop("judge", None)
        overrides.setdefault("data_dir", tmp_path / f"data{len(running)}")
        overrides.setdefault("port", free_port())
        config = load_config(None, env=env, **overrides)
        options = {"playbook": playbook, **({"clock": clock} if clock else {}), **({"judge": judge} if judge else {})}
        proxy = RunningProxy(config, **options).__enter__()
        running.append(proxy)
        return proxy

    yield start
    for proxy in running:
        proxy.__exit__(None, None, None)


@pytest.fixture(params=["anthropic", "openai"])
def fake_model(request):
    fake = FakeModel(request.param)
    yield fake
    fake.close()


@pytest.fixture()
def smtp():
    yield from serve_inbox()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture()
def postgres():
    """A PostgreSQL schema of this test's own (skipped outside CI when there is no server)."""
    from services import DATABASE_URL, Schema, require

    require(DATABASE_URL, "database")
    schema = Schema(DATABASE_URL)
    yield schema
    schema.drop()


@pytest.fixture()
def redis_prefix():
    """A Redis key prefix of this test's own (skipped outside CI when there is no server)."""
    import uuid

    from services import REDIS_URL, drop_redis_keys, require

    require(REDIS_URL, "redis")
    prefix = f"tactful-test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    drop_redis_keys(REDIS_URL, prefix)
