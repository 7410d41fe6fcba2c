"""The ASGI app: msgpack endpoints, exact-origin CORS, limits, and never a 500 for bad input.

    POST /v1/token     a short-lived signed visitor token
    POST /v1/message   words for a decision          (MessageRequest -> MessageReply)
    POST /v1/reply     a chat answer, scope-routed   (ReplyRequest -> ReplyReply)
    POST /v1/lead      an email, stored before reply (LeadRequest -> LeadReply)
    POST /v1/outcome   the visit's outcome beacon    (OutcomeBeacon -> 204; needs a token bound to its visitor)
    POST /v1/conversion  a purchase the shop's server confirms (JSON, Authorization: Bearer TACTFUL_SITE_SECRET)
    GET  /healthz      liveness
    GET  /metrics      Prometheus text
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
from email_validator import EmailNotValidError, validate_email
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tactful.core import (
    CONTENT_TYPE,
    TREATMENT,
    LeadReply,
    LeadRequest,
    MessageRequest,
    OutcomeBeacon,
    Playbook,
    ReplyRequest,
    TokenReply,
    TokenRequest,
    assign_arm,
    encode,
)
from tactful.playbook_file import read_playbook

from ._config import ConfigError, ProxyConfig
from ._edge import (
    ADDRESS_KEY,
    INTERNAL_ERROR,
    MESSAGE_KEY,
    SUBJECT_KEY,
    BodyDecoder,
    Endpoint,
    ErrorBoundary,
    OriginGate,
    RateLimit,
    UnreadBodyClose,
    bearer,
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

# The lift's judge of triggers (``tactful.lift.judge_triggers``, handed in by the command line, which
# sits above both): (outcome rows, confirmed conversions, offers, dismiss rate, min shown) -> {trigger: why}.
Judge = Callable[[list, list, dict, float, int], dict]


class Proxy:
    """Everything one proxy process holds; the routes are its methods.

    ``store`` keeps durable records and the spend (SQLite, or PostgreSQL with ``database_url``);
    ``state`` the fast shared facts (this process's memory, or Redis with ``redis_url``). Both are
    opened by ``start()``, which the app's lifespan runs.
    """

    def __init__(self, config: ProxyConfig, playbook: Playbook, transport: httpx.AsyncBaseTransport | None = None,
                 clock=time.time, judge: Judge | None = None):  # fmt: skip
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
        self.judge = judge
        self.paused: dict[str, dict] = {}  # trigger -> {since, why}: browsers learn it with their token
        self._watch: asyncio.Task | None = None
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
        self._watch = asyncio.create_task(self._watch_triggers())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
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

    def origin_allowed(self, origin: str) -> bool:
        # The proxy's own origin comes from configuration: a Host header is the client's to choose
        # (DNS rebinding), so it never widens the allow-list.
        return origin in self.config.allowed_origins or (bool(self.config.public_origin) and origin == self.config.public_origin)

    def edge(self, app):
        """The HTTP edge around the router, outermost first (see ``_edge``)."""
        decoder = BodyDecoder(app, ENDPOINTS, self.config.max_body, self.limit, self.verify, self.config.require_token,
                              self.config.body_timeout)  # fmt: skip
        limits = RateLimit(decoder, ENDPOINTS, self.limit, self.verify, self.config.trusted_proxies)
        return UnreadBodyClose(ErrorBoundary(OriginGate(limits, ENDPOINTS, self.origin_allowed), ENDPOINTS, self.metrics))

    # -- handlers: each sees one decoded, validated wire message ------------------

    async def token(self, message: TokenRequest | None, _subject: str, _request: Request) -> Response:
        if self.tokens is None:
            raise BackendDown("the proxy is starting")
        token = self.tokens.issue(message.visitor if message is not None else None)
        paused = ",".join(sorted(t for t in self.paused if t not in self.config.resume)) or None
        return msgpack_response(TokenReply(token=token, expires=int(self.clock() + self.config.token_ttl), paused=paused))

    async def message(self, message: MessageRequest, _subject: str, request: Request) -> Response:
        return msgpack_response(await self.words.message(message, self.visitor_of(request, message)))

    async def reply(self, message: ReplyRequest, subject: str, request: Request) -> Response:
        return msgpack_response(await self.words.reply(message, subject, self.visitor_of(request, message)))

    def visitor_of(self, request: Request, message: Any) -> str | None:
        """The visitor id the request's token is bound to (header or body), if any."""
        if self.tokens is None:
            return None
        return self.tokens.visitor(bearer(request.scope) or getattr(message, "token", None))

    async def lead(self, message: LeadRequest, subject: str, _request: Request) -> Response:
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

    async def outcome(self, beacon: OutcomeBeacon, _subject: str, request: Request) -> Response:
        """Keep a visit's outcome, as far as the proxy can vouch for it: the token must be bound to the
        beacon's visitor; the arm is recomputed from the id; "shown" is the proxy's own record."""
        bound = self.tokens.visitor(beacon.token) if self.tokens is not None and beacon.token else None
        if bound != beacon.visitor:
            reason = "unbound" if bound is None else "other_visitor"
            self.metrics.inc("tactful_outcomes_refused_total", reason=reason)
            with contextlib.suppress(BackendDown):
                await self.store.count_refusal(spend_day(self.clock()), reason)
            raise Forbidden("an outcome beacon needs a visitor token bound to its visitor id (POST /v1/token {visitor})")
        hold = self.playbook.holdout
        arm = assign_arm(hold.salt, beacon.visitor, hold.fraction, hold.hash_version)
        served = arm == TREATMENT and bool(beacon.trigger) and await self.store.served(beacon.visitor, beacon.trigger or "")
        address = request.scope[ADDRESS_KEY]
        source = hmac.new(self.tokens.key if self.tokens else b"", address.encode(), hashlib.sha256).hexdigest()[:16]
        await self.store.upsert_outcome(beacon, self.clock(), checked={"arm": arm, "served": served, "source": source})
        if arm != beacon.arm:
            self.metrics.inc("tactful_outcomes_arm_mismatch_total")
        self.metrics.inc("tactful_outcomes_total", arm=arm)
        return Response(status_code=204)

    async def conversion(self, request: Request) -> Response:
        """A purchase the shop's own server confirms: JSON {visitor, order, value, at?, code?, discount?,
        currency?} with ``Authorization: Bearer <TACTFUL_SITE_SECRET>``; idempotent by order."""
        secret = self.config.site_secret
        if not secret:
            return JSONResponse({"error": "conversions are off: set TACTFUL_SITE_SECRET on the proxy"}, status_code=404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
            return JSONResponse({"error": "the site secret is missing or wrong"}, status_code=401)
        return await self.confirm(await _json_body(request, 4096))

    async def confirm(self, body: Any) -> Response:
        """Keep one confirmed purchase (the body of POST /v1/conversion, checked field by field)."""
        row = checked_conversion(body, self.clock())
        created = await self.store.add_conversion(row)
        self.metrics.inc("tactful_conversions_total", state="stored" if created else "duplicate")
        return JSONResponse({"status": "stored" if created else "duplicate", "order": row["order_id"]},
                            status_code=201 if created else 200)  # fmt: skip

    async def judge_triggers(self) -> dict[str, dict]:
        """Pause the triggers the lift's judge finds harmful (kept in the store, so every replica and
        every browser's next token learn them); configuration's ``resume`` switches them back on."""
        paused = dict(await self.store.get_meta("paused", {}) or {})
        for trig in self.config.resume:
            paused.pop(trig, None)
        if self.judge is not None:
            found = self.judge(await self.store.outcomes(), await self.store.conversions(), dict(self.playbook.offers),
                               self.config.pause_dismiss_rate, self.config.pause_min_shown)  # fmt: skip
            fresh = {t: why for t, why in found.items() if t not in paused and t not in self.config.resume}
            for trig, why in fresh.items():
                log.warning("ALERT trigger %s paused: %s", trig, why)
                paused[trig] = {"since": self.clock(), "why": why}
            await self.store.set_meta("paused", paused)
        self.paused = paused
        return paused

    async def _watch_triggers(self) -> None:
        while True:
            try:
                await self.judge_triggers()
            except BackendDown as err:
                log.warning("triggers not judged this time: %s", err.reason)
            except Exception:  # a judge's bug must not stop the proxy; it is logged and tried again
                log.exception("judging the triggers failed")
            await asyncio.sleep(self.config.pause_every)

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
                return await handler(request.scope.get(MESSAGE_KEY), request.scope.get(SUBJECT_KEY, ""), request)

            return route

        private = (self.lead, self.outcome)

        guarded = [Route(path, thin(handlers[e.name]), methods=["POST", "OPTIONS"]) for path, e in ENDPOINTS.items()]
        return [*guarded, Route("/healthz", self.healthz), Route("/metrics", self.prometheus),
                Route("/v1/conversion", self.conversion, methods=["POST"])]  # fmt: skip


ENDPOINTS = {
    "/v1/token": Endpoint("token", TokenRequest, need_token=False, empty_ok=True),
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


_ORDER = re.compile(r"^[\x21-\x7e]{1,128}$")
_VISITOR = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


async def _json_body(request: Request, limit: int) -> Any:
    if (request.headers.get("content-type") or "").split(";")[0].strip() != "application/json":
        raise BadRequest("send application/json")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"bodies are limited to {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as err:
        raise BadRequest(f"not JSON: {err}") from err


def _number(body: dict, name: str, lo: float, hi: float, required: bool = True) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise BadRequest(f"{name}: must be a number from {lo:g} to {hi:g}")
    return float(value)


def checked_conversion(body: Any, now: float) -> dict:
    """A conversion body, checked field by field (a 400 names the field)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object {visitor, order, value, ...}")
    unknown = sorted(set(body) - {"visitor", "order", "value", "at", "code", "discount", "currency"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if not isinstance(body.get("visitor"), str) or not _VISITOR.match(body["visitor"]):
        raise BadRequest("visitor: the Tactful visitor id (tactful.visitorId() on the page), 1 to 64 characters")
    if not isinstance(body.get("order"), str) or not _ORDER.match(body["order"]):
        raise BadRequest("order: the shop's order id, 1 to 128 printable characters")
    value = _number(body, "value", 0, 1e9)
    at = _number(body, "at", now - 90 * 86400, now + 3600, required=False)
    discount = _number(body, "discount", 0, 1e9, required=False)
    code = body.get("code")
    if code is not None and (not isinstance(code, str) or not _ORDER.match(code) or len(code) > 64):
        raise BadRequest("code: the discount code used, 1 to 64 printable characters")
    currency = body.get("currency")
    if currency is not None and (not isinstance(currency, str) or not _CURRENCY.match(currency)):
        raise BadRequest("currency: an ISO 4217 code such as EUR")
    return {"order_id": body["order"], "visitor": body["visitor"], "value": value, "at": now if at is None else at,
            "code": code, "discount": discount, "received": now, "currency": currency}  # fmt: skip


def msgpack_response(message) -> Response:
    return Response(encode(message), media_type=CONTENT_TYPE)


def create_app(
    config: ProxyConfig,
    playbook: Playbook | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: list | None = None,
    clock=time.time,
    judge: Judge | None = None,
) -> ProxyApp:
    """The proxy as an ASGI app. ``extra_routes`` lets ``tactful demo`` mount the shop beside it;
    ``clock`` (seconds, like ``time.time``) is what tokens, spend days, retries and retention read."""
    if playbook is None:
        if config.playbook is None:
            raise ConfigError("no playbook: set server.playbook in tactful.toml, TACTFUL_PLAYBOOK, or --playbook")
        playbook = read_playbook(config.playbook)
    proxy = Proxy(config, playbook, transport, clock, judge)

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
        return as_response(*error_parts(err))

    async def internal_error(_request: Request, _err: Exception) -> Response:
        # A bug: Starlette answers with this and re-raises; the edge's ErrorBoundary logs it once.
        return as_response(*INTERNAL_ERROR)

    def as_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
        return Response(body, status_code=status, headers={k.decode(): v.decode() for k, v in headers})

    router = Starlette(routes=[*proxy.routes(), *(extra_routes or [])], lifespan=lifespan,
                       exception_handlers={ProxyError: proxy_error, Exception: internal_error})  # fmt: skip
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

