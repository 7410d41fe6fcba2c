"""Serving the proxy on the internet: uvicorn with the limits a public server needs.

uvicorn closes a kept-alive connection that idles, but it waits for ever for request headers
that never finish: one slow client per socket holds a connection open at no cost to itself. The
protocol here adds that missing deadline. The body has its own (``BodyDecoder``'s
``body_timeout``, a 408), and the number of connections is bounded (``max_connections``; more
are answered 503 by uvicorn and closed).

=================  ==================================================================
``header_timeout``  seconds from connecting (or from the last response) to a complete
                    request head; then the connection is closed
``idle_timeout``    seconds a kept-alive connection may idle between requests
``body_timeout``    seconds to receive a request's body; then a 408
``max_connections`` connections and requests in progress at once (per process)
header size         16 KiB at most (h11's incomplete-event limit); more is a 400
=================  ==================================================================
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import fields
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

MAX_HEAD = 16 * 1024


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's head (read from ``ServerConfig``).

    A module-level class, so that ``--workers`` can hand it to processes it spawns."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm(getattr(self.config, "header_timeout", 10.0))

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # idling is the keep-alive timer's; dripping is ours
        self._arm(getattr(self.config, "timeout_keep_alive", 5.0) + getattr(self.config, "header_timeout", 10.0))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(seconds, self._head_late)

    def _head_late(self) -> None:
        # No request head in time; or we answered and the client is still sending a body nobody reads.
        waiting = self.conn.their_state is h11.IDLE or (self.conn.our_state is h11.DONE and self.conn.their_state is h11.SEND_BODY)
        if waiting and not self.transport.is_closing():
            self.transport.close()


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the head deadline our protocol reads."""

    def __init__(self, app, header_timeout: float = 10.0, **options):
        super().__init__(app, **options)
        self.header_timeout = header_timeout


def server_config(app, config, log_level: str = "warning", workers: int = 1) -> uvicorn.Config:
    """The uvicorn configuration ``tactful serve`` and ``tactful demo`` run with (and the tests).
    With ``workers`` > 1, ``app`` is an import string of an app factory."""
    return ServerConfig(
        app,
        header_timeout=config.header_timeout,
        host=config.host,
        port=config.port,
        http=HeadDeadlineProtocol,
        log_level=log_level,
        lifespan="on",
        proxy_headers=False,  # X-Forwarded-For is believed from trusted_proxies only (see _edge)
        server_header=False,
        timeout_keep_alive=config.idle_timeout,
        limit_concurrency=config.max_connections,
        h11_max_incomplete_event_size=MAX_HEAD,
        workers=workers,
        factory=workers > 1,
    )


WORKER_CONFIG = "TACTFUL_WORKER_CONFIG"  # the configuration a worker process builds its app from


def worker_config():
    """The parent's configuration, as a ``--workers`` process receives it (JSON in the environment)."""
    from ._config import load_config

    return load_config(None, **json.loads(os.environ[WORKER_CONFIG]))


def worker_app():
    """The proxy app of one ``--workers`` process: the parent's configuration, handed down as JSON."""
    from ._app import create_app

    return create_app(worker_config())


def serve(config, app=None, factory: str = "tactful.proxy._http:worker_app") -> None:
    """Run the proxy (or ``app``, which mounts it) until interrupted; ``config.workers`` processes
    share the port when it is more than one (each with its own connections to the backends), each
    building its app with ``factory`` (an import path, as uvicorn takes it)."""
    import logging

    from ._app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per model call or delivery
    if config.workers > 1:
        os.environ[WORKER_CONFIG] = json.dumps(_plain(config))
        uvicorn_config = server_config(factory, config, workers=config.workers)
        Multiprocess(uvicorn_config, sockets=[uvicorn_config.bind_socket()]).run()
        return
    uvicorn.Server(server_config(app or create_app(config), config)).run()


def _plain(config) -> dict:
    """A ProxyConfig as JSON-able overrides (secrets included: they stay in this machine's environment)."""
    values = {}
    for item in fields(config):
        value = getattr(config, item.name)
        values[item.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
    values["prices"] = {model: list(pair) for model, pair in config.prices.items()}
    values["workers"] = 1
    return values
