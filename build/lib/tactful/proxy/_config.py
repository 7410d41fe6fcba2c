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
    allowed_origins: tuple[str, ...] = ()
    require_token: bool = True
    token_ttl: float = 3600.0
    # model
    provider: str = ""  # "" = choose from the environment; "template" | "anthropic" | "openai"
    model: str = "claude-haiku-4-5"
    base_url: str = ""
    timeout: float = 4.0
    max_retries: int = 2
    max_output_tokens: int = 160
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    # cost
    daily_usd: float = 5.0
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    # cache and limits
    cache_ttl: float = 3600.0
    cache_entries: int = 10000
    visitor_per_minute: float = 30.0
    ip_per_minute: float = 240.0
    max_body: int = 16 * 1024
    max_turns: int = 6
    # lead delivery
    max_attempts: int = 6
    backoff: float = 2.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "tactful@localhost"
    # secrets (environment only)
    api_key: str = field(default="", repr=False)
    token_secret: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)

    def price(self, model: str) -> tuple[float, float]:
        return self.prices.get(model, FALLBACK_PRICE)


_SECTIONS = {
    "server": {"host", "port", "data_dir", "playbook", "allowed_origins", "require_token", "token_ttl"},
    "model": {"provider", "model", "base_url", "timeout", "max_retries", "max_output_tokens",
              "breaker_failures", "breaker_cooldown"},  # fmt: skip
    "budget": {"daily_usd"},
    "cache": {"cache_ttl", "cache_entries"},
    "limits": {"visitor_per_minute", "ip_per_minute", "max_body", "max_turns"},
    "leads": {"max_attempts", "backoff", "smtp_host", "smtp_port", "smtp_from"},
}


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> ProxyConfig:
    """Defaults, then the TOML file, then TACTFUL_* variables, then ``overrides``."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = _read_file(path) if path is not None else {}
    for name in (f.name for f in fields(ProxyConfig)):
        key = f"TACTFUL_{name.upper()}"
        if key in env and name not in ("api_key", "token_secret", "webhook_secret", "prices"):
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
        webhook_secret=env.get("TACTFUL_WEBHOOK_SECRET", "") or overrides.get("webhook_secret", ""),
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
        if name == "allowed_origins":
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
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{name}.secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()
