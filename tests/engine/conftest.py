"""Fixtures for the in-memory search engine tests (run with the argilla-server virtualenv)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import pytest

if TYPE_CHECKING:
    from stack.engine import InMemorySearchEngine

BASE_TIME = datetime(2024, 1, 1, 12, 0, 0)


class Corpus:
    """An index of plain Argilla-shaped documents, named by their ``external_id`` for readable asserts."""

    def __init__(self, engine: InMemorySearchEngine) -> None:
        from argilla_server.search_engine.commons import es_index_name_for_dataset

        self.engine = engine
        self.dataset = SimpleNamespace(id=uuid4(), is_draft=False)
        self.index = es_index_name_for_dataset(self.dataset)
        self.ids: dict[str, UUID] = {}
        self.names: dict[str, str] = {}

    def document(self, name: str, **source: Any) -> dict[str, Any]:
        """A bulk ``index`` action for a record called ``name``; inserted_at grows with each new name."""
        record_id = self.ids.setdefault(name, uuid4())
        self.names[str(record_id)] = name
        moment = BASE_TIME + timedelta(minutes=len(self.ids))
        document = {"id": str(record_id), "external_id": name, "status": "pending", "fields": {}}
        document |= {"inserted_at": moment, "updated_at": moment, **source}
        return {"_op_type": "index", "_id": record_id, "_index": self.index, **document}

    async def add(self, **documents: dict[str, Any]) -> None:
        if not await self.engine._index_exists_request(self.index):
            await self.engine._create_index_request(self.index, mappings={}, settings={})
        await self.engine._bulk_op_request([self.document(name, **doc) for name, doc in documents.items()])

    async def search(self, query: dict | None = None, **options: Any) -> dict[str, Any]:
        return await self.engine._index_search_request(
            self.index, query=query or {"match_all": {}}, **options
        )

    async def find(self, query: dict | None = None, **options: Any) -> list[str]:
        """Names of the matching documents, in hit order."""
        response = await self.search(query, **options)
        return self.hit_names(response)

    def hit_names(self, response: dict[str, Any]) -> list[str]:
        return [self.names[hit["_id"]] for hit in response["hits"]["hits"]]


@pytest.fixture
def engine() -> Iterator[InMemorySearchEngine]:
    from stack.engine import InMemorySearchEngine, reset_store

    reset_store()
    yield InMemorySearchEngine(number_of_shards=1, number_of_replicas=0)
    reset_store()


@pytest.fixture
def corpus(engine: InMemorySearchEngine) -> Corpus:
    return Corpus(engine)


@pytest.fixture
def alice() -> SimpleNamespace:
    return SimpleNamespace(id=uuid4(), username="alice")


@pytest.fixture
def bob() -> SimpleNamespace:
    return SimpleNamespace(id=uuid4(), username="bob")
