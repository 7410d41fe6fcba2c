"""Fake model servers (Anthropic and OpenAI-compatible) on loopback, and config helpers."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeModel:
    """A fake Anthropic or OpenAI-compatible server. ``mode``: ok, slow, 429, 500, garbage."""

    def __init__(self, flavour: str):
        self.flavour = flavour
        self.mode = "ok"
        self.text = "Still deciding? The offer below takes a little off your cart."
        self.usage = (120, 30)
        self.raw: str | None = None  # when set, the exact body of every 200 answer
        self.calls = 0
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.calls += 1
                    fake.bodies.append(body)
                    fake.headers.append(dict(self.headers))
                mode = fake.mode
                if mode == "slow":
                    time.sleep(3)
                if mode == "429":
                    return self._send(429, b'{"error": "rate limited"}', {"retry-after": "0"})
                if mode == "500":
                    return self._send(500, b"upstream exploded")
                if mode == "garbage":
                    return self._send(200, b"<html>not json at all")
                if fake.raw is not None:
                    return self._send(200, fake.raw.encode())
                data = fake.anthropic() if fake.flavour == "anthropic" else fake.openai()
                self._send(200, json.dumps(data).encode())

            def _send(self, status, body, headers=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def anthropic(self):
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": self.text}],
                "usage": {"input_tokens": self.usage[0], "output_tokens": self.usage[1]}}  # fmt: skip

    def openai(self):
        return {"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text}}],
                "usage": {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}}  # fmt: skip

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def model_env(fake: FakeModel) -> dict:
    if fake.flavour == "anthropic":
        return {"ANTHROPIC_API_KEY": "test-key-anthropic"}
    return {"OPENAI_API_KEY": "test-key-openai", "OPENAI_BASE_URL": fake.url + "/v1"}


def model_overrides(fake: FakeModel) -> dict:
    over = {"env": model_env(fake), "timeout": 1.0, "max_retries": 1}
    if fake.flavour == "anthropic":
        over["base_url"] = fake.url
    else:
        over["model"] = "gpt-4o-mini"
    return over
