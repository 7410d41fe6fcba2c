"""A stand-in for the proxy in browser tests: decodes every body with the real wire schema."""

from __future__ import annotations

import time

from tactful.core import (
    CONTENT_TYPE,
    LeadReply,
    LeadRequest,
    MessageReply,
    MessageRequest,
    OutcomeBeacon,
    ReplyReply,
    ReplyRequest,
    TokenReply,
    WireError,
    decode,
    encode,
)

MODEL_WORDS = "Words from the proxy: code SAVE10 takes 10% off."


class FakeApi:
    def __init__(self, delay: float = 0.0):
        self.received: list[tuple[str, object]] = []
        self.delay = delay  # seconds before answering /v1/message: a slow proxy
        self.leads_unavailable = 0  # the next N leads get a 503 (a backend is away), as the real proxy answers

    def __call__(self, method: str, path: str, body: bytes, headers: dict):
        if method == "POST" and path == "/v1/token":
            return 200, {"Content-Type": CONTENT_TYPE}, encode(TokenReply(token="fake.token", expires=4102444800))
        kinds = {"/v1/message": MessageRequest, "/v1/reply": ReplyRequest, "/v1/lead": LeadRequest,
                 "/v1/outcome": OutcomeBeacon}  # fmt: skip
        cls = kinds.get(path)
        if method != "POST" or cls is None:
            return 404, {"Content-Type": "text/plain"}, b"no such endpoint"
        try:
            message = decode(cls, body)
        except WireError as err:
            self.received.append((path, err))
            return 400, {"Content-Type": "text/plain"}, str(err).encode()
        if cls is LeadRequest and self.leads_unavailable > 0:
            self.leads_unavailable -= 1
            self.received.append(("/v1/lead 503", message))
            return 503, {"Content-Type": "application/json", "Retry-After": "1"}, b'{"error": "the store cannot answer"}'
        self.received.append((path, message))
        if cls is MessageRequest and self.delay:
            time.sleep(self.delay)
        if cls is MessageRequest:
            reply = MessageReply(text=MODEL_WORDS, source="model", trigger=message.trigger)
        elif cls is ReplyRequest:
            reply = ReplyReply(text=f"About '{message.text}': yes, it is waterproof.", source="model", route="agent")
        elif cls is LeadRequest:
            reply = LeadReply(id="lead-1", status="stored")
        else:
            return 204, {}, b""
        return 200, {"Content-Type": CONTENT_TYPE}, encode(reply)
