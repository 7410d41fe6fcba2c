"""What the benchmarks serve: free ports, a bare ASGI hello-world, a stand-in model server, waiting
for a server to answer. Shared so every benchmark measures against the same baseline."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_hello(tmp: Path) -> tuple[subprocess.Popen, str]:
    """The bare ASGI hello-world on the same uvicorn the proxy runs on; (process, url)."""
    (tmp / "hello_app.py").write_text(HELLO)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(port), "--log-level",
                                "warning", "--no-access-log"], cwd=tmp)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    wait_up(url)
    return process, url


def stand_in_model(text: str = "The offer below is yours if you want it.") -> ThreadingHTTPServer:
    """An OpenAI-compatible model server on loopback that always answers ``text``; ``.calls`` counts."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802 - the standard library's name
            self.rfile.read(int(self.headers.get("content-length") or 0))
            server.calls += 1
            body = json.dumps({"choices": [{"message": {"content": text}}],
                               "usage": {"prompt_tokens": 300, "completion_tokens": 20}}).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.calls = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(20)
