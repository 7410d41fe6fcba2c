"""The output guard: the model words the offer, it never decides it.

A model's text is accepted only if it is plain text of bounded length, with no
links except allow-listed ones, no code-like token other than the offer's code,
no percentage other than the offer's, no money amount other than the offer's,
and no markup or role-play of instructions. Anything else is replaced by the
playbook's template by the caller.
"""

from __future__ import annotations

import re

from tactful.core import Offer

MAX_CHARS = 400
_URL = re.compile(r"(?:https?://|www\.)[^\s)>\]]+|\b[a-z0-9-]+\.(?:com|net|org|io|co|shop|store|ly|app)\b[^\s]*", re.I)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|percent|per cent)", re.I)
_MONEY = re.compile(r"(?:[$€£¥]\s?\d[\d.,]*|\d[\d.,]*\s?(?:[$€£¥]|usd|eur|gbp|dollars?|euros?|pounds?)\b)", re.I)
_CODE = re.compile(r"\b(?=[A-Z0-9-]*[0-9])(?=[A-Z0-9-]*[A-Z])[A-Z0-9-]{4,}\b")
_MARKUP = re.compile(r"<[a-z/!][^>]*>|\[[^\]]+\]\([^)]+\)|```|^\s*#{1,6}\s", re.I | re.M)
_INSTRUCTIONS = re.compile(
    r"ignore (?:all |the )?(?:previous|prior|above)|system prompt|as an ai\b|developer message|<\|", re.I
)


def _numbers(pattern: re.Pattern[str], text: str) -> set[float]:
    out = set()
    for match in pattern.finditer(text):
        digits = re.sub(r"[^\d.,]", "", match.group(0)).replace(",", ".")
        try:
            out.add(float(digits.strip(".")))
        except ValueError:
            out.add(float("nan"))
    return out


def check(text: str, offer: Offer | None, allowed_links: tuple[str, ...] = ()) -> str | None:
    """None when ``text`` is acceptable, else the reason it is not."""
    if not text or not text.strip():
        return "empty"
    if len(text) > MAX_CHARS:
        return "too long"
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        return "control characters"
    if _MARKUP.search(text):
        return "markup"
    if _INSTRUCTIONS.search(text):
        return "instructions"
    for url in _URL.findall(text):
        if not any(link and link in url for link in allowed_links):
            return f"link {url!r}"
    code = offer.code.upper() if offer and offer.code else None
    for token in _CODE.findall(text):
        if token != code:
            return f"code {token!r}"
    percents = _numbers(_PERCENT, text)
    if percents and percents != ({offer.percent} if offer and offer.percent else set()):
        return f"percentage {sorted(percents)}"
    amounts = _numbers(_MONEY, text)
    if amounts and amounts != ({offer.amount} if offer and offer.amount else set()):
        return f"amount {sorted(amounts)}"
    return None


def clean(text: str) -> str:
    """Collapse whitespace and strip quotes a model likes to add around its answer."""
    return re.sub(r"\s+", " ", text).strip().strip('"“”').strip()
