"""``InMemorySearchEngine``: Argilla's own Elasticsearch engine logic, answered by the in-process store.

Importing this module registers the engine with argilla-server under ``ENGINE_NAME``.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from argilla_server.models import VectorSettings
from argilla_server.search_engine.base import SearchEngine
from argilla_server.search_engine.commons import BaseElasticAndOpenSearchEngine, es_field_for_vector_settings

from stack.engine.errors import IndexAlreadyExistsError
from stack.engine.search import _search
from stack.engine.similarity import _knn
from stack.engine.store import _LOCK, _STORE, _bulk, _Index, _index, _update
from stack.engine.values import _normalise

ENGINE_NAME = "inmemory"


@SearchEngine.register(engine_name=ENGINE_NAME)
@dataclasses.dataclass
class InMemorySearchEngine(BaseElasticAndOpenSearchEngine):
    """Argilla's Elasticsearch engine logic on top of the in-process store."""

    client: Any = dataclasses.field(init=False, default=None, repr=False)  # nothing to connect to

    @classmethod
    async def new_instance(cls) -> InMemorySearchEngine:
        return cls(number_of_shards=1, number_of_replicas=0)

    async def close(self) -> None:
        pass

    async def ping(self) -> bool:
        return True

    @staticmethod
    def _map_record_response_to_es(response: Any) -> dict[str, Any]:
        # Argilla accepts a discarded response without values, then fails indexing it (values is None).
        if response.values is None:
            return {"id": response.id, "status": response.status, "user_id": response.user_id}
        return BaseElasticAndOpenSearchEngine._map_record_response_to_es(response)

    async def info(self) -> dict:
        with _LOCK:
            documents = sum(len(index.docs) for index in _STORE.values())
            return {
                "name": ENGINE_NAME,
                "cluster_name": "in-process",
                "version": {"distribution": ENGINE_NAME},
                "indices": len(_STORE),
                "documents": documents,
            }

    def _mapping_for_vector_settings(self, vector_settings: VectorSettings) -> dict:
        return {
            es_field_for_vector_settings(vector_settings): {
                "type": "dense_vector",
                "dims": vector_settings.dimensions,
                "similarity": "cosine",
            }
        }

    async def _request_similarity_search(
        self,
        index: str,
        vector_settings: VectorSettings,
        value: list[float],
        k: int,
        excluded_id: UUID | None = None,
        query_filters: list[dict] | None = None,
    ) -> dict:
        field = es_field_for_vector_settings(vector_settings)
        return _knn(index, field, value, k, excluded_id, query_filters or [])

    async def _create_index_request(self, index_name: str, mappings: dict, settings: dict) -> None:
        with _LOCK:
            if index_name in _STORE:
                raise IndexAlreadyExistsError(f"Index {index_name!r} already exists")
            _STORE[index_name] = _Index(index_name, _normalise(mappings), _normalise(settings))

    async def _delete_index_request(self, index_name: str) -> None:
        with _LOCK:
            _STORE.pop(index_name, None)

    async def _update_document_request(self, index_name: str, id: str, body: dict) -> None:
        _update(index_name, id, body)

    async def put_index_mapping_request(self, index: str, mappings: dict) -> None:
        with _LOCK:
            _index(index).mappings.setdefault("properties", {}).update(_normalise(mappings))

    async def _index_search_request(
        self,
        index: str,
        query: dict,
        size: int | None = None,
        from_: int | None = None,
        sort: Any = None,
        aggregations: dict | None = None,
    ) -> dict:
        return _search(index, query, size, from_, sort, aggregations)

    async def _index_exists_request(self, index_name: str) -> bool:
        with _LOCK:
            return index_name in _STORE

    async def _bulk_op_request(self, actions: list[dict[str, Any]]) -> None:
        for error in _bulk(list(actions)):
            self._LOGGER.error(f"Error in bulk operation: {error}")
