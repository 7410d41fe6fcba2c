"""The data inventory is generated from the code: every request field is described, every storage
name the loader uses is listed, and Global Privacy Control stops beacons and lead capture."""

from __future__ import annotations

import json
from dataclasses import fields

from golden import merge

from tactful.core import (
    REQUESTS,
    STORAGE,
    STORAGE_NAMES,
    Engine,
    Playbook,
    inventory,
    inventory_html,
    inventory_text,
)

HUMAN = {"t": 0, "type": "client", "user_agent": "Mozilla/5.0 Chrome/130.0", "webdriver": False, "languages": ["en"]}
CART_EXIT = [{"t": 0, "type": "page_view", "url": "/cart"}, {"t": 1, "type": "activity"},
             {"t": 2, "type": "cart", "items": 1, "value": 30.0}, {"t": 10, "type": "exit_intent"}]  # fmt: skip


def test_every_field_the_browser_may_send_is_described():
    for request in REQUESTS:
        if request.message is None:
            continue
        for f in fields(request.message):
            spec = request.message.SPEC[f.name]
            assert len(spec.note.split()) >= 3, f"{request.path} {f.name}: say what it holds (Spec.note)"
            assert spec.level in ("minimal", "context")


def test_the_inventory_lists_each_field_at_the_level_that_lets_it_travel():
    minimal = {r["path"]: [f["field"] for f in r["fields"]] for r in inventory("minimal")["requests"]}
    context = {r["path"]: [f["field"] for f in r["fields"]] for r in inventory("context")["requests"]}
    assert "product" not in minimal["/v1/message"] and "product" in context["/v1/message"]
    assert "category" in context["/v1/message"] and "email" in minimal["/v1/lead"]
    assert minimal["/v1/outcome"] == [f.name for f in fields(REQUESTS[-1].message)]


def test_storage_names_are_the_inventorys():
    listed = {item.key for item in STORAGE}
    assert {STORAGE_NAMES[name] for name in ("id", "state", "journal", "snapshots")} == listed
    assert all(key.startswith(STORAGE_NAMES["prefix"]) for key in listed if ":" in key)


def test_the_inventory_renders_as_text_json_and_a_page():
    data = inventory("minimal", retention={"lead_retention_days": 30})
    assert json.loads(json.dumps(data)) == data
    text, page = inventory_text(data), inventory_html(data)
    for item in STORAGE:
        assert item.key in text and item.key in page
    assert "30 days (lead_retention_days)" in text and "never under Global Privacy Control" in text
    assert "<script" not in page


def test_global_privacy_control_means_no_beacon_and_no_lead(demo_source):
    playbook = Playbook.from_dict(demo_source)
    engine = Engine(playbook, visitor_id="809d4580aaed41565abc38d58f77f840")
    (decision,) = engine.feed([{**HUMAN, "gpc": True}, *CART_EXIT], 20)
    assert decision.intervene  # words still travel
    assert engine.outcome() is None  # but no outcome beacon
    ignoring = Playbook.from_dict(merge(demo_source, {"privacy": {"honor_gpc": False}}))
    engine = Engine(ignoring, visitor_id="809d4580aaed41565abc38d58f77f840")
    engine.feed([{**HUMAN, "gpc": True}, *CART_EXIT], 20)
    assert engine.outcome() is not None


def test_a_session_only_visit_says_so_in_its_beacon(demo_source):
    engine = Engine(Playbook.from_dict(demo_source), visitor_id="809d4580aaed41565abc38d58f77f840")
    engine.feed([{**HUMAN, "storage": "session"}, *CART_EXIT], 20)
    assert engine.outcome().storage == "session"
    engine = Engine(Playbook.from_dict(demo_source), visitor_id="809d4580aaed41565abc38d58f77f840")
    engine.feed([{**HUMAN, "storage": "persistent"}, *CART_EXIT], 20)
    assert engine.outcome().storage is None


def test_the_inventory_reads_as_reviewed():
    # The inventory is what a privacy notice links to: every change to its words is one a reviewer
    # reads in the diff of docs/inventory/ (docs/inventory/README.md says how to regenerate it).
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "inventory"
    assert inventory_text(inventory("minimal")) == (docs / "minimal.txt").read_text()
    assert inventory_text(inventory("context")) == (docs / "context.txt").read_text()
    assert inventory_text(inventory("minimal", honor_gpc=False)) == (docs / "minimal-no-gpc.txt").read_text()
    assert inventory_html(inventory("minimal")) == (docs / "minimal.html").read_text()


def test_the_inventory_defaults_to_the_minimal_level_and_names_each_requests_consent_modes():
    data = inventory()
    assert (data["privacy_level"], data["honor_gpc"]) == ("minimal", True)
    assert data["requests"] == inventory("minimal")["requests"]
    # No request goes out before consent (`required` sends nothing); each says in which modes it does.
    assert {r["path"]: r["modes"] for r in data["requests"]} == {
        path: ["granted", "session"] for path in ("/v1/token", "/v1/message", "/v1/reply", "/v1/lead", "/v1/outcome")}


def test_the_page_says_whether_global_privacy_control_is_honoured():
    assert "Global Privacy Control honoured." in inventory_html(inventory())
    assert "Global Privacy Control not honoured." in inventory_html(inventory(honor_gpc=False))
