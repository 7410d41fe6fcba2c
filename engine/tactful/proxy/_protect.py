"""Abuse protection: token buckets, short-lived signed visitor tokens, a response cache."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from typing import Any


class TokenBuckets:
    """One bucket per key: ``rate`` tokens a minute, bursts up to ``rate``. Memory is bounded."""

    def __init__(self, per_minute: float, max_keys: int = 100_000, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = max(1.0, per_minute)
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys
        self.clock = clock

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self.clock()
        tokens, last = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self.buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return wait


class VisitorTokens:
    """``base64url(payload).base64url(hmac)``; the payload is a random subject, an expiry and, when
    the browser sent its visitor id, that id (``vid``): outcome beacons need a token bound to theirs."""

    def __init__(self, secret: str, ttl: float, clock=time.time):
        self.key = secret.encode()
        self.ttl = ttl
        self.clock = clock

    def issue(self, visitor: str | None = None) -> str:
        claims: dict[str, Any] = {"sub": secrets.token_urlsafe(12), "exp": int(self.clock() + self.ttl)}
        if visitor:
            claims["vid"] = visitor
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        sig = base64.urlsafe_b64encode(hmac.new(self.key, body, hashlib.sha256).digest()).rstrip(b"=")
        return f"{body.decode()}.{sig.decode()}"

    def claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims, or None when it is forged, malformed or expired."""
        try:
            body, sig = token.split(".")
            want = base64.urlsafe_b64encode(hmac.new(self.key, body.encode(), hashlib.sha256).digest()).rstrip(b"=")
            if not hmac.compare_digest(want, sig.encode()):
                return None
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int) or payload["exp"] < self.clock():
            return None
        return payload if isinstance(payload.get("sub"), str) else None

    def verify(self, token: str) -> str | None:
        """The token's subject, or None when it is forged, malformed or expired."""
        claims = self.claims(token)
        return claims["sub"] if claims else None

    def visitor(self, token: str | None) -> str | None:
        """The visitor id a valid token is bound to, if any."""
        claims = self.claims(token) if token else None
        vid = claims.get("vid") if claims else None
        return vid if isinstance(vid, str) else None


class MessageCache:
    """Message texts by normalised context, with a TTL and LRU eviction."""

    def __init__(self, ttl: float, max_entries: int, clock=time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.entries: OrderedDict[Any, tuple[float, str]] = OrderedDict()

    def get(self, key: Any) -> str | None:
        hit = self.entries.get(key)
        if hit is None:
            return None
        expires, text = hit
        if expires < self.clock():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return text

    def put(self, key: Any, text: str) -> None:
        self.entries[key] = (self.clock() + self.ttl, text)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
