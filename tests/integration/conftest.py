"""Session fixtures: one real local stack (argilla-server + redis-server) for the integration tests."""

from collections.abc import Iterator
from pathlib import Path

import argilla as rg
import pytest

from tests.support.data import small_trec as cut_trec
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
