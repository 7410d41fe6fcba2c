"""The output guard: model words are untrusted prose.

The model writes a sentence or two around an offer; it never states the offer. Every code,
price, percentage and link a visitor sees comes from the playbook and is rendered by the widget
(the card's offer line, its "Apply" button, its support link). So the guard accepts plain prose
only and refuses, with a reason:

* text that is not plain: empty, too long, control characters, markup, HTML entities;
* invisible or direction-changing characters (zero-width, bidi controls, private use, lone
  surrogates): refused, never stripped silently — they exist to hide what the text says;
* after NFKC normalisation (full-width digits become digits, ligatures letters): any link or
  domain (any TLD, ``hxxp``, ``evil[.]xyz``, ``evil (dot) xyz``), e-mail address or handle, phone
  number, code-like token, amount of money or percentage (in digits or in words), discount
  arithmetic ("half price", "buy one get one"), and the policy claims the playbook's owner never
  made (warranties, free shipping, refunds, delivery promises; configurable);
* instructions, role-play and the system prompt's own sentences coming back.

``check(text, policy)`` returns None for acceptable text, else the reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 400

DEFAULT_CLAIMS = (
    r"warrant(?:y|ies|ied)", r"guarantee[ds]?", r"money[- ]back", r"refunds?", r"refundable",
    r"free (?:shipping|delivery|returns?|postage|gift|samples?|upgrade)", r"price[- ]match",
    r"(?:lowest|best|cheapest) price", r"cheapest", r"lifetime", r"in stock", r"(?:ships?|arrives?|delivered|dispatched)"
    r" (?:today|tomorrow|within|by|in \w+ days?)", r"next[- ]day", r"same[- ]day", r"no questions asked",
    r"risk[- ]free", r"limited time", r"expires? (?:today|tonight|soon|in)", r"only \w+ left", r"hurry",
)  # fmt: skip

_NUMBER_WORDS = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|a dozen|dozen|half|a half|a third|a quarter|double|triple)"
)
_AMOUNT = rf"(?:\d[\d.,]*|{_NUMBER_WORDS}(?:[- ]{_NUMBER_WORDS})*)"
_CURRENCY_WORDS = (
    r"(?:dollars?|bucks?|cents?|euros?|eur|usd|gbp|pounds?|quid|pence|yen|yuan|rupees?|francs?|kronor|kroner|"
    r"zloty|chf|cad|aud|jpy|inr|sek|nok|dkk|pln)"
)
_TLD = r"[a-z]{2,24}"
_DOT = r"(?:\.|\s*\[\s*(?:\.|dot)\s*\]\s*|\s*\(\s*(?:\.|dot)\s*\)\s*|\s*\{\s*(?:\.|dot)\s*\}\s*|\s+dot\s+)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        ("markup", r"<\s*/?\s*[a-z!?][^>]*>|\[[^\]]*\]\s*\([^)]*\)|```|^\s*#{1,6}\s|\*\*|__\w|&#?\w+;"),
        ("link", r"\b(?:h[tx]{2}ps?|ftp|mailto|tel|javascript|data|file|sms|whatsapp)\s*[:\[]|//\S|\bwww\d?\s*\.|"
                 r"\b(?:bit\.ly|t\.me|wa\.me|goo\.gl|tinyurl)\b"),
        ("domain", rf"\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:{_DOT}[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*{_DOT}{_TLD}\b(?!\.\w)"),
        ("e-mail or handle", r"\S@\S|(?:^|\s)@\w"),
        ("phone number", r"(?:\+|\b)\d(?:[\s().-]*\d){6,}"),
        ("percentage", rf"%|(?<![a-z])per\s*cent\b|(?<![a-z])percent(?:ages?)?\b|(?<![a-z])pct\b|{_AMOUNT}\s*(?:off|discount)\b|"
                       r"\b(?:half|a third|a quarter)[- ](?:price|off)\b|\bbogo\b|\bbuy one,? get one\b|"
                       r"\b(?:two|2|three|3) for (?:one|1|two|2)\b"),
        ("money", rf"[$€£¥₹₩₽₺₴₦₱฿]|\b{_AMOUNT}\s*-?\s*{_CURRENCY_WORDS}\b|\b{_CURRENCY_WORDS}\s*{_AMOUNT}\b|"
                  r"\b\d+[.,]\d{2}\b|\bfor (?:free|nothing)\b|\bon the house\b"),
        ("code", r"\b(?:code|coupon|promo|voucher|discount code|promocode)\s*[:=]?\s*[\"'“]?[a-z0-9-]{3,}"),
        ("instructions", r"ignore (?:all |any |the )?(?:previous|prior|above|earlier)|system prompt|as an ai\b|"
                         r"language model|developer (?:message|mode)|<\||\|>|\b(?:assistant|system|user)\s*:|"
                         r"my (?:instructions|rules|prompt)|jailbreak|\bDAN\b"),
    )  # fmt: skip
)
_CODE_TOKEN = re.compile(r"\b[A-Z0-9][A-Z0-9-]{3,}\b")
_WORD = re.compile(r"[a-z]+")
_REFUSED_CATEGORIES = {"Cf": "invisible formatting character", "Co": "private-use character",
                       "Cs": "lone surrogate", "Cn": "unassigned character"}  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """What model words may be: a length, and the claims only the site's own pages may make."""

    max_chars: int = MAX_CHARS
    claims: tuple[str, ...] = DEFAULT_CLAIMS
    system_prompt: str = ""  # its sentences must not come back

    def claim_patterns(self) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(self.claims) + r")\b", re.IGNORECASE)


DEFAULT_POLICY = Policy()


def _characters(text: str) -> str | None:
    for char in text:
        code = ord(char)
        if code < 32 and char not in "\n\t" or 0x7F <= code < 0xA0:
            return "control characters"
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or category in ("Zl", "Zp"):
            return f"{_REFUSED_CATEGORIES.get(category, 'line separator')} U+{code:04X}"
        if category == "Sc":
            return "money"
    return None


def _leaks(text: str, system_prompt: str, span: int = 6) -> bool:
    """Does ``text`` repeat any ``span`` consecutive words of the system prompt?"""
    words = _WORD.findall(system_prompt.lower())
    if len(words) < span:
        return False
    said = " ".join(_WORD.findall(text.lower()))
    return any(" ".join(words[i : i + span]) in said for i in range(len(words) - span + 1))


def check(text: object, policy: Policy = DEFAULT_POLICY) -> str | None:
    """None when ``text`` is acceptable model prose, else the reason it is not."""
    if not isinstance(text, str) or not text.strip():
        return "empty"
    # Characters are judged before NFKC: it hides some (U+20A8 RUPEE SIGN becomes "Rs") and creates
    # none that would be refused (checked over every code point by tests/proxy/test_guard.py).
    refused = _characters(text)
    if refused:
        return refused
    plain = unicodedata.normalize("NFKC", text)
    if len(plain) > policy.max_chars:
        return "too long"
    for reason, pattern in _PATTERNS:
        found = pattern.search(plain)
        if found:
            return f"{reason} {found.group(0)!r}"
    token = _CODE_TOKEN.search(plain)
    if token:
        return f"code-like token {token.group(0)!r}"
    claim = policy.claim_patterns().search(plain)
    if claim:
        return f"policy claim {claim.group(0)!r}"
    if policy.system_prompt and _leaks(plain, policy.system_prompt):
        return "repeats the system prompt"
    return None


def clean(text: str) -> str:
    """Collapse whitespace and strip quotes a model likes to add around its answer."""
    return re.sub(r"\s+", " ", text).strip().strip('"“”').strip()
