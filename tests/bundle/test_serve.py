"""The bundle served as a good static host serves it: precompressed, cached forever when hashed,
revalidated when not, with the right types; nothing outside the bundle."""

from __future__ import annotations

import gzip
import json

import brotli
import httpx
import pytest
from loopback import ServedApp

from tactful.bundle import BundleApp


@pytest.fixture(scope="module")
def served(built_dist):
    with ServedApp(BundleApp(built_dist)) as app:
        yield app, json.loads((built_dist / "manifest.json").read_text())


def raw(app, path, **headers):
    with httpx.Client(base_url=app.url) as client, client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("accept, encoding", [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)])
def test_the_smallest_encoding_the_browser_accepts(served, built_dist, accept, encoding):
    app, manifest = served
    wasm = manifest["assets"]["runtime"] + "pyodide.asm.wasm"
    response, body = raw(app, "/" + wasm, **{"accept-encoding": accept})
    assert response.status_code == 200 and response.headers.get("content-encoding") == encoding
    assert response.headers["content-type"] == "application/wasm" and "Accept-Encoding" in response.headers["vary"]
    plain = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[encoding](body)
    assert plain == (built_dist / wasm).read_bytes()
    assert len(body) == {"br": manifest["files"][wasm]["brotli"], "gzip": manifest["files"][wasm]["gzip"],
                         None: manifest["files"][wasm]["bytes"]}[encoding]  # fmt: skip


def test_hashed_files_are_immutable_the_loader_revalidates(served):
    app, manifest = served
    worker, _ = raw(app, "/" + manifest["assets"]["worker"], **{"accept-encoding": "br"})
    assert worker.headers["cache-control"] == "public, max-age=31536000, immutable"
    loader, _ = raw(app, "/tactful.js", **{"accept-encoding": "br"})
    assert loader.headers["cache-control"] == "no-cache" and loader.headers["etag"]
    again, body = raw(app, "/tactful.js", **{"if-none-match": loader.headers["etag"], "accept-encoding": "br"})
    assert again.status_code == 304 and body == b""


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/tactful.js.br", "/nope.js", "/.sources", "/assets/"])
def test_nothing_but_the_bundle(served, path):
    app, _ = served
    response, _ = raw(app, path)
    assert response.status_code == 404
