"""Session fixtures: one real local stack (argilla-server + redis-server) for the integration tests."""

from collections.abc import Iterator
from pathlib import Path

import argilla as rg
import pytest
import redis

from tests.support.data import small_trec as cut_trec
from tests.support.services import Services
from tests.support.stack import LocalStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(home=tmp_path_factory.mktemp("alloop-home"))
    try:
        local.up()
        yield local
    finally:
        local.down()


@pytest.fixture(scope="session")
def connection(stack: LocalStack) -> dict[str, str]:
    return stack.connection()


@pytest.fixture(scope="session")
def client(connection: dict[str, str]) -> rg.Argilla:
    return rg.Argilla(api_url=connection["ARGILLA_API_URL"], api_key=connection["ARGILLA_API_KEY"])


@pytest.fixture(scope="session")
def small_trec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TREC-6 cut to its first 300 training and 100 test questions: a run starts in seconds."""
    return cut_trec(tmp_path_factory.mktemp("trec-small"))


@pytest.fixture(scope="module")
def env(stack: LocalStack, connection: dict[str, str]) -> dict[str, str]:
    """What `alloop` commands and services of a module run with: the stack, polled every 0.5 s."""
    return {**stack.env, **connection, "ALLOOP_POLL_INTERVAL": "0.5"}


@pytest.fixture(scope="module")
def redis_client(connection: dict[str, str]) -> redis.Redis:
    return redis.Redis.from_url(connection["REDIS_URL"])


@pytest.fixture(scope="module")
def services(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A watcher and a worker for the module's runs, with their logs in a folder of the module's."""
    running = Services(env, tmp_path_factory.mktemp("service-logs"))
    running.start("watcher")
    running.start("worker")
    yield running
    running.stop_all()
