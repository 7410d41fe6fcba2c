"""The ASGI app: msgpack endpoints, exact-origin CORS, limits, and never a 500 for bad input.

    POST /v1/token     a short-lived signed visitor token
    POST /v1/message   words for a decision          (MessageRequest -> MessageReply)
    POST /v1/reply     a chat answer, scope-routed   (ReplyRequest -> ReplyReply)
    POST /v1/lead      an email, stored before reply (LeadRequest -> LeadReply)
    POST /v1/outcome   the visit's outcome beacon    (OutcomeBeacon -> 204)
    GET  /healthz      liveness
    GET  /metrics      Prometheus text
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tactful.core import (
    CONTENT_TYPE,
    LeadReply,
    LeadRequest,
    MessageRequest,
    OutcomeBeacon,
    Playbook,
    ReplyRequest,
    TokenReply,
    WireError,
    decode,
    encode,
)
from tactful.playbook_file import read_playbook

from ._config import ProxyConfig, secret_file
from ._errors import (
    BadRequest,
    Forbidden,
    ProxyError,
    RateLimited,
    TooLarge,
    Unsupported,
)
from ._metrics import Metrics
from ._outbox import Outbox
from ._protect import MessageCache, TokenBuckets, VisitorTokens
from ._store import Store, spend_day
from ._words import Words
from ._writers import Writer, make_writer

log = logging.getLogger("tactful.proxy")


class Proxy:
    """Everything one proxy process holds; the routes are its methods."""

    def __init__(self, config: ProxyConfig, playbook: Playbook, writer: Writer, clock=time.time):
        self.config = config
        self.playbook = playbook
        self.clock = clock
        self.metrics = Metrics()
        self.store = Store(config.data_dir / "tactful.sqlite3")
        secret = config.token_secret or secret_file(config.data_dir, "token")
        self.tokens = VisitorTokens(secret, config.token_ttl, clock)
        if not config.webhook_secret:
            self.config = config = replace(config, webhook_secret=secret_file(config.data_dir, "webhook"))
        self.by_ip = TokenBuckets(config.ip_per_minute)
        self.by_visitor = TokenBuckets(config.visitor_per_minute)
        self.words = Words(playbook, writer, self.store, MessageCache(config.cache_ttl, config.cache_entries),
                           self.metrics, config, clock)  # fmt: skip
        self.writer = writer
        self.outbox = Outbox(self.store, self.metrics, config, clock)
        self.metrics.gauge("tactful_outbox_rows", lambda: {(("state", k),): v for k, v in self.store.outbox_counts().items()})
        self.metrics.gauge("tactful_spend_usd_today", lambda: {(): self.store.spend(spend_day(self.clock()))["spent"]})

    # -- plumbing ---------------------------------------------------------------

    def origin_ok(self, request: Request) -> str | None:
        """The allowed Origin to echo, "" for a request without Origin; raises for a foreign one."""
        origin = request.headers.get("origin")
        if origin is None:
            return ""
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin == own or origin in self.config.allowed_origins:
            return origin
        raise Forbidden(f"origin {origin!r} is not allowed")

    async def body(self, request: Request) -> bytes:
        if request.headers.get("content-type", "").split(";")[0].strip() != CONTENT_TYPE:
            raise Unsupported(f"send {CONTENT_TYPE}")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.config.max_body):
            raise TooLarge(f"bodies are limited to {self.config.max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.config.max_body:
                raise TooLarge(f"bodies are limited to {self.config.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def limit(self, request: Request, token: str | None, need_token: bool) -> None:
        ip = request.client.host if request.client else "unknown"
        wait = self.by_ip.take(ip)
        if wait:
            raise RateLimited("too many requests from this address", wait)
        if not need_token:
            return
        subject = self.tokens.verify(token) if token else None
        if subject is None:
            if self.config.require_token:
                raise Forbidden("a valid visitor token is required (POST /v1/token)")
            subject = ip
        wait = self.by_visitor.take(subject)
        if wait:
            raise RateLimited("too many requests from this visitor", wait)

    def endpoint(self, name: str, handler, cls=None, need_token: bool = True):
        async def route(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            allowed = None
            try:
                allowed = self.origin_ok(request)
                if request.method == "OPTIONS":
                    response = Response(status_code=204)
                else:
                    message = None
                    if cls is not None:
                        try:
                            message = decode(cls, await self.body(request))
                        except WireError as err:
                            raise BadRequest(str(err)) from err
                    self.limit(request, getattr(message, "token", None), need_token)
                    response = await handler(message)
            except ProxyError as err:
                headers = {"retry-after": f"{err.retry_after:.0f}"} if isinstance(err, RateLimited) else {}
                response = JSONResponse({"error": err.reason}, status_code=err.status, headers=headers)
            if allowed:
                response.headers["access-control-allow-origin"] = allowed
                response.headers["vary"] = "Origin"
                if request.method == "OPTIONS":
                    response.headers["access-control-allow-methods"] = "POST"
                    response.headers["access-control-allow-headers"] = "content-type"
                    response.headers["access-control-max-age"] = "600"
            status = response.status_code
            self.metrics.inc("tactful_requests_total", endpoint=name, status=str(status))
            self.metrics.inc("tactful_request_seconds_total", time.perf_counter() - started, endpoint=name)
            return response

        return route

    # -- handlers ---------------------------------------------------------------

    async def token(self, _message) -> Response:
        token = self.tokens.issue()
        return msgpack_response(TokenReply(token=token, expires=int(self.clock() + self.config.token_ttl)))

    async def message(self, message: MessageRequest) -> Response:
        return msgpack_response(await self.words.message(message))

    async def reply(self, message: ReplyRequest) -> Response:
        return msgpack_response(await self.words.reply(message))

    async def lead(self, message: LeadRequest) -> Response:
        trig = self.playbook.trigger(message.trigger)
        if trig is None or trig.kind != "lead":
            raise BadRequest(f"{message.trigger!r} is not a lead trigger")
        if not message.consent:
            raise BadRequest("the visitor did not consent to be contacted")
        targets = []
        if trig.followup.webhook:
            targets.append(("webhook", trig.followup.webhook))
        if trig.followup.email:
            targets.append(("email", trig.followup.email))
        lead = {"email": message.email, "trigger": trig.id, "page_kind": message.page_kind,
                "session": message.session, "locale": message.locale}  # fmt: skip
        lead_id, created = self.store.add_lead(lead, targets, self.clock())
        if created:
            self.metrics.inc("tactful_leads_total", trigger=trig.id)
            self.outbox.wake.set()
        return msgpack_response(LeadReply(id=lead_id, status="stored"))

    async def outcome(self, beacon: OutcomeBeacon) -> Response:
        self.store.upsert_outcome(beacon, self.clock())
        self.metrics.inc("tactful_outcomes_total", arm=beacon.arm)
        return Response(status_code=204)

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "writer": self.writer.name})

    async def prometheus(self, _request: Request) -> Response:
        return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4")

    def routes(self) -> list[Route]:
        methods = ["POST", "OPTIONS"]
        return [
            Route("/v1/token", self.endpoint("token", self.token, None, need_token=False), methods=methods),
            Route("/v1/message", self.endpoint("message", self.message, MessageRequest), methods=methods),
            Route("/v1/reply", self.endpoint("reply", self.reply, ReplyRequest), methods=methods),
            Route("/v1/lead", self.endpoint("lead", self.lead, LeadRequest), methods=methods),
            Route("/v1/outcome", self.endpoint("outcome", self.outcome, OutcomeBeacon, need_token=False),
                  methods=methods),  # fmt: skip
            Route("/healthz", self.healthz),
            Route("/metrics", self.prometheus),
        ]


def msgpack_response(message) -> Response:
    return Response(encode(message), media_type=CONTENT_TYPE)


def create_app(
    config: ProxyConfig,
    playbook: Playbook | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: list | None = None,
) -> Starlette:
    """The proxy as an ASGI app. ``extra_routes`` lets ``tactful demo`` mount the shop beside it."""
    if playbook is None:
        playbook = read_playbook(config.playbook)
    proxy = Proxy(config, playbook, make_writer(config, transport))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        proxy.outbox.start()
        try:
            yield
        finally:
            await proxy.outbox.stop()
            await proxy.writer.aclose()
            proxy.store.close()

    app = Starlette(routes=[*proxy.routes(), *(extra_routes or [])], lifespan=lifespan)
    app.state.proxy = proxy
    return app


def serve(config: ProxyConfig, app=None) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app or create_app(config), host=config.host, port=config.port, log_level="warning")

