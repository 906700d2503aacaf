"""Secrets stay out of service logs and CLI errors, whatever message carries them."""

import logging
from collections.abc import Iterator

import pytest

from cli.main import fail
from common import logs
from common.connection import Connection
from common.settings import get_settings

PASSWORD = "hunter2-redis-pass"
API_KEY = "alloop.the-api-key-1234"
URL = f"rediss://:{PASSWORD}@redis.example.org:6380/0?ssl_cert_reqs=required"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_service_logs_mask_the_api_key_and_the_redis_password(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = Connection(argilla_api_url="http://argilla:6900", argilla_api_key=API_KEY, redis_url=URL)
    logs.configure(secrets=connection.secrets())
    log = logging.getLogger("alloop.test")
    log.warning("cannot reach %s with key %s", URL, API_KEY)
    logging.getLogger("rq.worker").error("a library's line: %s", URL)  # not only alloop's loggers
    try:
        raise RuntimeError(f"connecting with {API_KEY}")
    except RuntimeError:
        log.exception("job failed")
    shown = capsys.readouterr()
    output = " ".join((shown.out + shown.err).split())  # rich wraps lines at the terminal's width
    assert "cannot reach rediss://:***@redis.example.org:6380/0" in output
    assert "a library's line" in output and "RuntimeError: connecting with ***" in output
    assert PASSWORD not in output and API_KEY not in output


def test_a_cli_error_line_never_shows_a_configured_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", URL)
    monkeypatch.setenv("ARGILLA_API_KEY", API_KEY)
    monkeypatch.setenv("ARGILLA_API_URL", "http://argilla:6900")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            fail(f"a library said:\n{URL} refused key {API_KEY} [bold]")
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: a library said: rediss://:***@redis.example.org")
    assert "refused key *** [bold]" in err, "markup-like text is printed as it is"
    assert PASSWORD not in err and API_KEY not in err
