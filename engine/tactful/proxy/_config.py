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
FALLBACK_PRICE = (5.0, 25.0)
DEMO_PLAYBOOK = Path(__file__).resolve().parents[3] / "demo" / "playbook.toml"  # unknown models are priced high, so the cap stays safe


class ConfigError(TactfulError):
    pass


@dataclass(frozen=True)
class ProxyConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    data_dir: Path = Path(".tactful")
    playbook: Path = DEMO_PLAYBOOK
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
    values: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        for section, body in raw.items():
            if section == "prices":
                prices = dict(DEFAULT_PRICES)
                for model, price in body.items():
                    prices[model] = (float(price["input"]), float(price["output"]))
                values["prices"] = prices
                continue
            allowed = _SECTIONS.get(section)
            if allowed is None or not isinstance(body, dict):
                raise ConfigError(f"{path}: unknown section [{section}]")
            for key, value in body.items():
                if key not in allowed:
                    raise ConfigError(f"{path}: unknown field {section}.{key}")
                values[key] = value
    names = {f.name: f for f in fields(ProxyConfig)}
    for name in names:
        key = f"TACTFUL_{name.upper()}"
        if key in env and name not in ("api_key", "token_secret", "webhook_secret", "prices"):
            values[name] = env[key]
    values.update(overrides)
    config = ProxyConfig()
    typed: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(config, name)
        try:
            if isinstance(default, bool):
                typed[name] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif isinstance(default, Path):
                typed[name] = Path(value)
            elif isinstance(default, tuple) and name == "allowed_origins":
                typed[name] = tuple(value.split(",") if isinstance(value, str) else value)
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                typed[name] = type(default)(value)
            else:
                typed[name] = value
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: {exc}") from exc
    config = replace(config, **typed)
    provider = config.provider or _provider_from(env)
    api_key = (
        env.get("ANTHROPIC_API_KEY", "") if provider == "anthropic" else env.get("OPENAI_API_KEY", "")
    ) if provider != "template" else ""  # fmt: skip
    base_url = config.base_url or (env.get("OPENAI_BASE_URL", "") if provider == "openai" else "")
    if provider == "openai" and not base_url:
        base_url = "https://api.openai.com/v1"
    if provider == "anthropic" and not base_url:
        base_url = "https://api.anthropic.com"
    if provider not in ("template", "anthropic", "openai"):
        raise ConfigError(f"model.provider must be template, anthropic or openai, not {provider!r}")
    return replace(
        config,
        provider=provider,
        base_url=base_url.rstrip("/"),
        api_key=overrides.get("api_key", api_key),
        token_secret=env.get("TACTFUL_TOKEN_SECRET", "") or overrides.get("token_secret", ""),
        webhook_secret=env.get("TACTFUL_WEBHOOK_SECRET", "") or overrides.get("webhook_secret", ""),
    )


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
