"""A loopback web server for the end-to-end tests: the test site, the built bundle, and an API.

    /site/...        tests/e2e/site (csp.html is served with a strict Content-Security-Policy;
                     with csp_everywhere, every response is, the bundle and its worker included)
    /tactful/...     the built bundle (dist), with CORS; pages can load it from another origin
    /tactful-api/... forwarded to an ASGI/WSGI-free callable ``api(method, path, body) -> (status, headers, body)``
                     when one is given, else 503 (the proxy is down)
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tactful.bundle import bundle_response

SITE = Path(__file__).resolve().parent / "site"
TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
    ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".zip": "application/zip",
    ".whl": "application/zip",
}  # fmt: skip
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'"
)

Api = Callable[[str, str, bytes, dict], tuple[int, dict[str, str], bytes]]


class SiteServer:
    def __init__(
        self,
        dist: Path,
        api: Api | None = None,
        csp_everywhere: bool = False,
        bundle_origin: str = "",
        extra: dict[str, Path] | None = None,
    ):
        self.dist = dist
        self.extra = extra or {}  # more static roots: {"/bench/": Path(...)}
        self.compressed: dict[Path, bytes] = {}
        self.bundle_origin = bundle_origin  # pages load the bundle from this other origin
        self.csp_everywhere = csp_everywhere
        self.api = api
        self.requests: list[tuple[str, str]] = []
        self.sent: list[tuple[str, int, int]] = []  # (path, body bytes on the wire, status)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                if server.csp_everywhere:
                    headers = {**headers, "Content-Security-Policy": STRICT_CSP}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                server.sent.append((self.path, len(body), status))
                if self.command != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the page navigated away first: nobody is left to read the answer

            def _file(self, root: Path, rel: str, extra: dict[str, str]) -> None:
                path = (root / rel).resolve()
                if root.resolve() not in path.parents or not path.is_file():
                    return self._send(404, {"Content-Type": "text/plain"}, b"not found")
                headers = {"Content-Type": TYPES.get(path.suffix, "application/octet-stream"), **extra}
                data = path.read_bytes()
                if server.bundle_origin and path.suffix == ".html":
                    data = data.replace(b'src="/tactful/', f'src="{server.bundle_origin}/tactful/'.encode())
                elif "gzip" in (self.headers.get("Accept-Encoding") or "") and len(data) > 1024:
                    if path not in server.compressed:
                        server.compressed[path] = gzip.compress(data, 6, mtime=0)
                    data = server.compressed[path]
                    headers["Content-Encoding"] = "gzip"
                self._send(200, headers, data)

            def _route(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if path.startswith("/tactful-api/"):
                    if server.api is None:
                        return self._send(503, {"Content-Type": "text/plain"}, b"proxy down")
                    return self._send(*server.api(self.command, path[len("/tactful-api"):], body, dict(self.headers)))
                if path.startswith("/tactful/"):
                    # As `tactful demo` serves it: precompressed siblings, immutable hashed files, a
                    # revalidated loader, CORS (the bundle also works from another origin, a CDN).
                    answer = bundle_response(server.dist, path[len("/tactful/"):],
                                             {k.lower(): v for k, v in self.headers.items()})  # fmt: skip
                    body = answer.path.read_bytes() if answer.path else b""
                    return self._send(answer.status, answer.headers, body)
                for prefix, root in server.extra.items():
                    if path.startswith(prefix):
                        return self._file(root, path[len(prefix):], {})
                if path.startswith("/site/"):
                    name = path[len("/site/"):]
                    extra = {"Content-Security-Policy": STRICT_CSP} if name == "csp.html" else {}
                    return self._file(SITE, name, extra)
                self._send(404, {"Content-Type": "text/plain"}, b"not found")

            do_GET = do_POST = do_HEAD = _route

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
