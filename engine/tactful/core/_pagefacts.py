"""A product page's facts, read from the schema.org ``Product`` JSON-LD the page already
publishes for search engines.

The loader hands over the text of the page's ``<script type="application/ld+json">`` blocks
(``page_view.jsonld``) and the ``data-tactful-fact`` elements (``page_view.facts``); this module
turns the first into the same ``{id: text}`` shape. A card answers a suggested question from
these facts, on the page, without asking the proxy; they travel to the proxy only at the
``context`` privacy level.

>>> facts_from_jsonld(['{"@type": "Product", "material": "Wool", "additionalProperty":'
...                    ' [{"name": "Sizing", "value": "Runs small"}]}'])
{'material': 'Wool', 'sizing': 'Runs small'}
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BLOCKS = 4  # JSON-LD blocks read per page
MAX_BLOCK = 32 * 1024  # characters of one block; a longer one is not read
MAX_FACTS = 16  # facts kept per page
MAX_FACT = 400  # characters of one fact; longer ones are cut
FACT_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

# schema.org Product properties read as facts, by the fact id they become.
_PLAIN = (("description", "description"), ("material", "material"), ("size", "size"), ("color", "color"),
          ("sku", "sku"))  # fmt: skip


def facts_from_jsonld(blocks: list[str]) -> dict[str, str]:
    """The first schema.org Product's facts in ``blocks`` (JSON-LD texts); malformed blocks are skipped."""
    for block in blocks[:MAX_BLOCKS]:
        if not isinstance(block, str) or len(block) > MAX_BLOCK:
            continue
        try:
            data = json.loads(block)
        except ValueError:
            continue
        product = _find_product(data, depth=0)
        if product is not None:
            return _product_facts(product)
    return {}


def fact_id(name: str) -> str:
    """A fact's id from a property's name: ``"Delivery time"`` -> ``delivery_time``."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug[:32] if slug[:1].isalpha() else ""


def _find_product(data: Any, depth: int) -> dict[str, Any] | None:
    if depth > 4:
        return None
    if isinstance(data, list):
        for item in data[:32]:
            found = _find_product(item, depth + 1)
            if found is not None:
                return found
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "Product" in kinds:
        return data
    return _find_product(data.get("@graph"), depth + 1) if "@graph" in data else None


def _product_facts(product: dict[str, Any]) -> dict[str, str]:
    facts: dict[str, str] = {}
    for prop, fid in _PLAIN:
        _put(facts, fid, _text(product.get(prop)))
    brand = product.get("brand")
    _put(facts, "brand", _text(brand.get("name") if isinstance(brand, dict) else brand))
    offer = product.get("offers")
    offer = offer[0] if isinstance(offer, list) and offer else offer
    if isinstance(offer, dict):
        price, currency = _text(offer.get("price")), _text(offer.get("priceCurrency"))
        _put(facts, "price", f"{price} {currency}".strip() if price else "")
        availability = _text(offer.get("availability")).rsplit("/", 1)[-1]
        _put(facts, "availability", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", availability).capitalize())
    extra = product.get("additionalProperty")
    for prop in extra[:MAX_FACTS] if isinstance(extra, list) else ():
        if isinstance(prop, dict) and isinstance(prop.get("name"), str):
            _put(facts, fact_id(prop["name"]), _text(prop.get("value")))
    return facts


def _text(value: Any) -> str:
    """A property's value as one line of text: strings, numbers, and lists of them."""
    if isinstance(value, list):
        return ", ".join(t for t in (_text(v) for v in value[:8]) if t)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return " ".join(str(value).split())


def _put(facts: dict[str, str], fid: str, text: str) -> None:
    if fid and text and fid not in facts and len(facts) < MAX_FACTS:
        facts[fid] = text[:MAX_FACT]
