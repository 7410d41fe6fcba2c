"""Loopback helpers shared by the proxy, browser and demo tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import msgpack
import uvicorn

from tactful.core import CONTENT_TYPE, TokenReply, TokenRequest, decode, encode
from tactful.proxy import create_app, server_config


def run_async(coroutine_function):
    """``asyncio.run(coroutine_function())`` on a thread of its own: the browser tests' Playwright keeps
    an event loop running on the main thread, where ``asyncio.run`` would refuse to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningProxy:
    """The proxy app served by uvicorn on a loopback port, in a background thread."""

    def __init__(self, config, **app_options):
        self.app = create_app(config, **app_options)
        self.proxy = self.app.state.proxy
        # Served exactly as `tactful serve` serves it: the same timeouts, limits and header handling.
        self.server = uvicorn.Server(server_config(self.app, replace(config, host="127.0.0.1"), log_level="error"))
        self.url = f"http://127.0.0.1:{config.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("proxy did not start")
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=10)
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)

    def call(self, coroutine):
        """Run ``coroutine`` (e.g. ``running.proxy.store.spend(day)``) on the proxy's own loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.proxy.loop).result(30)

    def token(self, visitor: str | None = None) -> str:
        """A visitor token; bound to ``visitor`` when given (as the worker asks for one)."""
        return self.token_reply(visitor).token

    def token_reply(self, visitor: str | None = None) -> TokenReply:
        body = encode(TokenRequest(visitor=visitor)) if visitor else b""
        response = self.client.post("/v1/token", content=body, headers={"content-type": CONTENT_TYPE})
        assert response.status_code == 200, response.text
        return decode(TokenReply, response.content)

    def vouched(self, beacon):
        """``beacon`` with a token bound to its visitor, as a browser sends it."""
        return replace(beacon, token=self.token(beacon.visitor))

    def post(self, path: str, body: dict, token: str | None = None, **headers) -> httpx.Response:
        if token:
            body = {**body, "token": token}
        return self.client.post(path, content=msgpack.packb(body), headers={"content-type": CONTENT_TYPE, **headers})


class ServedApp:
    """Any ASGI app served by uvicorn on a loopback port, in a background thread."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="off"))  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
