from pathlib import Path

import pytest
from pydantic import ValidationError

from common.settings import Settings


def test_connection_settings_read_the_names_users_already_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGILLA_API_URL", "http://argilla:6900")
    monkeypatch.setenv("ARGILLA_API_KEY", "key-123456")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    settings = Settings(_env_file=None)
    assert settings.argilla_api_url == "http://argilla:6900"
    assert settings.argilla_api_key == "key-123456"
    assert settings.redis_url == "redis://redis:6379/0"


def test_home_expands_the_user_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOOP_HOME", "~/somewhere")
    assert Settings(_env_file=None).home == Path("~/somewhere").expanduser()


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOOP_ARGILLA_PORT", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("ALLOOP_ARGILLA_PORT=7001\n")
    assert Settings(_env_file=env_file).argilla_port == 7001


def test_a_port_out_of_range_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOOP_ARGILLA_PORT", "70000")
    with pytest.raises(ValidationError, match="argilla_port"):
        Settings(_env_file=None)
