"""A search request against one index: match, sort, page, aggregate, and the response body.

With an explicit sort that does not include ``_score``, hits have ``_score: None``.
"""

from __future__ import annotations

from typing import Any

from stack.engine.aggregations import _aggregate
from stack.engine.queries import _match
from stack.engine.request import _DEFAULT_PAGE_SIZE, Query
from stack.engine.sorting import _parse_sort, _sorted_hits
from stack.engine.store import _LOCK, _index


def _response(index_name: str, total: int, page: list[tuple[str, float | None]]) -> dict[str, Any]:
    scores = [score for _, score in page if score is not None]
    return {
        "took": 0,
        "timed_out": False,
        "hits": {
            "total": {"value": total, "relation": "eq"},
            "max_score": max(scores, default=None),
            "hits": [{"_index": index_name, "_id": doc_id, "_score": score} for doc_id, score in page],
        },
    }


def _search(
    index_name: str, query: Query | None, size: int | None, from_: int | None, sort: Any, aggregations: Any
) -> dict[str, Any]:
    with _LOCK:
        hits = [
            (doc_id, source, score)
            for doc_id, source in _index(index_name).docs.items()
            if (score := _match(query, doc_id, source)) is not None
        ]
        specs = _parse_sort(sort) if sort else []
        ordered = _sorted_hits(hits, specs) if specs else sorted(hits, key=lambda hit: -hit[2])
        # Like Elasticsearch, scores are not computed when sorting by fields only.
        keep_scores = not specs or any(spec.field == "_score" for spec in specs)
        start = from_ or 0
        page = ordered[start : start + (_DEFAULT_PAGE_SIZE if size is None else size)]
        response = _response(index_name, len(hits), [(i, s if keep_scores else None) for i, _, s in page])
        if aggregations:
            sources = [source for _, source, _ in hits]
            response["aggregations"] = {
                name: _aggregate(spec, sources) for name, spec in aggregations.items()
            }
        return response
