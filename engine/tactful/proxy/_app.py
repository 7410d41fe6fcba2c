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
    encode,
)
from tactful.playbook_file import read_playbook

from ._config import ConfigError, ProxyConfig, secret_file
from ._edge import MESSAGE_KEY, BodyDecoder, Endpoint, ErrorBoundary, OriginGate, RateLimit, error_parts
from ._errors import BadRequest, ProxyError
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

    def origin_allowed(self, scope, origin: str) -> bool:
        host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
        own = f"{scope.get('scheme', 'http')}://{host}"
        return origin == own or origin in self.config.allowed_origins

    def edge(self, app):
        """The HTTP edge around the router, outermost first (see ``_edge``)."""
        limits = RateLimit(app, ENDPOINTS, self.by_ip, self.by_visitor, self.tokens)
        decoder = BodyDecoder(app, ENDPOINTS, self.config.max_body, limits, self.config.require_token)
        limits.app = decoder
        return ErrorBoundary(OriginGate(limits, ENDPOINTS, self.origin_allowed), ENDPOINTS, self.metrics)

    # -- handlers: each sees one decoded, validated wire message ------------------

    async def token(self, _message: None) -> Response:
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
        handlers = {"token": self.token, "message": self.message, "reply": self.reply, "lead": self.lead,
                    "outcome": self.outcome}  # fmt: skip

        def thin(handler):
            async def route(request: Request) -> Response:
                return await handler(request.scope.get(MESSAGE_KEY))

            return route

        guarded = [Route(path, thin(handlers[e.name]), methods=["POST", "OPTIONS"]) for path, e in ENDPOINTS.items()]
        return [*guarded, Route("/healthz", self.healthz), Route("/metrics", self.prometheus)]


ENDPOINTS = {
    "/v1/token": Endpoint("token", None, need_token=False),
    "/v1/message": Endpoint("message", MessageRequest),
    "/v1/reply": Endpoint("reply", ReplyRequest),
    "/v1/lead": Endpoint("lead", LeadRequest),
    "/v1/outcome": Endpoint("outcome", OutcomeBeacon, need_token=False),
}


def msgpack_response(message) -> Response:
    return Response(encode(message), media_type=CONTENT_TYPE)


def create_app(
    config: ProxyConfig,
    playbook: Playbook | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: list | None = None,
) -> ProxyApp:
    """The proxy as an ASGI app. ``extra_routes`` lets ``tactful demo`` mount the shop beside it."""
    if playbook is None:
        if config.playbook is None:
            raise ConfigError("no playbook: set server.playbook in tactful.toml, TACTFUL_PLAYBOOK, or --playbook")
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

    async def proxy_error(_request: Request, err: Exception) -> Response:
        # A handler's refusal (e.g. not a lead trigger): the same 4xx the edge renders.
        if not isinstance(err, ProxyError):
            raise err
        status, headers, body = error_parts(err)
        return Response(body, status_code=status, headers={k.decode(): v.decode() for k, v in headers})

    router = Starlette(routes=[*proxy.routes(), *(extra_routes or [])], lifespan=lifespan,
                       exception_handlers={ProxyError: proxy_error})  # fmt: skip
    router.state.proxy = proxy
    return ProxyApp(proxy, router)


class ProxyApp:
    """The proxy as one ASGI app: the HTTP edge (``_edge``) around Starlette's router.

    ``state.proxy`` is the ``Proxy``; ``lifespan_context`` runs its start-up and shut-down
    when another app mounts this one (a mounted app's lifespan is the mounter's to run).
    """

    def __init__(self, proxy: Proxy, router: Starlette):
        self.state = router.state
        self.lifespan_context = router.router.lifespan_context
        self._app = proxy.edge(router)

    async def __call__(self, scope, receive, send) -> None:
        await self._app(scope, receive, send)


def serve(config: ProxyConfig, app=None) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app or create_app(config), host=config.host, port=config.port, log_level="warning")

