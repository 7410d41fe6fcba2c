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
``max_connections`` connections and requests in progress at once
header size         16 KiB at most (h11's incomplete-event limit); more is a 400
=================  ==================================================================
"""

from __future__ import annotations

import asyncio

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD = 16 * 1024


class _DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's head."""

    header_timeout = 10.0
    idle_timeout = 5.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm(self.idle_timeout + self.header_timeout)  # idling is the keep-alive timer's; dripping is ours

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


def server_config(app, config, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn configuration ``tactful serve`` and ``tactful demo`` run with (and the tests)."""
    protocol = type("HeadDeadlineProtocol", (_DeadlineProtocol,),
                    {"header_timeout": config.header_timeout, "idle_timeout": config.idle_timeout})  # fmt: skip
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=protocol,
        log_level=log_level,
        lifespan="on",
        proxy_headers=False,  # X-Forwarded-For is believed from trusted_proxies only (see _edge)
        server_header=False,
        timeout_keep_alive=config.idle_timeout,
        limit_concurrency=config.max_connections,
        h11_max_incomplete_event_size=MAX_HEAD,
    )


def serve(config, app=None) -> None:
    """Run the proxy (or ``app``, which mounts it) until interrupted."""
    import logging

    from ._app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.Server(server_config(app or create_app(config), config)).run()
