"""Proxy configuration: a TOML file, then environment variables; secrets only from the environment.

Every field has an embedded default, so ``tactful serve`` runs with no file at all:
the template writer, SQLite in ``.tactful/``, loopback only.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tactful.core import TactfulError

DEFAULT_PRICES = {  # USD per million tokens (input, output); extend in [prices]
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1-mini": (0.40, 1.60),
}
FALLBACK_PRICE = (5.0, 25.0)  # unknown models are priced high, so the cap stays safe


class ConfigError(TactfulError):
    pass


@dataclass(frozen=True)
class ProxyConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    data_dir: Path = Path(".tactful")
    playbook: Path | None = None  # required to serve: there is no default site
    public_origin: str = ""  # this proxy's own origin for CORS, from configuration (never the Host header)
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For is believed (default: nobody's)
    require_token: bool = True
    token_ttl: float = 3600.0
    metrics_token: str = field(default="", repr=False)  # when set, GET /metrics needs it as a bearer token
    # connections: a slow client cannot hold the server
    header_timeout: float = 10.0  # seconds to send a request's headers
    body_timeout: float = 10.0  # seconds to send its body
    idle_timeout: float = 5.0  # seconds a kept-alive connection may idle
    max_connections: int = 2000
    workers: int = 1  # processes serving one port (`tactful serve --workers N`)
    # shared backends (many replicas): PostgreSQL for records and spend, Redis for limits, cache, breaker, chats
    database_url: str = field(default="", repr=False)  # "" = the SQLite file in data_dir
    redis_url: str = field(default="", repr=False)  # "" = each process's own memory
    redis_prefix: str = "tactful:"  # every Redis key starts with it (several sites may share one Redis)
    # model
    provider: str = ""  # "" = choose from the environment; "template" | "anthropic" | "openai"
    model: str = "claude-haiku-4-5"
    base_url: str = ""
    timeout: float = 4.0
    max_retries: int = 2
    max_output_tokens: int = 160
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    max_in_flight: int = 16  # model calls at once; more wait a second, then take the template
    model_per_minute: float = 600.0  # model calls a minute, all visitors together
    claims: tuple[str, ...] = ()  # more policy claims model words may not make (regular expressions)
    # cost
    daily_usd: float = 5.0
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    # cache and limits
    cache_ttl: float = 3600.0
    cache_entries: int = 10000
    visitor_per_minute: float = 30.0
    ip_per_minute: float = 240.0
    tokens_per_minute: float = 20.0  # visitor tokens minted a minute per client address
    max_body: int = 16 * 1024
    max_turns: int = 6
    # lead delivery and lead limits
    retry_for: float = 86400.0  # seconds a lead keeps being retried before it is a dead letter
    lease: float = 60.0  # seconds a replica holds the outbox rows it claimed (a dead replica's come back then)
    backoff: float = 2.0  # first retry after this many seconds, doubling...
    max_backoff: float = 3600.0  # ...up to this
    leads_per_visitor: int = 5  # a day, per visitor token
    leads_per_day: int = 2000  # a day, all visitors together
    # retention (days; the server purges older records)
    lead_retention_days: float = 90.0
    outcome_retention_days: float = 400.0
    # the lift: self-pausing triggers (judged every pause_every seconds from the stored outcomes)
    pause_dismiss_rate: float = 0.8  # a trigger dismissed this often (of pause_min_shown or more) pauses
    pause_min_shown: int = 50
    pause_every: float = 300.0
    resume: tuple[str, ...] = ()  # paused triggers switched back on (their lift is judged afresh)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "tactful@localhost"
    # secrets (environment only)
    api_key: str = field(default="", repr=False)
    token_secret: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    site_secret: str = field(default="", repr=False)  # the shop's server sends POST /v1/conversion with it

    def price(self, model: str) -> tuple[float, float]:
        return self.prices.get(model, FALLBACK_PRICE)


_SECTIONS = {
    "server": {"host", "port", "data_dir", "playbook", "public_origin", "allowed_origins", "trusted_proxies",
               "require_token", "token_ttl", "header_timeout", "body_timeout", "idle_timeout", "max_connections",
               "workers"},
    "backends": {"database_url", "redis_url", "redis_prefix"},
    "model": {"provider", "model", "base_url", "timeout", "max_retries", "max_output_tokens",
              "breaker_failures", "breaker_cooldown", "max_in_flight", "model_per_minute"},
    "guard": {"claims"},
    "budget": {"daily_usd"},
    "cache": {"cache_ttl", "cache_entries"},
    "limits": {"visitor_per_minute", "ip_per_minute", "tokens_per_minute", "max_body", "max_turns"},
    "leads": {"retry_for", "backoff", "max_backoff", "smtp_host", "smtp_port", "smtp_from", "leads_per_visitor",
              "leads_per_day", "lease"},
    "retention": {"lead_retention_days", "outcome_retention_days"},
    "lift": {"pause_dismiss_rate", "pause_min_shown", "pause_every", "resume"},
}


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> ProxyConfig:
    """Defaults, then the TOML file, then TACTFUL_* variables, then ``overrides``."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = _read_file(path) if path is not None else {}
    for name in (f.name for f in fields(ProxyConfig)):
        key = f"TACTFUL_{name.upper()}"
        if key in env and name not in ("api_key", "token_secret", "webhook_secret", "prices", "metrics_token",
                                                "site_secret"):  # fmt: skip
            values[name] = env[key]
    values.update(overrides)
    config = replace(ProxyConfig(), **{name: _typed(name, value) for name, value in values.items()})
    provider = config.provider or _provider_from(env)
    if provider not in ("template", "anthropic", "openai"):
        raise ConfigError(f"model.provider must be template, anthropic or openai, not {provider!r}")
    api_key = ""
    if provider == "anthropic":
        api_key = env.get("ANTHROPIC_API_KEY", "")
    elif provider == "openai":
        api_key = env.get("OPENAI_API_KEY", "")
    base_url = config.base_url or (env.get("OPENAI_BASE_URL", "") if provider == "openai" else "")
    base_url = base_url or {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}.get(provider, "")
    return replace(
        config,
        provider=provider,
        base_url=base_url.rstrip("/"),
        api_key=overrides.get("api_key", api_key),
        token_secret=env.get("TACTFUL_TOKEN_SECRET", "") or overrides.get("token_secret", ""),
        metrics_token=env.get("TACTFUL_METRICS_TOKEN", "") or overrides.get("metrics_token", ""),
        webhook_secret=env.get("TACTFUL_WEBHOOK_SECRET", "") or overrides.get("webhook_secret", ""),
        site_secret=env.get("TACTFUL_SITE_SECRET", "") or overrides.get("site_secret", ""),
    )


def _read_file(path: str | Path) -> dict[str, Any]:
    """The fields a tactful.toml sets, flattened; unknown sections and fields are errors."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    values: dict[str, Any] = {}
    for section, body in raw.items():
        if section == "prices":
            values["prices"] = _prices(path, body)
            continue
        allowed = _SECTIONS.get(section)
        if allowed is None or not isinstance(body, dict):
            raise ConfigError(f"{path}: unknown section [{section}]")
        for key, value in body.items():
            if key not in allowed:
                raise ConfigError(f"{path}: unknown field {section}.{key}")
            values[key] = value
    return values


def _prices(path: str | Path, body: Any) -> dict[str, tuple[float, float]]:
    """``[prices]``: model -> { input = USD per million tokens, output = ... }; bad entries name the model."""
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: [prices] must be a table of model = {{ input = ..., output = ... }}")
    prices = dict(DEFAULT_PRICES)
    for model, price in body.items():
        try:
            pair = (float(price["input"]), float(price["output"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: prices.{model} needs numeric `input` and `output` (USD per million tokens)") from exc
        if not all(0 <= p < 1e6 for p in pair):
            raise ConfigError(f"{path}: prices.{model}: prices must be between 0 and 1e6 USD per million tokens")
        prices[model] = pair
    return prices


def _typed(name: str, value: Any) -> Any:
    """A configuration value converted to its field's type (environment variables are strings)."""
    default = getattr(ProxyConfig(), name)
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if isinstance(default, Path) or name == "playbook":
            return Path(value)
        if name in ("allowed_origins", "trusted_proxies", "claims", "resume"):
            items = value.split(",") if isinstance(value, str) else value
            return tuple(item.strip() for item in items if item.strip())
        if isinstance(default, (int, float)):
            return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {exc}") from exc
    return value


def _provider_from(env: dict[str, str]) -> str:
    if env.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return "openai"
    return "template"


def secret_file(data_dir: Path, name: str) -> str:
    """A random secret kept in the data directory, for when none is given in the environment."""
    private_dir(data_dir)
    path = data_dir / f"{name}.secret"
    if not path.exists():
        # Written to a private temporary file, then linked into place: never readable by others, never
        # seen half-written, and when several processes start at once the first link wins for all.
        temporary = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def private_dir(path: Path) -> Path:
    """The data directory, created (or narrowed) to its owner only: it holds leads and secrets."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path
