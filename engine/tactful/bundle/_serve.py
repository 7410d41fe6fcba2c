"""Serving a built bundle the way a good static host does (``tactful demo`` does it this way).

* **Bytes**: the build wrote ``.br`` and ``.gz`` siblings; a request that accepts brotli gets the
  ``.br`` file with ``Content-Encoding: br`` (else gzip, else the file itself), ``Vary:
  Accept-Encoding``.
* **Caching**: every file but the loader and the manifest has a content hash in its path, so it is
  ``immutable`` for a year; ``tactful.js``, ``manifest.json`` and the privacy inventory are revalidated on each visit
  (``no-cache`` with an ``ETag``: a repeat visit gets ``304 Not Modified`` and no body).
* **Types**: ``application/wasm`` for the runtime, so browsers compile it while it streams in.

``bundle_response`` decides; ``BundleApp`` is it as an ASGI app.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TYPES = {
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json", ".wasm": "application/wasm", ".zip": "application/zip",
    ".whl": "application/zip", ".html": "text/html; charset=utf-8", ".css": "text/css",
}  # fmt: skip
REVALIDATED = ("tactful.js", "manifest.json", "privacy.json", "privacy.html")  # stable names: linked to
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class BundleResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the file to send (None: no body)


def _etag(path: Path) -> str:
    stat = path.stat()
    return '"' + hashlib.sha256(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20] + '"'


def bundle_response(dist: Path, rel: str, headers: Mapping[str, str]) -> BundleResponse:
    """The response for ``GET <prefix>/<rel>`` of the bundle in ``dist``; ``headers`` are the request's (lower-case keys)."""
    root = dist.resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file() or path.suffix in (".br", ".gz") or path.name.startswith("."):
        return BundleResponse(404, {"content-type": "text/plain"})
    out = {"content-type": TYPES.get(path.suffix, "application/octet-stream"), "vary": "Accept-Encoding",
           "access-control-allow-origin": "*"}  # fmt: skip
    if rel in REVALIDATED:
        etag = _etag(path)
        out.update({"cache-control": "no-cache", "etag": etag})
        if etag in headers.get("if-none-match", ""):
            return BundleResponse(304, out)
    else:
        out["cache-control"] = IMMUTABLE
    accepted = {part.split(";")[0].strip() for part in headers.get("accept-encoding", "").split(",")}
    for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
        sibling = path.with_name(path.name + suffix)
        if encoding in accepted and sibling.is_file():
            return BundleResponse(200, {**out, "content-encoding": encoding}, sibling)
    return BundleResponse(200, out, path)


class BundleApp:
    """An ASGI app serving ``dist`` (mount it under the bundle's prefix)."""

    def __init__(self, dist: Path):
        self.dist = dist

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        rel = scope["path"][len(scope.get("root_path", "")) :].lstrip("/")  # below where it is mounted
        answer = bundle_response(self.dist, rel, headers)
        if scope["method"] not in ("GET", "HEAD"):
            answer = BundleResponse(405, {"allow": "GET, HEAD"})
        body = answer.path.read_bytes() if answer.path is not None else (b"not found" if answer.status == 404 else b"")
        sent = [(k.encode(), v.encode()) for k, v in answer.headers.items()]
        sent.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": sent})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
