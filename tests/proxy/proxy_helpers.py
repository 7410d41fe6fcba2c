"""Fake model servers (Anthropic and OpenAI-compatible), a webhook receiver and an SMTP inbox on loopback;
config helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from aiosmtpd.controller import Controller
from golden import merge
from loopback import free_port


class FakeModel:
    """A fake Anthropic or OpenAI-compatible server. ``mode``: ok, slow, 429, 500, 400, garbage."""

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
                if mode == "400":  # the provider refuses this prompt (a policy or validation refusal)
                    return self._send(400, b'{"error": {"type": "invalid_request_error"}}')
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
        answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                  "content": [{"type": "text", "text": self.text}]}  # fmt: skip
        if self.usage is not None:  # None: the provider reports no usage at all
            answer["usage"] = {"input_tokens": self.usage[0], "output_tokens": self.usage[1]}
        return answer

    def openai(self):
        answer = {"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text}}]}  # fmt: skip
        if self.usage is not None:
            answer["usage"] = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}
        return answer

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


class Receiver:
    """A webhook endpoint that verifies signatures and dedupes by Idempotency-Key."""

    def __init__(self, secret_for=None):
        self.requests: list[dict] = []
        self.fail_first = 0
        self.failing = False  # while True, every delivery gets a 503 (an outage)
        self.hang_first = 0.0
        self.status = 200  # the answer when nothing fails (a receiver may answer 204, or 300 by mistake)
        self.secret_for = secret_for
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                n = len(receiver.requests)
                receiver.requests.append({"key": self.headers["idempotency-key"], "body": json.loads(body),
                                          "peer": self.client_address[1],
                                          "ts": self.headers["x-tactful-timestamp"],
                                          "sig": self.headers["x-tactful-signature"], "raw": body,
                                          "type": self.headers["content-type"]})  # fmt: skip
                if n == 0 and receiver.hang_first:
                    time.sleep(receiver.hang_first)
                status = 503 if receiver.failing else 500 if n < receiver.fail_first else receiver.status
                receiver.requests[-1]["ok"] = 200 <= status < 300
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/lead"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def unique(self) -> set[str]:
        return {r["key"] for r in self.requests}

    def delivered(self) -> set[str]:
        """Idempotency keys of deliveries that were answered with success."""
        return {r["key"] for r in self.requests if r.get("ok")}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Inbox:
    """An SMTP inbox (aiosmtpd handler); a message containing one of ``refuse`` is refused with ``refusal``
    (for good, 554, as a sales inbox's content filter would; or for now, a 4xx), a recipient in
    ``unknown`` at RCPT with 550."""

    def __init__(self):
        self.messages = []
        self.refuse: tuple[str, ...] = ()
        self.refusal = "554 5.7.1 message refused by policy"
        self.unknown: tuple[str, ...] = ()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content.decode()
        if any(word in content for word in self.refuse):
            return self.refusal
        self.messages.append((envelope.rcpt_tos, content))
        return "250 OK"


def serve_inbox(**options):
    """An Inbox served by aiosmtpd on a loopback port (``options`` go to its Controller), until closed."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def lead_playbook(demo_source, receiver):
    return merge(demo_source, {"followup": {"email": "sales@demo-shop.test", "webhook": receiver.url}})


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def start_proxy_process(config_path, port, env=None, log_name="proxy.log"):
    """`tactful serve --config config_path` in a process of its own, once it answers /healthz."""
    log = open(config_path.parent / log_name, "ab")  # noqa: SIM115 - the child owns it until it ends
    process = subprocess.Popen([sys.executable, "-m", "tactful.cli", "serve", "--config", str(config_path)],
                               stdout=log, stderr=log, env=env)  # fmt: skip
    log.close()
    wait_for(lambda: healthy(port), timeout=40)
    return process


def healthy(port) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
