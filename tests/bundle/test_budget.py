"""Budgets that fail the build: first-visit bytes (brotli), first-visit requests, the loader."""

from __future__ import annotations

import json

from budget import FIRST_VISIT_BROTLI, FIRST_VISIT_REQUESTS, LOADER_BROTLI


def manifest(built_dist):
    return json.loads((built_dist / "manifest.json").read_text())


def test_first_visit_bytes(built_dist):
    totals = manifest(built_dist)["first_visit_totals"]
    assert totals["brotli"] <= FIRST_VISIT_BROTLI, f"first visit {totals['brotli']:,} B brotli > {FIRST_VISIT_BROTLI:,}"


def test_first_visit_requests(built_dist):
    first = manifest(built_dist)["first_visit"]
    assert len(first) <= FIRST_VISIT_REQUESTS, first


def test_loader_size(built_dist):
    loader = manifest(built_dist)["files"]["tactful.js"]["brotli"]
    assert loader <= LOADER_BROTLI, f"tactful.js is {loader:,} B brotli > {LOADER_BROTLI:,}"


def test_the_first_visit_list_is_what_the_worker_loads(built_dist):
    # The budget counts what the loader and worker really fetch: every file of the list is named in the
    # asset map, and nothing the first visit needs is missing from it.
    m = manifest(built_dist)
    assets, first = m["assets"], set(m["first_visit"])
    runtime = assets["runtime"]
    assert {"tactful.js", assets["worker"], assets["playbook"], assets["engine"]["url"]} <= first
    assert {runtime + n for n in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")} <= first
    assert assets["widget"] not in first  # loaded only when a card is shown
