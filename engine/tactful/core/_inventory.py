"""The data inventory: everything Tactful stores in the browser, every request the browser may send
(with each field and the privacy level that lets it travel), and every record the proxy keeps.

Requests are read from the wire schema itself (each field's ``Spec.note`` and ``Spec.level``), so
a field added to the wire appears here by construction, and one added without a note fails the
tests. Storage keys are the ones the loader uses (it imports them from the generated contract);
server records are checked against the proxy's own schema by its tests.

``inventory()`` gives the whole as plain data: ``tactful privacy`` prints it, ``tactful build``
writes it as ``privacy.json`` and ``privacy.html`` beside the bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ._wire import LeadRequest, MessageRequest, OutcomeBeacon, ReplyRequest, Spec, TokenRequest

KEY_PREFIX = "tactful:v1:"
CONSENT_MODES = ("granted", "session", "required")
# The names the loader and the worker use (generated into contract.js): one definition for both sides.
STORAGE_NAMES = {
    "prefix": KEY_PREFIX,
    "id": KEY_PREFIX + "id",
    "state": KEY_PREFIX + "state",
    "journal": KEY_PREFIX + "journal",
    "lock": KEY_PREFIX + "record",  # the Web Lock around a tab's read-merge-write (a name, nothing stored)
    "snapshots": "tactful-snapshots",  # the Cache Storage cache of memory snapshots
}


@dataclass(frozen=True, slots=True)
class Stored:
    """One thing Tactful keeps in the browser."""

    key: str
    place: str  # localStorage | sessionStorage | Cache Storage | Web Locks
    holds: str
    lifetime: str
    modes: tuple[str, ...]  # the consent modes in which it is written ("required": once consent is given)


STORAGE: tuple[Stored, ...] = (
    Stored(STORAGE_NAMES["id"], "localStorage",
           "a random pseudonymous visitor id (32 hex characters), derived from nothing about the visitor",
           "until the visitor or the site clears the site's data, or tactful.consent(false)", ("granted",)),
    Stored(STORAGE_NAMES["state"], "localStorage",
           "the engine's visitor record (msgpack, base64): visits and when they began, the cart's item count "
           "and value, the cards shown, dismissed and accepted (trigger and time), purchases (time and value), "
           "the holdout arm; this visit's current page (its URL and kind) and the paths of the pages where "
           "this visit's triggers were decided, with their reason codes (for tactful.explain()); no page "
           "content, no behaviour stream",
           "as the id", ("granted",)),
    Stored(STORAGE_NAMES["id"], "sessionStorage", "the visitor id, for this tab's session only",
           "until the tab is closed", ("session",)),
    Stored(STORAGE_NAMES["state"], "sessionStorage", "the visitor record, for this tab's session only",
           "until the tab is closed", ("session",)),
    Stored(STORAGE_NAMES["journal"], "sessionStorage",
           "this tab's events the record does not reflect yet, kept across a navigation (page path and kind, "
           "scroll depth, hovered element names, cart counts); at most 200, removed once stored",
           "until the next page has replayed them, at the latest when the tab is closed", ("granted", "session")),
    Stored(STORAGE_NAMES["snapshots"], "Cache Storage",
           "a memory snapshot of the engine's interpreter after it loaded its own code, for a faster start: "
           "no visitor data", "until the bundle changes", ("granted", "session")),
)
KEYS_BY_MODE = {mode: tuple(sorted({(s.place, s.key) for s in STORAGE if mode in s.modes})) for mode in CONSENT_MODES}


@dataclass(frozen=True, slots=True)
class Request:
    """One request the browser may send to the proxy."""

    method: str
    path: str
    when: str
    message: type | None
    modes: tuple[str, ...] = ("granted", "session")
    gpc: bool = True  # still sent under Global Privacy Control (when the playbook honours it)


REQUESTS: tuple[Request, ...] = (
    Request("POST", "/v1/token", "before the first request below: a short-lived token bound to the visitor id",
            TokenRequest),
    Request("POST", "/v1/message", "when a card is shown and the playbook asks a model for its words", MessageRequest),
    Request("POST", "/v1/reply", "when the visitor asks a question in a chat card", ReplyRequest),
    Request("POST", "/v1/lead", "when the visitor submits a lead card, having ticked the consent box", LeadRequest,
            gpc=False),
    Request("POST", "/v1/outcome", "when the page is hidden: one beacon per visit, the latest wins", OutcomeBeacon,
            gpc=False),
)

# What the proxy keeps; `retention` names the configuration field that bounds it.
SERVER_RECORDS: tuple[dict[str, Any], ...] = (
    {"record": "leads", "backend": "SQLite or PostgreSQL",
     "fields": ("id", "email", "trigger", "page_kind", "session", "locale", "created", "dedupe"),
     "holds": "the e-mail address a visitor gave with consent, the trigger and page kind, the visit id, the page's "
              "language (so the follow-up can answer in it), when",
     "retention": "lead_retention_days"},
    {"record": "outbox", "backend": "SQLite or PostgreSQL",
     "fields": ("id", "lead_id", "target", "address", "attempts", "next_attempt", "state", "last_error", "retry_from",
                "lease_until"),
     "holds": "each lead's delivery to the site's follow-up targets (webhook URL or sales inbox) and its state",
     "retention": "lead_retention_days"},
    {"record": "outcomes", "backend": "SQLite or PostgreSQL",
     "fields": ("visitor", "session", "arm", "eligible", "intervened", "converted", "value", "trigger", "phase",
                "dismissed", "accepted", "bot", "synthetic", "updated", "storage", "variant", "eligible_at",
                "converted_at", "test", "served", "source", "claimed_arm"),
     "holds": "one row per visit: the outcome beacon's fields, the arm the proxy computed from the visitor id beside "
              "the arm claimed, whether the proxy served words for the trigger, a keyed hash of the sender's address "
              "(never the address)", "retention": "outcome_retention_days"},
    {"record": "conversions", "backend": "SQLite or PostgreSQL",
     "fields": ("order_id", "visitor", "value", "at", "code", "discount", "received", "currency"),
     "holds": "purchases the shop's own server confirmed (POST /v1/conversion): the order id, the visitor id the "
              "checkout form carried, the value, the discount code and amount", "retention": "outcome_retention_days"},
    {"record": "said", "backend": "SQLite or PostgreSQL",
     "fields": ("id", "at", "visitor", "trigger", "variant", "kind", "source", "text"),
     "holds": "the review log: each card's words (their source; the text of model-written ones) and chat questions "
              "and answers, by visitor id and trigger", "retention": "outcome_retention_days"},
    {"record": "refusals", "backend": "SQLite or PostgreSQL", "fields": ("day", "reason", "count"),
     "holds": "outcome beacons refused per day and reason, in totals: no visitor data", "retention": None},
    {"record": "spend", "backend": "SQLite or PostgreSQL",
     "fields": ("day", "spent", "reserved", "calls", "input_tokens", "output_tokens"),
     "holds": "the day's model spending, in totals: no visitor data", "retention": None},
    {"record": "meta", "backend": "SQLite or PostgreSQL", "fields": ("key", "value"),
     "holds": "the proxy's own secrets and the last simulation's figures: no visitor data", "retention": None},
    {"record": "limits, cache, breaker, chat turns", "backend": "this process's memory, or Redis",
     "fields": ("rate buckets by client address and token", "message words by trigger, page kind and language",
                "chat questions and answers by token and trigger"),
     "holds": "rate-limit counters; cached words; the chat's last turns (so a replayed request cannot reset it)",
     "retention": "token_ttl (chats), cache_ttl (words), a minute or two (limits)"},
)
DEFAULT_RETENTION = {"lead_retention_days": 90.0, "outcome_retention_days": 400.0}


def request_fields(message: type | None) -> list[dict[str, Any]]:
    """A wire message's fields as the inventory lists them (name, required, level, note)."""
    if message is None:
        return []
    spec: dict[str, Spec] = message.SPEC  # type: ignore[attr-defined]
    return [{"field": f.name, "required": spec[f.name].required, "level": spec[f.name].level,
             "note": spec[f.name].note} for f in fields(message)]  # fmt: skip


def inventory(privacy_level: str = "minimal", honor_gpc: bool = True,
              retention: dict[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything stored and sent, for a playbook's privacy level; plain data (JSON-able)."""
    days = {**DEFAULT_RETENTION, **(retention or {})}
    return {
        "privacy_level": privacy_level,
        "honor_gpc": honor_gpc,
        "consent_modes": {
            "granted": "stores and sends what is listed for `granted` (the default)",
            "session": "stores only in the tab's sessionStorage: no persistent id; caps and cooldowns last a session",
            "required": "stores nothing, sends nothing and starts nothing until tactful.consent(true); "
                        "events before it are kept in memory and dropped if consent is refused",
        },
        "browser_storage": [{"key": s.key, "place": s.place, "holds": s.holds, "lifetime": s.lifetime,
                             "modes": list(s.modes)} for s in STORAGE],  # fmt: skip
        "requests": [
            {"method": r.method, "path": r.path, "when": r.when, "modes": list(r.modes),
             "under_gpc": r.gpc or not honor_gpc,
             "fields": [f for f in request_fields(r.message) if f["level"] == "minimal" or privacy_level == "context"]}
            for r in REQUESTS
        ],  # fmt: skip
        "also_loaded": "the bundle's own files (scripts, WebAssembly, the playbook) from the site's origin; "
                       "they carry no data",
        "server_records": [
            {**record, "fields": list(record["fields"]),
             "retention": f"{days[record['retention']]:g} days ({record['retention']})"
             if record["retention"] in days else record["retention"] or "kept while the proxy runs"}
            for record in SERVER_RECORDS
        ],  # fmt: skip
    }


def render_text(data: dict[str, Any]) -> str:
    lines = [f"Tactful data inventory (privacy level {data['privacy_level']}; Global Privacy Control "
             f"{'honoured' if data['honor_gpc'] else 'not honoured'})", "", "In the browser:"]
    for item in data["browser_storage"]:
        lines.append(f"  {item['place']} {item['key']}  [{', '.join(item['modes'])}]")
        lines.append(f"      {item['holds']}; kept {item['lifetime']}")
    lines += ["", "Sent to the proxy:"]
    for request in data["requests"]:
        gpc = "" if request["under_gpc"] else "  (never under Global Privacy Control)"
        lines.append(f"  {request['method']} {request['path']}: {request['when']}{gpc}")
        for field in request["fields"]:
            lines.append(f"      {field['field']}{'' if field['required'] else ' (optional)'}: {field['note']}")
    lines += ["", f"Also loaded: {data['also_loaded']}", "", "Kept by the proxy:"]
    for record in data["server_records"]:
        lines.append(f"  {record['record']} ({record['backend']}): {record['holds']}; kept {record['retention']}")
    lines += ["", "Consent modes (data-consent on the script tag):"]
    lines += [f"  {mode}: {what}" for mode, what in data["consent_modes"].items()]
    return "\n".join(lines) + "\n"


def render_html(data: dict[str, Any]) -> str:
    """A readable page for privacy reviewers and visitors (self-contained, no script)."""
    import html  # here, not at the top: the browser never renders the page (html.entities is big)

    e = html.escape
    rows = "".join(f"<tr><td>{e(s['place'])}</td><td><code>{e(s['key'])}</code></td><td>{e(s['holds'])}</td>"
                   f"<td>{e(s['lifetime'])}</td><td>{e(', '.join(s['modes']))}</td></tr>" for s in data["browser_storage"])  # fmt: skip
    requests = ""
    for r in data["requests"]:
        items = "".join(f"<li><code>{e(f['field'])}</code>{'' if f['required'] else ' (optional)'}: {e(f['note'])}</li>"
                        for f in r["fields"])  # fmt: skip
        gpc = "" if r["under_gpc"] else " <em>Never sent under Global Privacy Control.</em>"
        requests += f"<h3>{e(r['method'])} {e(r['path'])}</h3><p>{e(r['when'])}.{gpc}</p><ul>{items}</ul>"
    records = "".join(f"<tr><td>{e(r['record'])}</td><td>{e(r['backend'])}</td><td>{e(r['holds'])}</td>"
                      f"<td>{e(r['retention'])}</td></tr>" for r in data["server_records"])  # fmt: skip
    modes = "".join(f"<li><code>{e(m)}</code>: {e(w)}</li>" for m, w in data["consent_modes"].items())
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<title>Tactful: what is stored and sent</title><style>body{font:16px/1.5 system-ui,sans-serif;"
        "max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}</style>"
        f"<h1>What Tactful stores and sends</h1><p>Privacy level <strong>{e(data['privacy_level'])}</strong>; "
        f"Global Privacy Control {'honoured' if data['honor_gpc'] else 'not honoured'}. Behaviour is judged in "
        "the browser: no behaviour stream ever leaves it.</p>"
        "<h2>In the browser</h2><table><tr><th>where</th><th>key</th><th>holds</th><th>kept</th><th>modes</th></tr>"
        f"{rows}</table><h2>Sent to the proxy</h2>{requests}<p>{e(data['also_loaded'])}.</p>"
        "<h2>Kept by the proxy</h2><table><tr><th>record</th><th>where</th><th>holds</th><th>kept</th></tr>"
        f"{records}</table><h2>Consent modes</h2><ul>{modes}</ul></html>\n"
    )
