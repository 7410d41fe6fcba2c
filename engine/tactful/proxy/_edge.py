"""The proxy's HTTP edge: one ASGI middleware per concern, outermost first.

::

    UnreadBodyClose a response sent before the request's body was read closes the connection
                    (every path: a refusal never waits for a body it will not read)
    ErrorBoundary   every ProxyError -> 4xx JSON with a reason; anything else -> a logged 500;
                    counts requests and time per endpoint
    OriginGate      exact-origin CORS: preflights answered, foreign origins refused (403)
    RateLimit       per client address, and per visitor when the token is in the header,
                    before a byte of the body is read (429 with retry-after)
    BodyDecoder     content type, size limits while streaming, msgpack decoding into the
                    endpoint's wire message; a token in the body is checked here
    (router)        thin handlers that see one decoded, validated message

Each layer passes scopes it does not handle (lifespan, other paths) through untouched,
as Starlette's own middleware does. Only the paths in ``endpoints`` are guarded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from tactful.core import CONTENT_TYPE, WireError, decode

from ._errors import BadRequest, BodyTimeout, Forbidden, ProxyError, RateLimited, TooLarge, Unsupported
from ._metrics import Metrics

log = logging.getLogger("tactful.proxy")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MESSAGE_KEY = "tactful.message"  # scope key: the decoded wire message
SUBJECT_KEY = "tactful.subject"  # scope key: the visitor token's subject (or the client address)
ADDRESS_KEY = "tactful.address"  # scope key: the client's address (set by RateLimit for every endpoint)


@dataclass(frozen=True)
class Endpoint:
    """One guarded route: its metric name, the wire message it takes, whether it needs a token."""

    name: str
    message: type
    need_token: bool = True
    empty_ok: bool = False  # an empty body is allowed (and decodes to no message)


def route_path(scope: Scope) -> str:
    """The path below where this app is mounted (``tactful demo`` mounts the proxy at /tactful-api)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _error_body(reason: str) -> bytes:
    return json.dumps({"error": reason}).encode()


INTERNAL_ERROR = (500, [(b"content-type", b"application/json")], _error_body("internal error"))  # a bug's answer: no detail


def error_parts(err: ProxyError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of the 4xx for ``err`` (the edge's and the handlers' one rendering)."""
    headers = [(b"content-type", b"application/json")]
    retry_after = getattr(err, "retry_after", None)  # a 429, or a 503 while a backend is away
    if retry_after is not None:
        headers.append((b"retry-after", f"{max(1, round(retry_after))}".encode()))
    return err.status, headers, _error_body(err.reason)


class _Layer:
    """Shared plumbing: the wrapped app and the guarded endpoints."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, Endpoint]):
        self.app = app
        self.endpoints = endpoints

    def endpoint(self, scope: Scope) -> Endpoint | None:
        return self.endpoints.get(route_path(scope)) if scope["type"] == "http" else None


class UnreadBodyClose:
    """Answering before the body has arrived (a 403, a 429, a 413, a 404) leaves that body on the wire;
    HTTP/1.1 then expects the server to read and discard it, and a client that declared a large body
    and sends it slowly would hold the connection. Such responses say ``connection: close`` instead."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        received = [False]

        async def watch_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                received[0] = True
            return message

        async def close_if_unread(message: Message) -> None:
            if message["type"] == "http.response.start" and not received[0]:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, watch_receive, close_if_unread)


def _has_body(scope: Scope) -> bool:
    # (h11 refuses a Content-Length that is not digits before the app sees the request)
    return _header(scope, b"content-length") not in (None, "0") or _header(scope, b"transfer-encoding") is not None


class ErrorBoundary(_Layer):
    def __init__(self, app: ASGIApp, endpoints: dict[str, Endpoint], metrics: Metrics):
        super().__init__(app, endpoints)
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        started, status, sent = time.perf_counter(), [500], [False]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0], sent[0] = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as err:
            refusal = error_parts(err) if isinstance(err, ProxyError) else None
            if refusal is None:
                log.exception("unexpected error on %s", scope["path"])
            if sent[0]:
                # Answered already: the router's own 500 for a bug (INTERNAL_ERROR), logged here once.
                # (Every guarded answer is one piece; uvicorn would cut off a half-sent one itself.)
                return
            code, headers, body = refusal or INTERNAL_ERROR
            await _respond(watch, code, body, [*headers, *scope.get("tactful.cors", [])])
        finally:
            self.metrics.inc("tactful_requests_total", endpoint=endpoint.name, status=str(status[0]))
            self.metrics.inc("tactful_request_seconds_total", time.perf_counter() - started, endpoint=endpoint.name)


class OriginGate(_Layer):
    """Exact-origin CORS. A request without ``Origin`` (same-origin fetch, server to server) passes."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, Endpoint], allowed: Callable[[str], bool]):
        super().__init__(app, endpoints)
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.endpoint(scope) is None:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is not None and not self.allowed(origin):
            raise Forbidden(f"origin {origin!r} is not allowed")
        cors = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")] if origin else []
        scope["tactful.cors"] = cors
        if scope["method"] == "OPTIONS":
            await _respond(send, 204, b"", [*cors, (b"access-control-allow-methods", b"POST"),
                                             (b"access-control-allow-headers", b"content-type, authorization"),
                                             (b"access-control-max-age", b"600")])  # fmt: skip
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and cors:
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, with_cors)


def bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def client_address(scope: Scope, trusted: tuple[str, ...]) -> str:
    """Who sent the request: the peer, unless the peer is a configured proxy; then the last address of
    ``X-Forwarded-For`` that is not one of our proxies. (An address any client can write in a header is
    believed only as far as our own proxies vouch for it: by default, not at all.)"""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if peer not in trusted:
        return peer
    forwarded = [hop.strip() for hop in (_header(scope, b"x-forwarded-for") or "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted:
            return hop[:64]
    return peer


Limit = Callable[[str, str], Awaitable[float]]  # (bucket, key) -> 0 when allowed, else seconds to wait
Verify = Callable[[str], "str | None"]  # a visitor token -> its subject, or None


class RateLimit(_Layer):
    """Token buckets per client address and per visitor, before the body is read; minting visitor
    tokens has its own, smaller bucket per address. The buckets are the shared state's (``_shared``):
    with Redis, every replica counts against the same ones."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, Endpoint], limit: Limit, verify: Verify,
                 trusted: tuple[str, ...] = ()):  # fmt: skip
        super().__init__(app, endpoints)
        self.limit = limit
        self.verify = verify
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.trusted)
        scope[ADDRESS_KEY] = address
        wait = await self.limit("ip", address)
        if wait:
            raise RateLimited("too many requests from this address", wait)
        if endpoint.name == "token" and scope["method"] == "POST":
            wait = await self.limit("mint", address)
            if wait:
                raise RateLimited("too many visitor tokens for this address", wait)
        token = bearer(scope)
        if endpoint.need_token and token is not None:
            subject = self.verify(token)
            if subject is None:
                raise Forbidden("the visitor token is forged, malformed or expired (POST /v1/token)")
            await limit_visitor(self.limit, subject)
            scope[SUBJECT_KEY] = subject
        await self.app(scope, receive, send)


async def limit_visitor(limit: Limit, subject: str) -> None:
    wait = await limit("visitor", subject)
    if wait:
        raise RateLimited("too many requests from this visitor", wait)


class BodyDecoder(_Layer):
    """Reads at most ``max_body`` bytes, decodes the endpoint's message, settles the visitor."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, Endpoint], max_body: int, limit: Limit, verify: Verify,
                 require_token: bool, body_timeout: float):  # fmt: skip
        super().__init__(app, endpoints)
        self.max_body = max_body
        self.limit = limit
        self.verify = verify
        self.require_token = require_token
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint(scope)
        if endpoint is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await self.read(scope, receive, endpoint.empty_ok)
        if not body and endpoint.empty_ok:
            scope[MESSAGE_KEY] = None
            await self.app(scope, receive, send)
            return
        try:
            message = decode(endpoint.message, body)
        except WireError as err:
            raise BadRequest(str(err)) from err
        scope[MESSAGE_KEY] = message
        if endpoint.need_token and SUBJECT_KEY not in scope:
            await self.visitor_from_body(scope, getattr(message, "token", None))
        await self.app(scope, receive, send)

    async def read(self, scope: Scope, receive: Receive, empty_ok: bool) -> bytes:
        kind = (_header(scope, b"content-type") or "").split(";")[0].strip()
        if empty_ok and _header(scope, b"content-length") in (None, "0") and kind != CONTENT_TYPE:
            return b""  # a body-less POST (an older loader's /v1/token)
        if kind != CONTENT_TYPE:
            raise Unsupported(f"send {CONTENT_TYPE}")
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            raise TooLarge(f"bodies are limited to {self.max_body} bytes")
        chunks, size, more = [], 0, True
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        while more:
            try:  # a body that trickles in holds a connection: it gets the body timeout, all of it
                message = await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
            except TimeoutError as err:
                raise BodyTimeout(f"the body did not arrive within {self.body_timeout:g} s") from err
            if message["type"] == "http.disconnect":
                raise BadRequest("the client went away mid-body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge(f"bodies are limited to {self.max_body} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def visitor_from_body(self, scope: Scope, token: str | None) -> None:
        """A token sent in the body (older browsers' way): checked and limited after decoding."""
        subject = self.verify(token) if token else None
        if subject is None:
            if self.require_token:
                raise Forbidden("a valid visitor token is required (POST /v1/token)")
            subject = scope[ADDRESS_KEY]
        await limit_visitor(self.limit, subject)
        scope[SUBJECT_KEY] = subject
