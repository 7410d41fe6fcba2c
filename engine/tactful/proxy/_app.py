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

import asyncio
import contextlib
import hmac
import logging
import os
import time
from dataclasses import replace

import httpx
from email_validator import EmailNotValidError, validate_email
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

from ._config import ConfigError, ProxyConfig
from ._edge import (
    MESSAGE_KEY,
    SUBJECT_KEY,
    BodyDecoder,
    Endpoint,
    ErrorBoundary,
    OriginGate,
    RateLimit,
    UnreadBodyClose,
    error_parts,
    route_path,
)
from ._errors import BadRequest, Forbidden, ProxyError, RateLimited
from ._metrics import Metrics
from ._outbox import Outbox
from ._protect import VisitorTokens
from ._shared import open_state
from ._store import BackendDown, open_store, spend_day
from ._words import Words
from ._writers import make_writer

log = logging.getLogger("tactful.proxy")


class Proxy:
    """Everything one proxy process holds; the routes are its methods.

    ``store`` keeps durable records and the spend (SQLite, or PostgreSQL with ``database_url``);
    ``state`` the fast shared facts (this process's memory, or Redis with ``redis_url``). Both are
    opened by ``start()``, which the app's lifespan runs.
    """

    def __init__(self, config: ProxyConfig, playbook: Playbook, transport: httpx.AsyncBaseTransport | None = None,
                 clock=time.time):  # fmt: skip
        held = [t.id for t in playbook.triggers if t.followup.held_by_server]
        if held:
            raise ConfigError(f"triggers {', '.join(held)}: this is the browser's copy of the playbook (its follow-up "
                              "targets are left out); give the proxy the playbook source")  # fmt: skip
        self.config = config
        self.playbook = playbook
        self.clock = clock
        self.metrics = Metrics()
        self.store = open_store(config)
        self.state = open_state(config, self.metrics)
        self.writer = make_writer(config, self.state, transport)
        self.words = Words(playbook, self.writer, self.store, self.state, self.metrics, config, clock)
        self.outbox = Outbox(self.store, self.metrics, config, clock)
        self.tokens: VisitorTokens | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.per_minute = {"ip": config.ip_per_minute, "visitor": config.visitor_per_minute,
                           "mint": config.tokens_per_minute}  # fmt: skip
        self.metrics.gauge("tactful_outbox_rows", self._outbox_rows)
        self.metrics.gauge("tactful_spend_usd_today", self._spend_today)

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()  # the loop serving this proxy (for callers on other threads)
        await self.store.start()
        await self.state.start()
        # Every replica must sign and check tokens and webhooks with the same secrets: from the
        # environment, or made once and kept by the store (with PostgreSQL, shared by all replicas).
        secret = self.config.token_secret or await self.store.secret("token")
        self.tokens = VisitorTokens(secret, self.config.token_ttl, self.clock)
        if not self.config.webhook_secret:
            self.config = replace(self.config, webhook_secret=await self.store.secret("webhook"))
            self.outbox.config = self.config
        self.outbox.start()

    async def stop(self) -> None:
        await self.outbox.stop()
        await self.writer.aclose()
        await self.state.close()
        await self.store.close()

    async def _outbox_rows(self) -> dict:
        return {(("state", k),): v for k, v in (await self.store.outbox_counts()).items()}

    async def _spend_today(self) -> dict:
        return {(): (await self.store.spend(spend_day(self.clock())))["spent"]}

    async def limit(self, bucket: str, key: str) -> float:
        return await self.state.take(bucket, key, self.per_minute[bucket])

    def verify(self, token: str) -> str | None:
        return self.tokens.verify(token) if self.tokens is not None else None

    def origin_allowed(self, _scope, origin: str) -> bool:
        # The proxy's own origin comes from configuration: a Host header is the client's to choose
        # (DNS rebinding), so it never widens the allow-list.
        return origin in self.config.allowed_origins or (bool(self.config.public_origin) and origin == self.config.public_origin)

    def edge(self, app):
        """The HTTP edge around the router, outermost first (see ``_edge``)."""
        limits = RateLimit(app, ENDPOINTS, self.limit, self.verify, self.config.trusted_proxies)
        decoder = BodyDecoder(app, ENDPOINTS, self.config.max_body, limits, self.config.require_token,
                              self.config.body_timeout)  # fmt: skip
        limits.app = decoder
        return UnreadBodyClose(ErrorBoundary(OriginGate(limits, ENDPOINTS, self.origin_allowed), ENDPOINTS, self.metrics))

    # -- handlers: each sees one decoded, validated wire message ------------------

    async def token(self, _message: None, _subject: str) -> Response:
        if self.tokens is None:
            raise BackendDown("the proxy is starting")
        token = self.tokens.issue()
        return msgpack_response(TokenReply(token=token, expires=int(self.clock() + self.config.token_ttl)))

    async def message(self, message: MessageRequest, _subject: str) -> Response:
        return msgpack_response(await self.words.message(message))

    async def reply(self, message: ReplyRequest, subject: str) -> Response:
        return msgpack_response(await self.words.reply(message, subject))

    async def lead(self, message: LeadRequest, subject: str) -> Response:
        trig = self.playbook.trigger(message.trigger)
        if trig is None or trig.kind != "lead":
            raise BadRequest(f"{message.trigger!r} is not a lead trigger")
        if message.consent is not True:
            raise BadRequest("consent to be contacted must be given explicitly (consent: true)")
        email = checked_email(message.email)
        known = await self.store.lead_id(email, trig.id)
        if known is not None:
            return msgpack_response(LeadReply(id=known, status="stored"))
        await self.limit_leads(subject)
        targets = []
        if trig.followup.webhook:
            targets.append(("webhook", trig.followup.webhook))
        if trig.followup.email:
            targets.append(("email", trig.followup.email))
        lead = {"email": email, "trigger": trig.id, "page_kind": message.page_kind,
                "session": subject, "locale": message.locale}  # fmt: skip
        lead_id, created = await self.store.add_lead(lead, targets, self.clock())
        if created:
            self.metrics.inc("tactful_leads_total", trigger=trig.id)
            self.outbox.nudge()
        return msgpack_response(LeadReply(id=lead_id, status="stored"))

    async def limit_leads(self, subject: str) -> None:
        """A visitor leaves a few leads a day; all visitors together a bounded number (a flood is an alert)."""
        day_ago = self.clock() - 86400
        if await self.store.leads_since(day_ago, subject) >= self.config.leads_per_visitor:
            self.metrics.inc("tactful_leads_refused_total", reason="visitor")
            raise RateLimited("this visitor already left the day's leads", 3600)
        if await self.store.leads_since(day_ago) >= self.config.leads_per_day:
            self.metrics.inc("tactful_leads_refused_total", reason="daily")
            log.error("ALERT lead flood: %d leads in the last day, the daily limit; refusing more", self.config.leads_per_day)
            raise RateLimited("the day's leads are full", 3600)

    async def outcome(self, beacon: OutcomeBeacon, _subject: str) -> Response:
        await self.store.upsert_outcome(beacon, self.clock())
        self.metrics.inc("tactful_outcomes_total", arm=beacon.arm)
        return Response(status_code=204)

    async def healthz(self, _request: Request) -> Response:
        # Liveness of this process only: it never waits on a backend (a load balancer that took every
        # replica out because PostgreSQL blinked would turn a degraded service into none).
        return JSONResponse({"status": "ok", "writer": self.writer.name, "store": self.store.name,
                             "state": self.state.name, "process": os.getpid()})  # fmt: skip

    async def prometheus(self, request: Request) -> Response:
        wanted = self.config.metrics_token
        given = request.headers.get("authorization", "")
        if wanted and not hmac.compare_digest(given.encode(), f"Bearer {wanted}".encode()):
            return JSONResponse({"error": "metrics need the bearer token (TACTFUL_METRICS_TOKEN)"}, status_code=401)
        return PlainTextResponse(await self.metrics.render(), media_type="text/plain; version=0.0.4")

    def routes(self) -> list[Route]:
        handlers = {"token": self.token, "message": self.message, "reply": self.reply, "lead": self.lead,
                    "outcome": self.outcome}  # fmt: skip

        def thin(handler):
            async def route(request: Request) -> Response:
                if handler in private and self.playbook.honor_gpc and request.headers.get("sec-gpc") == "1":
                    # Global Privacy Control, and the playbook honours it: only words travel.
                    self.metrics.inc("tactful_gpc_refused_total", endpoint=route_path(request.scope))
                    if handler == self.outcome:
                        return Response(status_code=204)  # nothing kept; the browser needs no error for it
                    raise Forbidden("Global Privacy Control is on: leads are not taken")
                return await handler(request.scope.get(MESSAGE_KEY), request.scope.get(SUBJECT_KEY, ""))

            return route

        private = (self.lead, self.outcome)

        guarded = [Route(path, thin(handlers[e.name]), methods=["POST", "OPTIONS"]) for path, e in ENDPOINTS.items()]
        return [*guarded, Route("/healthz", self.healthz), Route("/metrics", self.prometheus)]


ENDPOINTS = {
    "/v1/token": Endpoint("token", None, need_token=False),
    "/v1/message": Endpoint("message", MessageRequest),
    "/v1/reply": Endpoint("reply", ReplyRequest),
    "/v1/lead": Endpoint("lead", LeadRequest),
    "/v1/outcome": Endpoint("outcome", OutcomeBeacon, need_token=False),
}


def checked_email(address: str) -> str:
    """The address, normalised by a well-kept validator; a 400 for anything else (an RFC 2047 encoded
    word, quoted local parts, control characters, a domain that is not one)."""
    if "=?" in address or any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise BadRequest("email: not a plain e-mail address")
    try:
        return validate_email(address, check_deliverability=False, allow_quoted_local=False).normalized
    except EmailNotValidError as err:
        raise BadRequest(f"email: {err}") from err


def msgpack_response(message) -> Response:
    return Response(encode(message), media_type=CONTENT_TYPE)


def create_app(
    config: ProxyConfig,
    playbook: Playbook | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: list | None = None,
    clock=time.time,
) -> ProxyApp:
    """The proxy as an ASGI app. ``extra_routes`` lets ``tactful demo`` mount the shop beside it;
    ``clock`` (seconds, like ``time.time``) is what tokens, spend days, retries and retention read."""
    if playbook is None:
        if config.playbook is None:
            raise ConfigError("no playbook: set server.playbook in tactful.toml, TACTFUL_PLAYBOOK, or --playbook")
        playbook = read_playbook(config.playbook)
    proxy = Proxy(config, playbook, transport, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await proxy.start()
        try:
            yield
        finally:
            await proxy.stop()

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

