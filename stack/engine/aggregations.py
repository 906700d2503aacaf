"""The aggregations argilla-server requests: ``terms``, ``value_count`` and ``stats``.

Keyword values are de-duplicated per document (Lucene sorted-set doc values), see ``_doc_values``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from stack.engine.errors import UnsupportedRequestError
from stack.engine.request import _DEFAULT_PAGE_SIZE, _field_and_value
from stack.engine.values import Source, _doc_values, _is_number, _order_key


def _terms_aggregation(params: dict[str, Any], sources: list[Source]) -> dict[str, Any]:
    counts: Counter[Any] = Counter()
    for source in sources:
        counts.update(set(_doc_values(source, params["field"])))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _order_key(item[0])))
    size = int(params.get("size", _DEFAULT_PAGE_SIZE))
    shown = ranked[:size]
    return {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": sum(count for _, count in ranked[size:]),
        "buckets": [{"key": key, "doc_count": count} for key, count in shown],
    }


def _value_count_aggregation(params: dict[str, Any], sources: list[Source]) -> dict[str, Any]:
    return {"value": sum(len(_doc_values(source, params["field"])) for source in sources)}


def _stats_aggregation(params: dict[str, Any], sources: list[Source]) -> dict[str, Any]:
    numbers = [v for source in sources for v in _doc_values(source, params["field"]) if _is_number(v)]
    if not numbers:
        return {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}
    total = math.fsum(numbers)
    return {
        "count": len(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "avg": total / len(numbers),
        "sum": total,
    }


_AGGREGATIONS: dict[str, Callable[[dict[str, Any], list[Source]], dict[str, Any]]] = {
    "terms": _terms_aggregation,
    "value_count": _value_count_aggregation,
    "stats": _stats_aggregation,
}


def _aggregate(spec: dict[str, Any], sources: list[Source]) -> dict[str, Any]:
    kind, params = _field_and_value(spec)
    if kind not in _AGGREGATIONS:
        raise UnsupportedRequestError(f"Unsupported aggregation {kind!r}")
    return _AGGREGATIONS[kind](params, sources)
