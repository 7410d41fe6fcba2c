"""Start-up: a repeat visit restores the engine from this browser's memory snapshot, kept without
its zero pages; a snapshot that cannot be restored is dropped silently and the engine starts cold;
either way it works."""

from __future__ import annotations

import time

import pytest
from e2e_helpers import card, last_cart_exit, leave_cart_page, open_page, poll, wait_ready

KEPT = "() => caches.open('tactful-snapshots').then(c => c.keys()).then(k => k.map(r => r.url))"
SIZES = """(u) => caches.open('tactful-snapshots').then(c => c.match(u)).then(r => r.arrayBuffer())
  .then(b => [b.byteLength, new DataView(b).getUint32(4, true)])"""  # the kept bytes, the memory they restore


def kept_snapshots(page, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        urls = page.evaluate(KEPT)
        if urls:
            return urls
        time.sleep(0.3)
    raise AssertionError("no snapshot was kept")


def cart_offer_works(page, clock):
    page.click("[data-add]")
    leave_cart_page(page, clock)
    assert last_cart_exit(page)["action"] == "intervene" and card(page).kind == "discount"


def test_a_repeat_visit_starts_from_the_snapshot(human_browser, site):
    context, page = open_page(human_browser, site, "/site/home.html")
    cold = page.evaluate("tactful.ready")
    assert cold["start"] == "cold"
    (url,) = kept_snapshots(page)
    kept, memory = page.evaluate(SIZES, url)
    assert memory > 16 * 2**20 and kept < 0.7 * memory, (kept, memory)  # 31 MB of memory, 14 MB kept
    page.goto(site.url + "/site/cart.html")
    warm = wait_ready(page)
    assert warm["enabled"] is True and warm["start"] == "snapshot", warm
    # Pyodide got the wasm module compiled while its runtime script loaded, on both starts
    assert 0 < cold["phases"]["compiled"] < cold["phases"]["pyodide"], cold["phases"]
    assert 0 < warm["phases"]["compiled"] < warm["phases"]["pyodide"], warm["phases"]
    print(f"\nready: cold {cold['ms']} ms, warm {warm['ms']} ms of page time")
    cart_offer_works(page, context.clock)
    assert page.evaluate(KEPT) == [url]  # still the one snapshot of this bundle
    context.close()


@pytest.mark.parametrize("damage", ["replaced", "truncated"])
def test_a_snapshot_that_cannot_be_restored_is_dropped_and_the_engine_starts_cold(human_browser, site, damage):
    context, page = open_page(human_browser, site, "/site/home.html")
    (url,) = kept_snapshots(page)
    if damage == "replaced":  # another writer's bytes under our key
        page.evaluate("(u) => caches.open('tactful-snapshots').then(c => c.put(u, new Response(new Uint8Array(4096))))", url)
    else:  # a write cut short: the last page missing
        page.evaluate("""(u) => caches.open('tactful-snapshots').then(c => c.match(u).then(r => r.arrayBuffer())
          .then(b => c.put(u, new Response(b.slice(0, b.byteLength - 4096)))))""", url)
    page.goto(site.url + "/site/cart.html")
    state = wait_ready(page)
    assert state["enabled"] is True and state["start"] == "cold", state
    assert any("snapshot restore failed" in note for note in state["notes"])
    cart_offer_works(page, context.clock)
    poll(page, f"() => caches.open('tactful-snapshots').then(c => c.match('{url}')).then(r => r && r.arrayBuffer()).then(b => b && b.byteLength > 4096)")
    context.close()
