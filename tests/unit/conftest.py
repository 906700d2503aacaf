"""Fixtures that several unit test files use."""

from collections.abc import Iterator

import fakeredis
import pytest


@pytest.fixture
def redis() -> Iterator[fakeredis.FakeRedis]:
    """A fakeredis client on a server of its own, emptied after the test."""
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield client
    client.flushall()
