"""What a visit costs on the wire, measured in Chromium: a first visit within the budgets (brotli,
requests), a repeat visit with no bundle bytes at all."""

from __future__ import annotations

from budget import FIRST_VISIT_BROTLI, FIRST_VISIT_REQUESTS
from e2e_helpers import new_visitor, wait_ready
from site_server import SiteServer


def bundle_traffic(server, since):
    return [(path, size, status) for path, size, status in server.sent[since:] if path.startswith("/tactful/")]


def test_a_first_visit_fits_the_budget_and_a_repeat_visit_costs_no_bundle_bytes(human_browser, built_dist):
    with SiteServer(built_dist) as site:
        context = new_visitor(human_browser)
        page = context.new_page()
        page.goto(site.url + "/site/home.html")
        assert wait_ready(page)["enabled"] is True
        page.wait_for_timeout(1500)  # the worker keeps its snapshot; nothing more is fetched
        first = bundle_traffic(site, 0)
        wire = sum(size for _, size, _ in first)
        print(f"\nfirst visit: {len(first)} requests, {wire:,} bytes on the wire")
        assert len(first) <= FIRST_VISIT_REQUESTS, first
        assert wire <= FIRST_VISIT_BROTLI, first
        assert all(status == 200 for _, _, status in first)
        mark = len(site.sent)
        page.goto(site.url + "/site/cart.html")
        assert wait_ready(page)["enabled"] is True
        repeat = bundle_traffic(site, mark)
        print(f"repeat visit: {repeat}")
        assert sum(size for _, size, _ in repeat) == 0  # the loader revalidates (304); the rest is cached
        assert all(status == 304 for _, _, status in repeat) and len(repeat) <= 1
        context.close()
