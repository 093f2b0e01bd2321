"""Settings come from SHAOZI_* variables; a bad one is named in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SAMPLE_CITY, Mode, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SHAOZI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.token is None
    assert settings.database == Path("data/shaozi.db")
    assert settings.city == SAMPLE_CITY
    assert settings.timezone == "Asia/Shanghai"
    assert settings.api_url == "https://api.telegram.org/bot"
    assert settings.mode is Mode.POLLING


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SHAOZI_TOKEN=1:from-dotenv\nSHAOZI_LOG_LEVEL=debug\n")
    monkeypatch.setenv("SHAOZI_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("SHAOZI_FILE_URL", "http://127.0.0.1:8081/file/bot")
    monkeypatch.setenv("SHAOZI_TIMEZONE", "Asia/Urumqi")
    settings = load_settings()
    assert settings.token is not None
    assert settings.token.get_secret_value() == "1:from-dotenv"
    assert "from-dotenv" not in repr(settings)  # the token never reaches a log line
    assert settings.log_level == "DEBUG"
    assert settings.api_url == "http://127.0.0.1:8081/bot"
    assert str(settings.zone) == "Asia/Urumqi"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SHAOZI_TIMEZONE", "Mars/Olympus", "SHAOZI_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("SHAOZI_API_URL", "ftp://x", "SHAOZI_API_URL: must start with http:// or https://"),
        ("SHAOZI_WEBHOOK_PORT", "99999", "SHAOZI_WEBHOOK_PORT: "),
        ("SHAOZI_MODE", "carrier-pigeon", "SHAOZI_MODE: "),
        ("SHAOZI_LOG_LEVEL", "LOUD", "SHAOZI_LOG_LEVEL: must be one of"),
    ],
)
def test_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith(expected)


def test_webhook_needs_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAOZI_MODE", "webhook")
    with pytest.raises(SettingsError, match="SHAOZI_WEBHOOK_URL is required"):
        load_settings()
