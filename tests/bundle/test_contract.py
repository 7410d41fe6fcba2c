"""One contract per boundary: the page <-> worker messages and the widget card, defined in
tactful.core and used by the JavaScript through the generated contract module."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tactful.bundle import render_contract_js
from tactful.core import CARD_FIELDS, FROM_WORKER, OFFER_DETAIL_FIELDS, TO_WORKER, BridgeMessage, Host

BROWSER = Path(__file__).resolve().parents[2] / "browser"
SOURCES = {p.relative_to(BROWSER).as_posix(): p.read_text() for p in BROWSER.rglob("*.js") if "generated" not in p.parts}
CASE = re.compile(r"case\s+(TO_WORKER|FROM_WORKER)\.(\w+)\s*:")
RAW_CASE = re.compile(r"case\s+([\"'])[a-z_]+\1\s*:")


def switches(text: str) -> list[str]:
    """The bodies of every `switch (...) { ... }` statement, braces matched."""
    bodies = []
    for match in re.finditer(r"\bswitch\s*\([^)]*\)\s*\{", text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies.append(text[match.end() : i - 1])
    return bodies


def mismatches(sources: dict[str, str], to_worker: tuple[BridgeMessage, ...], from_worker: tuple[BridgeMessage, ...]):
    """Every way a JavaScript message switch disagrees with the contract, as readable lines."""
    contract = {"TO_WORKER": {m.constant for m in to_worker}, "FROM_WORKER": {m.constant for m in from_worker}}
    problems, handled = [], {"TO_WORKER": 0, "FROM_WORKER": 0}
    for name, text in sources.items():
        for body in switches(text):
            cases = CASE.findall(body)
            if not cases:
                continue
            direction = {d for d, _ in cases}
            if len(direction) != 1:
                problems.append(f"{name}: one switch mixes both directions")
                continue
            (side,) = direction
            handled[side] += 1
            seen = {c for _, c in cases}
            problems += [f"{name}: handles {side}.{c}, which the contract lacks" for c in sorted(seen - contract[side])]
            problems += [f"{name}: misses {side}.{c}" for c in sorted(contract[side] - seen)]
            if "default:" not in body:
                problems.append(f"{name}: a message switch without a default")
    problems += [f"no switch handles {side}" for side, count in handled.items() if count == 0]
    return problems


def test_every_message_switch_matches_the_contract():
    assert mismatches(SOURCES, TO_WORKER, FROM_WORKER) == []


def test_a_type_added_on_one_side_only_is_caught():
    extra = BridgeMessage("explain", (), "a type only Python knows")
    assert mismatches(SOURCES, (*TO_WORKER, extra), FROM_WORKER) == ["worker/index.js: misses TO_WORKER.EXPLAIN"]
    fewer = tuple(m for m in FROM_WORKER if m.type != "words")
    assert mismatches(SOURCES, TO_WORKER, fewer) == [
        "loader/bridge.js: handles FROM_WORKER.WORDS, which the contract lacks"
    ]
    renamed = tuple(replace(m, type="lead_sent") if m.type == "lead_done" else m for m in FROM_WORKER)
    assert len(mismatches(SOURCES, TO_WORKER, renamed)) == 2


def test_message_types_never_appear_as_bare_strings():
    # Posting or matching a type must go through the generated constants, or the checks above see nothing.
    types = {m.type for m in (*TO_WORKER, *FROM_WORKER)}
    for name, text in SOURCES.items():
        assert not RAW_CASE.search(text) or name.startswith("widget/"), name
        for value in re.findall(r"type:\s*([\"'])([a-z_]+)\1", text):
            assert value[1] not in types, f"{name} posts {value[1]!r} as a bare string"


def test_the_generated_module_states_the_contract():
    js = render_contract_js()
    for message in (*TO_WORKER, *FROM_WORKER):
        assert f"{message.constant}: {json.dumps(message.type)}" in js
    card = json.loads(re.search(r"CARD_FIELDS = /\* @__PURE__ \*/ Object\.freeze\((\[.*?\])\)", js).group(1))
    assert card == [name for name, _ in CARD_FIELDS]


@pytest.fixture(scope="module")
def cards(demo_source):
    host = Host(json.dumps(demo_source), "809d4580aaed41565abc38d58f77f840", None)
    events = [
        {"t": 0, "type": "client", "user_agent": "Mozilla/5.0 Chrome/130", "languages": ["en"]},
        {"t": 1, "type": "page_view", "url": "/cart.html"},
        {"t": 2, "type": "activity"},
        {"t": 3, "type": "cart", "items": 1, "value": 20},
        {"t": 12, "type": "exit_intent"},
    ]
    return json.loads(host.feed(json.dumps(events), 13.0))


def test_the_host_sends_only_card_fields(cards):
    assert cards and cards[0]["action"] == "intervene"
    names = {name for name, _ in CARD_FIELDS}
    for card in cards:
        assert set(card) <= names, set(card) - names
        assert set(card["offer_detail"]) == {name for name, _ in OFFER_DETAIL_FIELDS}


def test_the_widget_reads_only_card_fields():
    names = {name for name, _ in CARD_FIELDS} | {name for name, _ in OFFER_DETAIL_FIELDS}
    widget = SOURCES["widget/index.js"]
    read = set(re.findall(r"\b(?:decision|card|offer)\.([a-z_]+)\b", widget))
    assert read and read <= names, read - names
