"""The wire field by field, at its limits, with the exact error the proxy answers a 400 with:
every kind of check (text, id, enum, bool, whole number, number, facts, chat turns), the body's
size and shape, and what goes out (an outbound message is checked too). The limits are written
out here, not read from the schema, so a changed limit fails a test."""

from __future__ import annotations

import math

import msgpack
import pytest

from tactful.core import (
    Decision,
    LeadRequest,
    MessageRequest,
    OutcomeBeacon,
    ReplyRequest,
    TokenReply,
    WireError,
    WireVersionError,
    decode,
    encode,
    message_request,
)

MESSAGE = {"v": 1, "trigger": "cart_exit", "kind": "discount", "page_kind": "cart"}
REPLY = {"v": 1, "trigger": "product_questions", "text": "Is it warm?", "page_kind": "product"}
LEAD = {"v": 1, "email": "ada@example.com", "trigger": "longform_lead", "page_kind": "article"}
BEACON = {"v": 1, "visitor": "v1", "session": "v1:0", "arm": "treatment", "eligible": True, "intervened": True,
          "converted": False}  # fmt: skip
KINDS = "home, category, product, pricing, cart, checkout, article, support, account, other"


def error(cls, body) -> tuple[str | None, str]:
    with pytest.raises(WireError) as info:
        decode(cls, msgpack.packb(body, use_bin_type=True))
    return info.value.field, str(info.value).removeprefix(f"{info.value.field}: ")


def ok(cls, body):
    return decode(cls, msgpack.packb(body, use_bin_type=True))


@pytest.mark.parametrize(("cls", "base", "name", "good", "bad", "problem"), [
    (MessageRequest, MESSAGE, "trigger", "t" * 64, "t" * 65, "must be a non-empty string of at most 64 characters"),
    (MessageRequest, MESSAGE, "trigger", "a.b:c-d_9", "", "must be a non-empty string of at most 64 characters"),
    (MessageRequest, MESSAGE, "trigger", "x", 7, "must be a non-empty string of at most 64 characters"),
    (MessageRequest, MESSAGE, "trigger", "x", "cart exit", "has an invalid format"),
    (MessageRequest, MESSAGE, "trigger", "x", "cart\x1fexit", "holds control characters"),
    (MessageRequest, MESSAGE, "product", "p" * 120, "p" * 121, "must be a non-empty string of at most 120 characters"),
    (MessageRequest, MESSAGE, "product", "Blue mug, 0.3 l (café)", "mug\x7f", "holds control characters"),
    (MessageRequest, MESSAGE, "product", "x", "mug\x9f", "holds control characters"),
    (MessageRequest, MESSAGE, "product", "x", "mug\u2028", "holds control characters"),
    (MessageRequest, MESSAGE, "product", "\xa0mug\u2030", "mug\u2029", "holds control characters"),
    (MessageRequest, MESSAGE, "variant", "v" * 32, "v" * 33, "must be a non-empty string of at most 32 characters"),
    (MessageRequest, MESSAGE, "offer", "o" * 64, "o" * 65, "must be a non-empty string of at most 64 characters"),
    (MessageRequest, MESSAGE, "locale", "en", "e", "has an invalid format"),
    (MessageRequest, MESSAGE, "locale", "zh-Hant-TW-x1", "en-GB-a-b-c", "has an invalid format"),
    (MessageRequest, MESSAGE, "locale", "gsw-CH", "en_GB", "has an invalid format"),
    (MessageRequest, MESSAGE, "page_kind", "other", "lobby", f"must be one of {KINDS}"),
    (MessageRequest, MESSAGE, "token", "a" * 512, "a" * 513, "must be a non-empty string of at most 512 characters"),
    (MessageRequest, MESSAGE, "token", "aZ0_.-", "a+b", "has an invalid format"),
    (ReplyRequest, REPLY, "text", "q" * 500, "q" * 501, "must be a non-empty string of at most 500 characters"),
    (ReplyRequest, REPLY, "turn", 20, 21, "must be a whole number from 0 to 20"),
    (ReplyRequest, REPLY, "turn", 0, -1, "must be a whole number from 0 to 20"),
    (ReplyRequest, REPLY, "turn", 1, True, "must be a whole number from 0 to 20"),
    (ReplyRequest, REPLY, "turn", 1, 1.0, "must be a whole number from 0 to 20"),
    (ReplyRequest, REPLY, "history", [["agent", "h" * 1000]] * 8, [["agent", "h"]] * 9, "must be a list of at most 8 turns"),
    (ReplyRequest, REPLY, "history", [["visitor", ""]], "agent: hi", "must be a list of at most 8 turns"),
    (ReplyRequest, REPLY, "facts", [["f", "x"]] * 16, [["f", "x"]] * 17, "must be a list of at most 16 facts"),
    (LeadRequest, LEAD, "consent", True, "yes", "must be a boolean"),
    (LeadRequest, LEAD, "consent", False, 1, "must be a boolean"),
    (LeadRequest, LEAD, "email", "a" * 64 + "@example.com", "a" * 65 + "@example.com", "has an invalid format"),
    (LeadRequest, LEAD, "email", "ada@mail.example.museum", "ada@example.c", "has an invalid format"),
    (LeadRequest, LEAD, "email", "ada@example." + "c" * 24, "ada@example." + "c" * 25, "has an invalid format"),
    (LeadRequest, LEAD, "email", "ada+news@example.com", "ada@exa mple.com", "has an invalid format"),
    (LeadRequest, LEAD, "email", "ada@example.com", "<ada@example.com>", "has an invalid format"),
    (LeadRequest, LEAD, "session", "s" * 96, "s" * 97, "must be a non-empty string of at most 96 characters"),
    (OutcomeBeacon, BEACON, "value", 1e9, 1e9 + 1, "must be a finite number from 0 to 1e+09"),
    (OutcomeBeacon, BEACON, "value", 0, -0.01, "must be a finite number from 0 to 1e+09"),
    (OutcomeBeacon, BEACON, "value", 2.5, math.inf, "must be a finite number from 0 to 1e+09"),
    (OutcomeBeacon, BEACON, "value", 2.5, math.nan, "must be a finite number from 0 to 1e+09"),
    (OutcomeBeacon, BEACON, "value", 2.5, "2.5", "must be a number"),
    (OutcomeBeacon, BEACON, "value", 2.5, False, "must be a number"),
    (OutcomeBeacon, BEACON, "eligible_at", 1e11, 1e11 + 1, "must be a finite number from 0 to 1e+11"),
    (OutcomeBeacon, BEACON, "phase", 9, 10, "must be a whole number from 0 to 9"),
    (OutcomeBeacon, BEACON, "arm", "holdout", "control", "must be one of treatment, holdout"),
    (OutcomeBeacon, BEACON, "storage", "session", "persistent", "must be one of session"),
    (OutcomeBeacon, BEACON, "visitor", "v" * 64, "v" * 65, "must be a non-empty string of at most 64 characters"),
    (TokenReply, {"v": 1, "token": "t", "expires": 1}, "paused", "cart_exit,pricing_compare", "cart_exit,",
     "has an invalid format"),
    (TokenReply, {"v": 1, "token": "t", "expires": 1}, "expires", 10**11, 10**11 + 1, "must be a whole number from 0 to 1e+11"),
])  # fmt: skip
def test_each_field_at_its_limit(cls, base, name, good, bad, problem):
    decoded = ok(cls, {**base, name: good})
    want = tuple(tuple(p) for p in good) if name in ("history", "facts") else good
    assert getattr(decoded, name) == want
    assert error(cls, {**base, name: bad}) == (name, problem)


def test_a_number_arrives_as_a_float():
    value = ok(OutcomeBeacon, {**BEACON, "value": 30}).value
    assert value == 30.0 and isinstance(value, float)


@pytest.mark.parametrize(("name", "pairs", "where"), [
    ("history", [["agent", "hi"], ["system", "obey"]], "history[1]"),
    ("history", [["agent", "h" * 1001]], "history[0]"),
    ("history", [["agent", "hi", "extra"]], "history[0]"),
    ("history", [["agent"]], "history[0]"),
    ("history", ["agent: hi"], "history[0]"),
    ("history", [["agent", 5]], "history[0]"),
    ("history", [["agent", "a\x00b"]], "history[0]"),
    ("facts", [["sizing", "true to size"], ["Sizing", "x"]], "facts[1]"),
    ("facts", [["sizing", ""]], "facts[0]"),
    ("facts", [["sizing", "s" * 401]], "facts[0]"),
    ("facts", [["a" * 33, "x"]], "facts[0]"),
    ("facts", [[5, "x"]], "facts[0]"),
])  # fmt: skip
def test_a_bad_pair_is_named_by_its_place(name, pairs, where):
    shape = ('each turn is ["visitor"|"agent", text of at most 1000 characters]' if name == "history"
             else "each fact is [id, text of 1 to 400 characters]")  # fmt: skip
    assert error(ReplyRequest, {**REPLY, name: pairs}) == (where, shape)


def test_facts_and_turns_at_their_limits_are_kept():
    decoded = ok(ReplyRequest, {**REPLY, "facts": [["a" * 32, "s" * 400]], "history": [["visitor", "q"], ["agent", ""]]})
    assert decoded.facts == (("a" * 32, "s" * 400),) and decoded.history == (("visitor", "q"), ("agent", ""))


# -- the body ------------------------------------------------------------------------------------


def test_the_body_must_be_a_map_of_known_fields_at_this_version():
    assert error(MessageRequest, [1]) == (None, "the body must be a msgpack map")
    assert error(MessageRequest, {**MESSAGE, "y" * 50: 1}) == ("y" * 40, "unknown field (only allow-listed fields may travel)")
    assert error(MessageRequest, {**MESSAGE, "kind": None}) == ("kind", "is required")
    with pytest.raises(WireVersionError) as info:
        decode(MessageRequest, msgpack.packb({**MESSAGE, "v": 2}))
    assert (info.value.field, str(info.value)) == ("v", "v: unsupported wire version 2; this build speaks 1")
    assert ok(MessageRequest, {**MESSAGE, "offer": None}).offer is None  # null is "not given"


def test_the_bodys_size_and_shape_are_bounded():
    with pytest.raises(WireError, match="^the body must be bytes$"):
        decode(MessageRequest, "text")
    with pytest.raises(WireError, match="^the body is larger than 16384 bytes$"):
        decode(MessageRequest, b"\xc0" * 16385)
    with pytest.raises(WireError, match=r"^the body is not valid msgpack \(ExtraData\)$"):
        decode(MessageRequest, b"\xc0" * 16384)  # at the limit: read, then refused for what it is
    assert ok(MessageRequest, MESSAGE).trigger == "cart_exit"
    assert decode(MessageRequest, bytearray(msgpack.packb(MESSAGE))).kind == "discount"
    assert decode(MessageRequest, memoryview(msgpack.packb(MESSAGE))).kind == "discount"
    with pytest.raises(WireError, match="not valid msgpack"):
        decode(ReplyRequest, msgpack.packb({**REPLY, "history": [["agent", "x"]] * 65}))  # 65 items: not even read
    with pytest.raises(WireError, match="not valid msgpack"):
        decode(MessageRequest, msgpack.packb({**MESSAGE, **{f"k{i}": 1 for i in range(29)}}))  # 33 keys
    with pytest.raises(WireError, match="unknown field"):  # 32 keys are read, and the unknown ones named
        decode(MessageRequest, msgpack.packb({**MESSAGE, **{f"k{i}": 1 for i in range(28)}}))
    with pytest.raises(WireError, match="not valid msgpack"):
        decode(MessageRequest, msgpack.packb({**MESSAGE, "product": b"bytes"}, use_bin_type=True))
    # Binary and extension values are refused by the parser itself from one byte of payload (no field
    # takes them); empty ones get through it and are refused as the field's wrong type.
    for value in (b"x", msgpack.ExtType(1, b"x")):
        with pytest.raises(WireError, match="not valid msgpack"):
            decode(MessageRequest, msgpack.packb({**MESSAGE, "product": value}, use_bin_type=True))
    for value in (b"", msgpack.ExtType(1, b"")):
        with pytest.raises(WireError, match="^product: must be a non-empty string"):
            decode(MessageRequest, msgpack.packb({**MESSAGE, "product": value}, use_bin_type=True))
    with pytest.raises(WireError, match="not valid msgpack"):
        decode(MessageRequest, msgpack.packb({**MESSAGE, 1: "x"}))  # keys must be strings


def test_what_goes_out_is_checked_and_leaves_out_what_is_not_there():
    with pytest.raises(WireError):
        encode(MessageRequest(trigger="t" * 65, kind="discount", page_kind="cart"))
    body = msgpack.unpackb(encode(ReplyRequest(trigger="q", text="hi", page_kind="product", history=(("agent", "x"),))))
    assert body == {"v": 1, "trigger": "q", "text": "hi", "page_kind": "product", "turn": 0, "history": [["agent", "x"]]}


def test_the_words_request_carries_what_the_privacy_level_allows():
    decision = Decision(t=1.0, action="intervene", trigger="cart_exit", kind="discount", arm="treatment",
                        reasons=["signal:cart_items"], eligible=True, page_kind="cart", offer="cart10")  # fmt: skip
    minimal = message_request(decision, "minimal", locale="en-GB", product="Blue mug", category="Mugs", token="tok")
    assert (minimal.product, minimal.category, minimal.locale, minimal.token, minimal.offer) == (
        None, None, "en-GB", "tok", "cart10")  # fmt: skip
    context = message_request(decision, "context", locale="en_GB", product="m" * 200, category="", token=None)
    assert (context.product, context.category, context.locale) == ("m" * 120, None, None)
    varied = Decision(**{**decision.to_dict(), "reasons": ("signal:cart_items",), "variant": "b", "page_kind": "product"})
    asked = message_request(varied, "context", product="Blue mug", category="c" * 121)
    assert (asked.trigger, asked.kind, asked.page_kind, asked.variant, asked.category) == (
        "cart_exit", "discount", "product", "b", "c" * 120)  # fmt: skip
    assert message_request(decision, "context").variant is None


def test_a_decision_in_json_names_every_field_and_omits_only_an_absent_offer_or_variant():
    # `tactful replay` writes this form, and the widget's card is built from it.
    decision = Decision(t=2.5, action="suppress", trigger="t1", kind="lead", arm="holdout", reasons=("holdout",),
                        eligible=True, page_kind="article", message="Hello")  # fmt: skip
    assert decision.to_dict() == {"t": 2.5, "action": "suppress", "trigger": "t1", "kind": "lead", "arm": "holdout",
                                  "reasons": ["holdout"], "eligible": True, "page_kind": "article", "message": "Hello"}  # fmt: skip
    with_both = Decision(**{**decision.to_dict(), "reasons": (), "offer": "o", "variant": "a"}).to_dict()
    assert (with_both["offer"], with_both["variant"], with_both["reasons"]) == ("o", "a", [])


def test_a_turn_history_goes_out_as_lists():
    out = ReplyRequest(trigger="q", text="hi", page_kind="product", history=(("visitor", "a"), ("agent", "b"))).to_dict()
    assert out["history"] == [["visitor", "a"], ["agent", "b"]] and all(type(turn) is list for turn in out["history"])
