"""The playbook: a site's triggers, offers, limits, holdout and scope, as data.

Load one with ``load_playbook(text, fmt)`` (TOML or JSON) or
``Playbook.from_dict(mapping)``. Validation collects every problem and raises one
``PlaybookError`` whose entries name the field path (``triggers[2].when.all[0].op``).

It refuses the guide's known failure modes:

* a trigger with no behavioural condition (the "ghost greeter");
* lead capture with no follow-up target (the "dead handoff");
* a holdout of 0 unless ``holdout.force = true`` (no honest measurement);
* triggers on support, account or returns pages (the "everything chatbot").

The full reference is in README.md ("Playbook reference").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import translate
from typing import Any

from ._conditions import Condition, compile_condition
from ._errors import PlaybookError
from ._events import PAGE_KINDS
from ._holdout import HASH_VERSIONS, stable_hash
from ._pagefacts import FACT_ID

PLAYBOOK_VERSION = 1
WIDGET_KINDS = ("discount", "compare", "questions", "welcome_back", "lead")
OUT_OF_SCOPE_KINDS = ("support", "account")
DEFAULT_TRIGGER_PAGES = ("product", "pricing", "cart", "article", "other")
DEFAULT_SCOPE_URLS = ("/support*", "/help*", "/returns*", "/account*", "/orders*", "*/support*", "*/returns*")
PRIVACY_LEVELS = ("minimal", "context")
_SUPPORT_WORDS = re.compile(r"support|help|return|refund|account|order-status|tracking", re.IGNORECASE)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_TEMPLATE_FIELD = re.compile(r"\{([a-z_]+)\}")
TRIGGER_FIELDS = {
    "id", "kind", "phase", "priority", "pages", "urls", "when", "message",
    "offer", "title", "questions", "followup", "variants",
}  # fmt: skip
VARIANT_FIELDS = {"id", "message", "title", "offer"}


@dataclass(frozen=True, slots=True)
class Limits:
    """How hard the engine throttles. Defaults follow the guide: throttle hard, err toward patience."""

    per_session: int = 1
    per_visitor: int = 3
    visitor_window: float = 7 * 86400.0
    min_gap: float = 3600.0
    cooldown: float = 86400.0
    max_dismissals: int = 2
    dismissal_window: float = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class Holdout:
    fraction: float = 0.10
    salt: str = ""
    hash_version: int = 1
    force: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    type: str  # "discount" | "info"
    code: str = ""
    percent: float = 0.0
    amount: float = 0.0
    description: str = ""

    def template_fields(self) -> dict[str, str]:
        percent = f"{self.percent:g}" if self.percent else ""
        amount = f"{self.amount:g}" if self.amount else ""
        return {"code": self.code, "percent": percent, "amount": amount, "description": self.description}


@dataclass(frozen=True, slots=True)
class Variant:
    """One version of a trigger's card (its own words and/or offer), shown to a sticky share of the
    treated visitors so that versions can be compared against the holdout and each other."""

    id: str
    message: str
    title: str
    offer: Offer | None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Where a lead goes. Server-only: the browser's copy says only ``held_by_server``."""

    webhook: str = ""
    email: str = ""
    held_by_server: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.webhook or self.email or self.held_by_server)


@dataclass(slots=True)
class Trigger:
    id: str
    kind: str
    phase: int
    priority: int
    pages: tuple[str, ...]
    urls: tuple[str, ...]
    when: Condition
    message: str
    offer: Offer | None = None
    title: str = ""
    questions: tuple[str, ...] = ()
    # question -> the page fact that answers it (``{text, fact}`` entries): the card answers such a
    # question from the page itself and offers it only on pages that state that fact
    question_facts: dict[str, str] = field(default_factory=dict)
    followup: FollowUp = field(default_factory=FollowUp)
    variants: tuple[Variant, ...] = ()
    _url_res: tuple[re.Pattern[str], ...] = ()

    def matches_page(self, kind: str, path: str) -> bool:
        if kind not in self.pages:
            return False
        return not self._url_res or any(rx.match(path) for rx in self._url_res)

    def variant_for(self, salt: str, visitor_id: str, hash_version: int = 1) -> Variant | None:
        """The visitor's variant of this trigger: a stable hash of (salt, visitor, trigger), so it
        sticks across visits and tabs. Under hash version 2 it is also independent of the visitor's
        variants of other triggers (see ``_holdout``)."""
        if not self.variants:
            return None
        return self.variants[stable_hash(f"{salt}|{visitor_id}|{self.id}", hash_version) % len(self.variants)]

    def offer_of(self, variant: Variant | None) -> Offer | None:
        return variant.offer if variant is not None and variant.offer is not None else self.offer

    def render(self, extra: dict[str, str] | None = None, variant: Variant | None = None) -> str:
        """The template text (the variant's, if any) with the offer's fields filled in (the fallback words)."""
        offer = self.offer_of(variant)
        values = offer.template_fields() if offer else {}
        if extra:
            values.update(extra)
        message = variant.message if variant is not None else self.message
        return _TEMPLATE_FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), message)

    def variant(self, variant_id: str | None) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)


@dataclass(slots=True)
class Playbook:
    """A validated playbook. Build with ``Playbook.from_dict`` or ``load_playbook``."""

    site: str
    phase: int
    triggers: tuple[Trigger, ...]
    offers: dict[str, Offer]
    limits: Limits
    holdout: Holdout
    bot_threshold: float
    scope_urls: tuple[str, ...]
    support_link: str
    privacy: str
    honor_gpc: bool
    followup: FollowUp
    page_globs: tuple[tuple[str, re.Pattern[str]], ...]
    source: dict[str, Any]
    _scope_res: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> Playbook:
        return _Validator(raw).build()

    def trigger(self, trigger_id: str) -> Trigger | None:
        for trig in self.triggers:
            if trig.id == trigger_id:
                return trig
        return None

    def page_kind(self, url: str) -> str:
        """The page kind for a URL from the playbook's ``[pages]`` globs, else ``other``."""
        path = url_path(url)
        for kind, rx in self.page_globs:
            if rx.match(path):
                return kind
        return "other"

    def in_scope(self, kind: str, url: str) -> bool:
        if kind in OUT_OF_SCOPE_KINDS:
            return False
        path = url_path(url)
        return not any(rx.match(path) for rx in self._scope_res)

    def to_json(self) -> str:
        """The validated source as JSON, every field (the server's copy)."""
        return json.dumps(self.source, sort_keys=True, separators=(",", ":"))

    def public_json(self) -> str:
        """The JSON the browser bundle ships: the source without server-only fields.

        Follow-up targets (a sales inbox, a webhook URL) are the proxy's business: the public
        copy keeps only the fact that a trigger has one, so the browser's validation still
        refuses a dead handoff.
        """
        source = json.loads(self.to_json())
        for holder in (source, *source.get("triggers", ())):
            if isinstance(holder, dict) and "followup" in holder:
                holder["followup"] = {"held_by_server": True}
        return json.dumps(source, sort_keys=True, separators=(",", ":"))


_C0_OR_SPACE = "".join(map(chr, range(33)))
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def url_path(url: str) -> str:
    """The path of a URL or of an already bare path ("/" when it has none); never raises.

    The path ``urllib.parse.urlsplit`` finds (the tests hold the two to the same answers), split
    here so that the browser's start-up need not compile urllib.parse and the ipaddress module
    it imports (about 90 ms of a cold start in Pyodide). Unlike urlsplit, a malformed host (an
    unclosed IPv6 bracket) does not make the whole URL the path: the path after it is kept.
    """
    url = url.lstrip(_C0_OR_SPACE).replace("\t", "").replace("\r", "").replace("\n", "")
    scheme, colon, rest = url.partition(":")
    if colon and scheme[:1].isalpha() and all(c in _SCHEME_CHARS for c in scheme):  # a letter, then letters, digits, + - .
        url = rest
    if url[:2] == "//":  # an authority (host) comes first: the path starts at the first / ? or # after it
        ends = [i for i in (url.find(c, 2) for c in "/?#") if i != -1]
        url = url[min(ends) :] if ends else ""
    return url.partition("#")[0].partition("?")[0] or "/"


def load_playbook(text: str, fmt: str = "toml") -> Playbook:
    """Parse and validate playbook text.

    >>> pb = load_playbook(open("demo/playbook.toml").read())  # doctest: +SKIP
    >>> [t.id for t in pb.triggers]                            # doctest: +SKIP
    ['cart_exit', 'pricing_compare', ...]
    """
    import tomllib  # here, not at the top: the browser gets JSON and need not compile a TOML parser

    try:
        raw = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PlaybookError([("", f"not valid {fmt.upper()}: {exc}")]) from exc
    return Playbook.from_dict(raw)


class _Validator:
    """Walks a raw mapping once, collecting every problem with its field path."""

    def __init__(self, raw: Any):
        self.raw = raw
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    @staticmethod
    def where(path: str, key: str) -> str:
        """The field path of ``key`` in the table at ``path`` ("" is the top level)."""
        return f"{path}.{key}" if path else key

    def table(self, raw: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
            return {}
        for extra in sorted(set(value) - allowed):
            self.fail(f"{key}.{extra}", "unknown field")
        return value

    def number(self, raw: dict[str, Any], path: str, key: str, default: float, lo: float, hi: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            self.fail(self.where(path, key), f"must be a number from {lo:g} to {hi:g}")
            return default
        return float(value)

    def integer(self, raw: dict[str, Any], path: str, key: str, default: int, lo: int, hi: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(self.where(path, key), f"must be a whole number from {lo} to {hi}")
            return default
        return value

    def text(self, raw: dict[str, Any], path: str, key: str, default: str, limit: int) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or len(value) > limit:
            self.fail(self.where(path, key), f"must be a string of at most {limit} characters")
            return default
        return value

    def questions(self, body: dict[str, Any], path: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """``questions``: strings, or ``{text, fact}`` tables naming the page fact that answers one."""
        raw = body.get("questions", [])
        if not isinstance(raw, list) or len(raw) > 8:
            self.fail(f"{path}.questions", "must be a list of at most 8 questions")
            return (), {}
        texts: list[str] = []
        facts: dict[str, str] = {}
        for j, item in enumerate(raw):
            where = f"{path}.questions[{j}]"
            if isinstance(item, dict):
                for extra in sorted(set(item) - {"text", "fact"}):
                    self.fail(f"{where}.{extra}", "unknown field")
                text, fact = item.get("text"), item.get("fact")
                if not isinstance(fact, str) or not FACT_ID.match(fact):
                    self.fail(f"{where}.fact", "must be a page fact's id, lower_snake_case (e.g. sizing)")
                else:
                    facts[str(text)] = fact
            else:
                text = item
            if not isinstance(text, str) or not text.strip() or len(text) > 120:
                self.fail(where if not isinstance(item, dict) else f"{where}.text",
                          "must be a non-empty question of at most 120 characters")  # fmt: skip
                continue
            texts.append(text)
        return tuple(texts), facts

    def flag(self, raw: dict[str, Any], path: str, key: str, default: bool = False) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(self.where(path, key), "must be true or false")
            return default
        return value

    def text_list(self, raw: dict[str, Any], path: str, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = raw.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(self.where(path, key), "must be a list of non-empty strings")
            return default
        return tuple(value)

    def build(self) -> Playbook:
        raw = self.raw
        if not isinstance(raw, dict):
            raise PlaybookError([("", "a playbook must be a table/object at the top level")])
        known = {
            "version", "site", "rollout", "holdout", "limits", "bot", "scope",
            "privacy", "followup", "pages", "offers", "triggers",
        }  # fmt: skip
        for extra in sorted(set(raw) - known):
            self.fail(extra, "unknown field")
        version = raw.get("version", PLAYBOOK_VERSION)
        if version != PLAYBOOK_VERSION:
            self.fail("version", f"unsupported playbook version {version!r}; this build reads {PLAYBOOK_VERSION}")
        site = self.text(raw, "", "site", "", 100)
        if not site:
            self.fail("site", "required: a short name for the site (also the default holdout salt)")

        rollout = self.table(raw, "rollout", {"phase"})
        phase = self.integer(rollout, "rollout", "phase", 1, 0, 9)
        limits = self.limits(self.table(raw, "limits", set(Limits.__dataclass_fields__)))
        holdout = self.holdout(self.table(raw, "holdout", {"fraction", "salt", "hash_version", "force"}), site)
        bot_raw = self.table(raw, "bot", {"threshold"})
        bot_threshold = self.number(bot_raw, "bot", "threshold", 1.0, 0.1, 10.0)
        scope_raw = self.table(raw, "scope", {"exclude_urls", "support_link"})
        scope_urls = DEFAULT_SCOPE_URLS + self.text_list(scope_raw, "scope", "exclude_urls", ())
        support_link = self.text(scope_raw, "scope", "support_link", "/support", 500)
        privacy_raw = self.table(raw, "privacy", {"level", "honor_gpc"})
        privacy = self.privacy(privacy_raw)
        honor_gpc = self.flag(privacy_raw, "privacy", "honor_gpc", True)
        followup = self.followup(raw.get("followup", {}), "followup")
        page_globs = self.pages(raw.get("pages", {}))
        offers = self.offers(raw.get("offers", {}))
        triggers = self.triggers(raw.get("triggers"), offers, followup, scope_urls)

        if self.problems:
            raise PlaybookError(self.problems)
        return Playbook(
            site=site,
            phase=phase,
            triggers=tuple(sorted(triggers, key=lambda t: (-t.priority, t.id))),
            offers=offers,
            limits=limits,
            holdout=holdout,
            bot_threshold=bot_threshold,
            scope_urls=scope_urls,
            support_link=support_link,
            privacy=privacy,
            honor_gpc=honor_gpc,
            followup=followup,
            page_globs=page_globs,
            source=raw,
            _scope_res=tuple(re.compile(translate(g)) for g in scope_urls),
        )

    def limits(self, raw: dict[str, Any]) -> Limits:
        d = Limits()
        return Limits(
            per_session=self.integer(raw, "limits", "per_session", d.per_session, 0, 20),
            per_visitor=self.integer(raw, "limits", "per_visitor", d.per_visitor, 0, 100),
            visitor_window=self.number(raw, "limits", "visitor_window", d.visitor_window, 0, 1e9),
            min_gap=self.number(raw, "limits", "min_gap", d.min_gap, 0, 1e9),
            cooldown=self.number(raw, "limits", "cooldown", d.cooldown, 0, 1e9),
            max_dismissals=self.integer(raw, "limits", "max_dismissals", d.max_dismissals, 1, 100),
            dismissal_window=self.number(raw, "limits", "dismissal_window", d.dismissal_window, 0, 1e9),
        )

    def holdout(self, raw: dict[str, Any], site: str) -> Holdout:
        holdout = Holdout(
            fraction=self.number(raw, "holdout", "fraction", 0.10, 0.0, 0.5),
            salt=self.text(raw, "holdout", "salt", site, 200) or site,
            hash_version=self.integer(raw, "holdout", "hash_version", 1, 1, max(HASH_VERSIONS)),
            force=self.flag(raw, "holdout", "force"),
        )
        if holdout.fraction == 0 and not holdout.force:
            self.fail(
                "holdout.fraction",
                "a holdout of 0 leaves no honest way to measure lift; set holdout.force = true to insist",
            )
        return holdout

    def privacy(self, raw: dict[str, Any]) -> str:
        level = raw.get("level", "minimal")
        if level not in PRIVACY_LEVELS:
            self.fail("privacy.level", f"must be one of {', '.join(PRIVACY_LEVELS)}")
            return "minimal"
        return str(level)

    def followup(self, raw: Any, path: str) -> FollowUp:
        if not isinstance(raw, dict):
            self.fail(path, "must be a table with `webhook` and/or `email`")
            return FollowUp()
        for extra in sorted(set(raw) - {"webhook", "email", "held_by_server"}):
            self.fail(f"{path}.{extra}", "unknown field")
        if raw.get("held_by_server") is True and set(raw) == {"held_by_server"}:
            return FollowUp(held_by_server=True)  # the browser's copy (see Playbook.public_json)
        if "held_by_server" in raw:
            self.fail(f"{path}.held_by_server", "is written by the bundle builder only; set webhook and/or email")
        webhook = self.text(raw, path, "webhook", "", 2000)
        email = self.text(raw, path, "email", "", 320)
        if webhook and not re.match(r"^https?://[^\s/]+", webhook):
            self.fail(f"{path}.webhook", "must be an http(s) URL")
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            self.fail(f"{path}.email", "must be an email address")
        return FollowUp(webhook, email)

    def pages(self, raw: Any) -> tuple[tuple[str, re.Pattern[str]], ...]:
        if not isinstance(raw, dict):
            self.fail("pages", "must be a table of page kind -> list of URL globs")
            return ()
        out = []
        for kind in raw:
            if kind not in PAGE_KINDS:
                self.fail(f"pages.{kind}", f"unknown page kind; known: {', '.join(PAGE_KINDS)}")
                continue
            for g in self.text_list(raw, "pages", kind, ()):
                out.append((kind, re.compile(translate(g))))
        return tuple(out)

    def offers(self, raw: Any) -> dict[str, Offer]:
        if not isinstance(raw, dict):
            self.fail("offers", "must be a table of offer id -> offer")
            return {}
        offers = {}
        for offer_id, body in raw.items():
            path = f"offers.{offer_id}"
            if not _ID.match(offer_id):
                self.fail(path, "offer ids are lower_snake_case")
            if not isinstance(body, dict):
                self.fail(path, "must be a table")
                continue
            for extra in sorted(set(body) - {"type", "code", "percent", "amount", "description"}):
                self.fail(f"{path}.{extra}", "unknown field")
            kind = body.get("type", "discount")
            if kind not in ("discount", "info"):
                self.fail(f"{path}.type", "must be 'discount' or 'info'")
            offer = Offer(
                id=offer_id,
                type=kind,
                code=self.text(body, path, "code", "", 40),
                percent=self.number(body, path, "percent", 0.0, 0.0, 90.0),
                amount=self.number(body, path, "amount", 0.0, 0.0, 1e6),
                description=self.text(body, path, "description", "", 300),
            )
            if kind == "discount" and not offer.code:
                self.fail(f"{path}.code", "a discount offer needs the code the visitor applies")
            if kind == "discount" and not (offer.percent or offer.amount):
                self.fail(f"{path}.percent", "a discount offer needs `percent` or `amount`")
            offers[offer_id] = offer
        return offers

    def triggers(
        self, raw: Any, offers: dict[str, Offer], followup: FollowUp, scope_urls: tuple[str, ...]
    ) -> list[Trigger]:
        if not isinstance(raw, list) or not raw:
            self.fail("triggers", "must be a non-empty list of [[triggers]]")
            return []
        seen: set[str] = set()
        out = []
        for i, body in enumerate(raw):
            if not isinstance(body, dict):
                self.fail(f"triggers[{i}]", "must be a table")
                continue
            trigger = self.trigger(f"triggers[{i}]", body, seen, offers, followup, scope_urls)
            if trigger is not None:
                out.append(trigger)
        return out

    def trigger(
        self,
        path: str,
        body: dict[str, Any],
        seen: set[str],
        offers: dict[str, Offer],
        followup: FollowUp,
        scope_urls: tuple[str, ...],
    ) -> Trigger | None:
        for extra in sorted(set(body) - TRIGGER_FIELDS):
            self.fail(f"{path}.{extra}", "unknown field")
        trig_id = self.trigger_id(path, body, seen)
        kind = body.get("kind")
        if kind not in WIDGET_KINDS:
            self.fail(f"{path}.kind", f"must be one of {', '.join(WIDGET_KINDS)}")
        pages = self.trigger_pages(path, body)
        urls = self.trigger_urls(path, body, scope_urls)
        when = compile_condition(body.get("when"), f"{path}.when", self.problems)
        if when is not None and not when.requires_behaviour():
            self.fail(
                f"{path}.when",
                "fires without any behavioural signal (the 'ghost greeter'): require e.g. "
                "scroll_depth, hovers, exit_intent, cart_items or active_time",
            )
        message = self.text(body, path, "message", "", 600)
        if not message.strip():
            self.fail(f"{path}.message", "required: the template text shown when no model writes one")
        offer = self.trigger_offer(path, body, kind, offers)
        trig_followup = self.followup(body["followup"], f"{path}.followup") if "followup" in body else followup
        if kind == "lead" and not trig_followup.configured:
            self.fail(
                f"{path}.followup",
                "lead capture with no follow-up target (the 'dead handoff'): set followup.webhook "
                "or followup.email",
            )
        questions, question_facts = self.questions(body, path)
        title = self.text(body, path, "title", "", 120)
        variants = self.variants(path, body.get("variants"), message, title, offer, offers) if "variants" in body else ()
        if when is None:
            return None
        return Trigger(
            id=trig_id,
            kind=str(kind),  # one of WIDGET_KINDS: any other is a problem, and problems raise
            phase=self.integer(body, path, "phase", 1, 1, 9),
            priority=self.integer(body, path, "priority", 0, -1000, 1000),
            pages=pages,
            urls=urls,
            when=when,
            message=message,
            offer=offer,
            title=title,
            questions=questions,
            question_facts=question_facts,
            followup=trig_followup,
            variants=variants,
            _url_res=tuple(re.compile(translate(g)) for g in urls),
        )

    def variants(self, path: str, raw: Any, message: str, title: str, offer: Offer | None,
                 offers: dict[str, Offer]) -> tuple[Variant, ...]:  # fmt: skip
        """``variants = [{id, message?, title?, offer?}, ...]``: two or more versions of the card."""
        if not isinstance(raw, list) or not 2 <= len(raw) <= 8:
            self.fail(f"{path}.variants", "a list of 2 to 8 tables {id, message?, title?, offer?}")
            return ()
        out: list[Variant] = []
        for j, body in enumerate(raw):
            where = f"{path}.variants[{j}]"
            if not isinstance(body, dict):
                self.fail(where, "must be a table")
                continue
            for extra in sorted(set(body) - VARIANT_FIELDS):
                self.fail(f"{where}.{extra}", "unknown field")
            variant_id = body.get("id")
            if not isinstance(variant_id, str) or not _ID.match(variant_id) or variant_id in {v.id for v in out}:
                self.fail(f"{where}.id", "required: a lower_snake_case id, unique in the trigger")
                continue
            chosen = offer
            if "offer" in body:
                chosen = offers.get(body["offer"]) if isinstance(body["offer"], str) else None
                if chosen is None:
                    self.fail(f"{where}.offer", f"unknown offer {body['offer']!r}")
            out.append(Variant(variant_id, self.text(body, where, "message", message, 600) or message,
                               self.text(body, where, "title", title, 120) or title, chosen))  # fmt: skip
        return tuple(out)

    def trigger_id(self, path: str, body: dict[str, Any], seen: set[str]) -> str:
        trig_id = body.get("id")
        if not isinstance(trig_id, str) or not _ID.match(trig_id):
            self.fail(f"{path}.id", "required: a lower_snake_case id")
            return ""  # a problem: the playbook is refused before the id is read
        if trig_id in seen:
            self.fail(f"{path}.id", f"duplicate trigger id {trig_id!r}")
        seen.add(trig_id)
        return trig_id

    def trigger_pages(self, path: str, body: dict[str, Any]) -> tuple[str, ...]:
        pages = self.text_list(body, path, "pages", DEFAULT_TRIGGER_PAGES)
        for j, page in enumerate(pages):
            if page not in PAGE_KINDS:
                self.fail(f"{path}.pages[{j}]", f"unknown page kind {page!r}")
            elif page in OUT_OF_SCOPE_KINDS:
                self.fail(
                    f"{path}.pages[{j}]",
                    f"the agent stays out of {page} pages: route those visitors to support (scope.support_link)",
                )
        return pages

    def trigger_urls(self, path: str, body: dict[str, Any], scope_urls: tuple[str, ...]) -> tuple[str, ...]:
        urls = self.text_list(body, path, "urls", ())
        for j, glob in enumerate(urls):
            if _SUPPORT_WORDS.search(glob) or any(re.match(translate(s), glob) for s in scope_urls):
                self.fail(f"{path}.urls[{j}]", "support, returns and account pages are out of scope")
        return urls

    def trigger_offer(self, path: str, body: dict[str, Any], kind: Any, offers: dict[str, Offer]) -> Offer | None:
        if "offer" not in body:
            if kind == "discount":
                self.fail(f"{path}.offer", "a discount trigger needs an offer from [offers]")
            return None
        offer = offers.get(body["offer"]) if isinstance(body["offer"], str) else None
        if offer is None:
            self.fail(f"{path}.offer", f"unknown offer {body['offer']!r}")
        return offer
