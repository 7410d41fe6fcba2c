"""tactful.toml and TACTFUL_* variables: defaults, typed values, and a clear error for a bad one."""

from __future__ import annotations

import pytest

from tactful.cli import main
from tactful.proxy import ConfigError, load_config


def write(tmp_path, text: str):
    path = tmp_path / "tactful.toml"
    path.write_text(text)
    return path


def test_embedded_defaults_need_no_file():
    config = load_config(None, env={})
    assert config.provider == "template" and config.require_token and config.daily_usd == 5.0


def test_file_then_environment_then_overrides(tmp_path):
    path = write(tmp_path, '[server]\nport = 9001\n[budget]\ndaily_usd = 2.5\n')
    config = load_config(path, env={"TACTFUL_DAILY_USD": "1.25"}, port=9002)
    assert config.daily_usd == 1.25 and config.port == 9002


def test_allowed_origins_from_the_environment_are_trimmed():
    config = load_config(None, env={"TACTFUL_ALLOWED_ORIGINS": " https://a.example , https://b.example,, "})
    assert config.allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    "prices, names",
    [
        ('"m" = 3', "prices.m"),
        ('"m" = { input = 1.0 }', "prices.m"),
        ('"m" = { input = "cheap", output = 2 }', "prices.m"),
        ('"m" = { input = -1, output = 2 }', "prices.m"),
    ],
)
def test_a_bad_price_names_the_model(tmp_path, prices, names):
    path = write(tmp_path, f"[prices]\n{prices}\n")
    with pytest.raises(ConfigError, match=names):
        load_config(path, env={})


def test_prices_extend_the_defaults(tmp_path):
    config = load_config(write(tmp_path, '[prices]\n"my-model" = { input = 1.0, output = 4.0 }\n'), env={})
    assert config.price("my-model") == (1.0, 4.0) and config.price("claude-haiku-4-5") == (1.0, 5.0)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[server\n", "tactful.toml"),
        ("[nonsense]\nx = 1\n", "unknown section [nonsense]"),
        ("[server]\nportt = 1\n", "unknown field server.portt"),
        ("[server]\nport = \"eighty\"\n", "port"),
        ("[model]\nprovider = \"skynet\"\n", "model.provider"),
    ],
)
def test_bad_files_are_config_errors(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, text), env={})


def test_serve_reports_a_bad_file_and_exits_2(tmp_path, capsys):
    assert main(["serve", "--config", str(write(tmp_path, '[prices]\n"m" = 3\n'))]) == 2
    assert "bad configuration" in capsys.readouterr().err


def test_serve_without_a_playbook_refuses_to_guess(capsys):
    # A forgotten playbook setting must not quietly serve the demo shop's triggers.
    assert main(["serve", "--port", "1"]) == 2
    assert "no playbook" in capsys.readouterr().err
