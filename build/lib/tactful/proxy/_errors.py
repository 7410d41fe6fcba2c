"""The proxy's exceptions, mapped to HTTP at the edge (never a 500 for bad input).

::

    ProxyError
    ├── BadRequest          400: malformed or disallowed request; .reason says why
    │   └── (WireError from tactful.core is mapped to BadRequest at the boundary)
    ├── Forbidden           403: origin not allowed, token missing or invalid
    ├── BodyTimeout         408: the body did not arrive in time
    ├── TooLarge            413: body over the limit
    ├── Unsupported         415: not application/msgpack
    ├── RateLimited         429: token bucket empty; .retry_after seconds
    └── WriterError         a model call failed (timeout, HTTP error, garbage): falls back to the template

(A call the daily spend cap cannot cover is not an error: it is answered with the template.)
"""

from __future__ import annotations

from tactful.core import TactfulError


class ProxyError(TactfulError):
    status = 500

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class BadRequest(ProxyError):
    status = 400


class Forbidden(ProxyError):
    status = 403


class BodyTimeout(ProxyError):
    status = 408


class TooLarge(ProxyError):
    status = 413


class Unsupported(ProxyError):
    status = 415


class RateLimited(ProxyError):
    status = 429

    def __init__(self, reason: str, retry_after: float):
        self.retry_after = retry_after
        super().__init__(reason)


class WriterError(ProxyError):
    """A model call failed; the caller falls back to the template."""
