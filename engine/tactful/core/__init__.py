"""tactful.core: the decision engine. Pure and deterministic.

Standard library plus msgpack only; no I/O, no clock reads, no randomness. This
package is what ships to the browser and runs in Pyodide; the same event log
gives the same decisions here and there.

>>> from tactful.core import Engine, load_playbook
>>> playbook = load_playbook(open("demo/playbook.toml").read())   # doctest: +SKIP
>>> engine = Engine(playbook, visitor_id="v-1")                     # doctest: +SKIP
>>> engine.feed([{"t": 0, "type": "page_view", "url": "/cart"}], now=1.0)  # doctest: +SKIP
[]
"""

from ._bot import bot_score, machine_cadence
from ._bridge import BRIDGE_VERSION, CARD_FIELDS, FROM_WORKER, OFFER_DETAIL_FIELDS, TO_WORKER, BridgeMessage
from ._conditions import SIGNALS
from ._decision import GATES, INTERVENE, REASON_DOCS, SUPPRESS, Decision
from ._engine import Engine
from ._errors import (
    HashVersionError,
    PlaybookError,
    StateError,
    TactfulError,
    WireError,
    WireVersionError,
)
from ._events import EVENT_TYPES, PAGE_KINDS, Event, clean_event
from ._explain import utc_text, why_not
from ._holdout import HOLDOUT, TREATMENT, assign_arm, fnv1a_32, holdout_bucket, mix32
from ._host import Host
from ._inventory import CONSENT_MODES, REQUESTS, SERVER_RECORDS, STORAGE, STORAGE_NAMES, inventory
from ._inventory import render_html as inventory_html
from ._inventory import render_text as inventory_text
from ._lint import Finding, lint
from ._pagefacts import facts_from_jsonld
from ._playbook import WIDGET_KINDS, Offer, Playbook, Trigger, load_playbook, url_path
from ._replay import LineProblem, Replay, Row, replay_lines
from ._state import SESSION_TIMEOUT, STATE_VERSION, VisitorState
from ._wire import (
    CONTENT_TYPE,
    WIRE_VERSION,
    LeadReply,
    LeadRequest,
    MessageReply,
    MessageRequest,
    OutcomeBeacon,
    ReplyReply,
    ReplyRequest,
    TokenReply,
    TokenRequest,
    decode,
    encode,
    message_request,
)

__all__ = [
    "BRIDGE_VERSION",
    "CARD_FIELDS",
    "FROM_WORKER",
    "OFFER_DETAIL_FIELDS",
    "TO_WORKER",
    "BridgeMessage",
    "CONSENT_MODES",
    "CONTENT_TYPE",
    "EVENT_TYPES",
    "GATES",
    "HOLDOUT",
    "INTERVENE",
    "PAGE_KINDS",
    "REASON_DOCS",
    "REQUESTS",
    "SERVER_RECORDS",
    "SESSION_TIMEOUT",
    "SIGNALS",
    "STATE_VERSION",
    "STORAGE",
    "STORAGE_NAMES",
    "SUPPRESS",
    "TREATMENT",
    "WIDGET_KINDS",
    "WIRE_VERSION",
    "Decision",
    "Engine",
    "facts_from_jsonld",
    "utc_text",
    "Event",
    "Finding",
    "HashVersionError",
    "Host",
    "LeadReply",
    "LineProblem",
    "LeadRequest",
    "MessageReply",
    "MessageRequest",
    "Offer",
    "OutcomeBeacon",
    "Playbook",
    "PlaybookError",
    "ReplyReply",
    "Replay",
    "ReplyRequest",
    "Row",
    "StateError",
    "TactfulError",
    "TokenReply",
    "TokenRequest",
    "Trigger",
    "VisitorState",
    "WireError",
    "WireVersionError",
    "assign_arm",
    "bot_score",
    "clean_event",
    "decode",
    "encode",
    "fnv1a_32",
    "holdout_bucket",
    "mix32",
    "inventory",
    "inventory_html",
    "inventory_text",
    "lint",
    "machine_cadence",
    "load_playbook",
    "message_request",
    "replay_lines",
    "url_path",
    "why_not",
]
