"""Who writes the words: the template (embedded default) or a model behind one interface.

``Writer.write(system, user) -> Written``. Model writers use httpx with short
timeouts, retry 429/5xx with backoff honouring ``retry-after`` (within a small
ceiling: a visitor is waiting), and a circuit breaker; every failure raises
``WriterError`` so the caller falls back to the template. The provider key
stays here, on the server.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Protocol

import httpx

from ._errors import WriterError

MAX_RETRY_WAIT = 2.0  # seconds: a longer retry-after is not worth a visitor's wait


@dataclass(frozen=True)
class Written:
    """A model's words, and the usage it reported (None when missing or absurd: the caller then
    charges what it reserved)."""

    text: str
    input_tokens: int | None
    output_tokens: int | None
    model: str


MAX_REPORTED_TOKENS = 10_000_000


def usage(value: object) -> int | None:
    """A token count as a provider reported it, or None unless it is a sane whole number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")) or not 0 <= value <= MAX_REPORTED_TOKENS:
        return None
    return int(value)


class Writer:
    name = "template"
    model = ""

    async def write(self, system: str, user: str, max_tokens: int) -> Written:
        raise WriterError("the template writer does not call a model")

    async def aclose(self) -> None:
        pass


class TemplateWriter(Writer):
    """The embedded default: no model, the playbook's own text."""


class StandInWriter(Writer):
    """A model that always answers the same words at a fixed token count, priced as ``model``.

    For simulations and benchmarks: the real message path (cache, spend cap, guard)
    runs around it, without a network.
    """

    name = "stand-in"

    def __init__(self, text: str = "Happy to help you decide.", input_tokens: int = 320, output_tokens: int = 40,
                 model: str = "claude-haiku-4-5"):  # fmt: skip
        self.text = text
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.model = model
        self.calls = 0

    async def write(self, system: str, user: str, max_tokens: int) -> Written:
        self.calls += 1
        return Written(self.text, self.input_tokens, self.output_tokens, self.model)


class Breaker(Protocol):
    """The model's circuit breaker, as the shared state keeps it (``_shared``): every replica's
    failures count, and an open breaker stops every replica's calls."""

    async def breaker_open(self) -> bool: ...

    async def breaker_record(self, ok: bool) -> None: ...


class HttpWriter(Writer):
    path = ""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float, retries: int, breaker: Breaker,
                 transport: httpx.AsyncBaseTransport | None = None):  # fmt: skip
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.retries = retries
        self.breaker = breaker
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def body(self, system: str, user: str, max_tokens: int) -> dict:
        raise NotImplementedError

    def parse(self, data: dict) -> Written:
        raise NotImplementedError

    async def write(self, system: str, user: str, max_tokens: int) -> Written:
        if await self.breaker.breaker_open():
            raise WriterError("circuit open: the model failed repeatedly")
        last = "no attempt"
        for attempt in range(self.retries + 1):
            wait = 0.0
            try:
                response = await self.client.post(
                    self.base_url + self.path, json=self.body(system, user, max_tokens), headers=self.headers()
                )
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
                wait = 0.2 * 2**attempt
            else:
                if response.status_code == 200:
                    try:
                        written = self.parse(response.json())
                    except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
                        await self.breaker.breaker_record(False)
                        raise WriterError(f"garbage from the model: {type(exc).__name__}") from exc
                    await self.breaker.breaker_record(True)
                    return written
                last = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    # The provider refused this prompt: asking again will not help, and it says
                    # nothing about the provider's health (the breaker is for outages, not refusals).
                    raise WriterError(f"model call refused: {last}")
                wait = _retry_after(response) or 0.2 * 2**attempt
            if attempt < self.retries:
                if wait > MAX_RETRY_WAIT:
                    break
                await asyncio.sleep(wait * (0.8 + 0.4 * random.random()))
        await self.breaker.breaker_record(False)
        raise WriterError(f"model call failed: {last}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("text is not a string")
    return value


class AnthropicWriter(HttpWriter):
    """Anthropic Messages API: POST /v1/messages."""

    name = "anthropic"
    path = "/v1/messages"

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}

    def body(self, system: str, user: str, max_tokens: int) -> dict:
        return {"model": self.model, "max_tokens": max_tokens, "system": system,
                "messages": [{"role": "user", "content": user}]}  # fmt: skip

    def parse(self, data: dict) -> Written:
        text = "".join(_text(block["text"]) for block in data["content"] if block.get("type") == "text")
        reported = data["usage"] if isinstance(data.get("usage"), dict) else {}
        return Written(text, usage(reported.get("input_tokens")), usage(reported.get("output_tokens")),
                       str(data.get("model", self.model)))  # fmt: skip


class OpenAIWriter(HttpWriter):
    """OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp): POST /chat/completions."""

    name = "openai"
    path = "/chat/completions"

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def body(self, system: str, user: str, max_tokens: int) -> dict:
        return {"model": self.model, "max_tokens": max_tokens,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}  # fmt: skip

    def parse(self, data: dict) -> Written:
        text = _text(data["choices"][0]["message"]["content"])
        reported = data["usage"] if isinstance(data.get("usage"), dict) else {}
        return Written(text, usage(reported.get("prompt_tokens")), usage(reported.get("completion_tokens")),
                       str(data.get("model", self.model)))  # fmt: skip


def make_writer(config, breaker: Breaker, transport: httpx.AsyncBaseTransport | None = None) -> Writer:
    if config.provider == "template":
        return TemplateWriter()
    cls = AnthropicWriter if config.provider == "anthropic" else OpenAIWriter
    return cls(config.base_url, config.api_key, config.model, config.timeout, config.max_retries, breaker, transport)
