"""Vector similarity search: exact kNN by cosine similarity, scored ``(1 + cosine) / 2``."""

from __future__ import annotations

import math
from typing import Any

from stack.engine.queries import _match
from stack.engine.request import Query
from stack.engine.search import _response
from stack.engine.store import _LOCK, _index
from stack.engine.values import _raw


def _cosine(left: list[float], right: list[float]) -> float | None:
    norm = math.sqrt(math.fsum(x * x for x in left)) * math.sqrt(math.fsum(y * y for y in right))
    if not norm or len(left) != len(right):
        return None
    return math.fsum(x * y for x, y in zip(left, right, strict=True)) / norm


def _knn(
    index_name: str, field: str, vector: list[float], k: int, excluded_id: Any, filters: list[Query]
) -> dict[str, Any]:
    """The k documents most similar to ``vector`` among those passing every filter (filtered before kNN)."""
    excluded = None if excluded_id is None else str(excluded_id)
    query_vector = [float(x) for x in vector]
    hits: list[tuple[str, float | None]] = []
    with _LOCK:
        for doc_id, source in _index(index_name).docs.items():
            stored = _raw(source, field)
            if doc_id == excluded or not isinstance(stored, list):
                continue
            if any(_match(query, doc_id, source) is None for query in filters):
                continue
            similarity = _cosine(query_vector, [float(x) for x in stored])
            if similarity is not None:
                hits.append((doc_id, (1 + similarity) / 2))
    hits = sorted(hits, key=lambda hit: -(hit[1] or 0.0))[:k]
    return _response(index_name, len(hits), hits)
