"""The wire schema: allow-listed fields only, typed errors for anything else."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tactful.core import (
    Engine,
    LeadRequest,
    MessageReply,
    MessageRequest,
    OutcomeBeacon,
    ReplyRequest,
    WireError,
    WireVersionError,
    decode,
    encode,
    message_request,
)


def pack(obj) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def test_round_trips():
    messages = [
        MessageRequest(trigger="cart_exit", kind="discount", page_kind="cart", offer="cart10", locale="en-GB"),
        MessageReply(text="Take 10% off with SAVE10.", source="template", trigger="cart_exit"),
        ReplyRequest(trigger="product_questions", text="Is it warm?", page_kind="product", turn=1,
                     history=(("agent", "Questions?"), ("visitor", "Is it warm?"))),
        LeadRequest(email="ada@example.com", trigger="longform_lead", page_kind="article", session="v1:1"),
        OutcomeBeacon(visitor="v1", session="v1:0", arm="holdout", eligible=True, intervened=False,
                      converted=True, value=30.0, trigger="cart_exit"),
    ]  # fmt: skip
    for message in messages:
        assert decode(type(message), encode(message)) == message


@pytest.mark.parametrize(
    "body, error, field",
    [
        ({"v": 2, "trigger": "x", "kind": "discount", "page_kind": "cart"}, WireVersionError, "v"),
        ({"trigger": "x", "kind": "discount", "page_kind": "cart"}, WireVersionError, "v"),
        ({"v": 1, "kind": "discount", "page_kind": "cart"}, WireError, "trigger"),
        ({"v": 1, "trigger": "x", "kind": "popup", "page_kind": "cart"}, WireError, "kind"),
        ({"v": 1, "trigger": "x" * 65, "kind": "discount", "page_kind": "cart"}, WireError, "trigger"),
        ({"v": 1, "trigger": "x", "kind": "discount", "page_kind": "cart", "events": []}, WireError, "events"),
        ({"v": 1, "trigger": "x", "kind": "discount", "page_kind": "cart", "locale": "en_GB!"}, WireError, "locale"),
        ([1, 2, 3], WireError, None),
    ],
)
def test_bad_messages_raise_typed_errors_naming_the_field(body, error, field):
    with pytest.raises(error) as info:
        decode(MessageRequest, pack(body))
    assert info.value.field == field


@pytest.mark.parametrize("body", [b"", b"\xc1", b"\x81", pack({"v": 1}) + b"extra", b"\x00" * 20000, b"\xd9\xff"])
def test_garbage_bytes_are_wire_errors(body):
    with pytest.raises(WireError):
        decode(MessageRequest, body)


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_wire_error(body):
    for cls in (MessageRequest, LeadRequest, OutcomeBeacon, ReplyRequest):
        try:
            decode(cls, body)
        except WireError:
            pass


def test_lead_email_is_checked():
    with pytest.raises(WireError, match="email"):
        decode(LeadRequest, pack({"v": 1, "email": "not-an-email", "trigger": "t", "page_kind": "article"}))


def test_message_request_respects_the_privacy_level(demo_playbook):
    engine = Engine(demo_playbook, visitor_id="v1")
    events = [
        {"t": 0, "type": "client", "user_agent": "Mozilla/5.0 Chrome/130", "languages": ["en"]},
        {"t": 0, "type": "page_view", "url": "/p/boots", "product": "Trail boots", "category": "shoes"},
        {"t": 1, "type": "activity"},
        {"t": 2, "type": "cart", "items": 1},
        {"t": 12, "type": "exit_intent"},
    ]
    (decision,) = engine.feed(events, now=13)
    minimal = message_request(decision, "minimal", locale="de-DE", product="Trail boots", category="shoes")
    assert minimal.product is None and minimal.category is None and minimal.locale == "de-DE"
    assert set(msgpack.unpackb(encode(minimal))) == {"v", "trigger", "kind", "page_kind", "offer", "locale"}
    context = message_request(decision, "context", product="Trail boots", category="shoes", locale="bad locale")
    assert context.product == "Trail boots" and context.locale is None
