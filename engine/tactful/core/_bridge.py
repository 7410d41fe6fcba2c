"""The page <-> worker contract: every message between the loader (main thread) and the
worker that hosts the engine, and the card the widget renders for an intervention.

Defined once, here, next to the wire schema. ``tactful build`` emits the JavaScript the
loader, the worker and the widget import (``contract.js``: constants and JSDoc
typedefs), and a test fails when a JavaScript ``switch`` handles a message type this
module lacks or misses one it has.

Field types are JSDoc type expressions, which is what the JavaScript side reads.
"""

from __future__ import annotations

from dataclasses import dataclass

BRIDGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class BridgeMessage:
    """One message type: its ``type`` tag, its fields (name -> JSDoc type) and what it means."""

    type: str
    fields: tuple[tuple[str, str], ...]
    doc: str

    @property
    def constant(self) -> str:
        """The JavaScript constant naming this type (``lead_done`` -> ``LEAD_DONE``)."""
        return self.type.upper()


TO_WORKER: tuple[BridgeMessage, ...] = (
    BridgeMessage(
        "init",
        (
            ("assets", "Object"),
            ("base", "string"),
            ("playbookUrl", "string"),
            ("proxy", "string"),
            ("visitor", "string"),
            ("stored", "?string"),
            ("locale", "string"),
            ("client", "Object"),
            ("test", "(Object|undefined)"),
            ("now", "number"),
        ),
        "start Pyodide and the engine for this visitor, from its stored record (base64 msgpack) and "
        "what the browser says of itself (the `client` event), at the page's `now`; `test` (a test build's chosen arm) is "
        "sent and read by test builds only",
    ),
    BridgeMessage(
        "batch",
        (("seq", "number"), ("events", "Object[]"), ("now", "number"), ("stored", "?string")),
        "events since the last batch, the time now, and the visitor record as stored now (another tab "
        "may have written it): the worker merges it before deciding",
    ),
    BridgeMessage(
        "reply",
        (("trigger", "string"), ("text", "string"), ("history", "Array<Array<string>>")),
        "the visitor asked a question in the chat card",
    ),
    BridgeMessage(
        "lead",
        (("trigger", "string"), ("email", "string"), ("consent", "boolean")),
        "the visitor left an email in a lead card (and ticked the consent box)",
    ),
    BridgeMessage(
        "why",
        (("now", "number"),),
        "\"why didn't it show?\": explain every trigger at `now` (tactful.whyNot(), the debug overlay)",
    ),
)

FROM_WORKER: tuple[BridgeMessage, ...] = (
    BridgeMessage(
        "ready",
        (("arm", "string"), ("bot", "boolean"), ("start", "string"), ("phases", "Object"), ("notes", "string[]"),
         ("history", "Object[]")),
        "the engine is running; the visitor's arm, whether the browser looks automated, and how it started "
        "(`snapshot`: restored from this browser's memory snapshot; `cold`) and how long each phase took (ms); "
        "`history`: the visit's decisions on earlier pages, for `tactful.explain()`",
    ),
    BridgeMessage("disabled", (("reason", "string"),), "the engine cannot run here; the page stays as it was"),
    BridgeMessage(
        "decisions",
        (("seq", "number"), ("decisions", "Card[]"), ("state", "?string"), ("outcome", "?string"),
         ("converted", "boolean"), ("due", "?number")),
        "the decisions of batch `seq`, the merged visitor record to store and the visit's outcome beacon "
        "(base64; null after a heartbeat that changed nothing but the clock), whether the visitor has "
        "converted (in any tab), and `due`: the page-clock instant (seconds) at which a trigger could next "
        "be decided with no new event, when the page should send time (null: none due)",
    ),
    BridgeMessage(
        "outcome",
        (("outcome", "string"),),
        "the visit's outcome beacon again (base64), now carrying a visitor token bound to this visitor: "
        "the proxy keeps no beacon without one",
    ),
    BridgeMessage("words", (("decision", "Card"),), "an intervention with its words: show it"),
    BridgeMessage(
        "replied",
        (("trigger", "string"), ("text", "string"), ("route", "string"), ("link", "?string"), ("source", "string")),
        "the answer to a chat question (route: agent, support or unavailable)",
    ),
    BridgeMessage("lead_done", (("trigger", "string"), ("ok", "boolean")), "whether a lead reached the proxy"),
    BridgeMessage(
        "why",
        (("report", "string"),),
        "the explanation of every trigger (JSON: tactful.core's why_not): status, conditions with their "
        "current values, gates with the instant each lifts",
    ),
)

# The card: what the widget gets for one decision. The engine's Decision fields, plus what
# the widget needs for an intervention (title, suggested questions, the offer, the support
# link) and where the words came from (set by the worker).
CARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("t", "number"),
    ("action", "string"),
    ("trigger", "string"),
    ("kind", "string"),
    ("offer", "(string|undefined)"),
    ("arm", "string"),
    ("reasons", "string[]"),
    ("eligible", "boolean"),
    ("page_kind", "string"),
    ("message", "string"),
    ("title", "(string|undefined)"),
    ("questions", "(string[]|undefined)"),
    ("answers", "(Object|undefined)"),
    ("offer_detail", "(OfferDetail|undefined)"),
    ("support_link", "(string|undefined)"),
    ("source", "(string|undefined)"),
    ("variant", "(string|undefined)"),
    ("cart", "(Object|undefined)"),
    ("weighed", "(string[]|undefined)"),
    ("at", "(string|undefined)"),
    ("url", "(string|undefined)"),
    ("because", "(string[]|undefined)"),
    ("why", "(string|undefined)"),
)

OFFER_DETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "string"),
    ("type", "string"),
    ("code", "string"),
    ("percent", "number"),
    ("amount", "number"),
    ("description", "string"),
)
