"""Whether, and with what score, a document matches an Elasticsearch query.

Leaf queries score 1.0; ``bool`` adds up the scores of its scoring clauses.

``responses`` is nested with ``include_in_root``: plain queries and aggregations on ``responses.x`` see
the values of all responses of a record, while a ``nested`` query needs one single response to satisfy
all its inner clauses. Hence ``get_dataset_user_progress`` counts the statuses of every response on the
records the user answered, exactly as Elasticsearch does.
"""

from __future__ import annotations

import hashlib
import operator
import statistics
from collections.abc import Callable
from typing import Any

from stack.engine.errors import UnsupportedRequestError
from stack.engine.request import Query, _as_list, _field_and_value
from stack.engine.text import _simple_query_string
from stack.engine.values import Source, _coerce_like, _equals, _raw, _values

# A query handler returns the score of a matching document, or None when it does not match.
_Handler = Callable[[Any, str, Source], float | None]


def _match(query: Query | None, doc_id: str, source: Source) -> float | None:
    if not query:
        return 1.0
    if len(query) != 1:
        raise UnsupportedRequestError(f"A query must have exactly one type, got {sorted(query)}")
    kind, params = next(iter(query.items()))
    handler = _QUERY_HANDLERS.get(kind)
    if handler is None:
        raise UnsupportedRequestError(f"Unsupported query type {kind!r}")
    return handler(params, doc_id, source)


def _required_should(spec: Any, should_count: int, has_required_clauses: bool) -> int:
    """How many should clauses must match; percentages are not supported (Argilla sends counts)."""
    if spec is None:
        return 0 if has_required_clauses or should_count == 0 else 1
    number = int(spec)
    return should_count + number if number < 0 else number


def _bool_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    must, filters = _as_list(params.get("must")), _as_list(params.get("filter"))
    should, must_not = _as_list(params.get("should")), _as_list(params.get("must_not"))
    score = 0.0
    for clause in must:
        clause_score = _match(clause, doc_id, source)
        if clause_score is None:
            return None
        score += clause_score
    if any(_match(clause, doc_id, source) is None for clause in filters):
        return None
    if any(_match(clause, doc_id, source) is not None for clause in must_not):
        return None
    should_scores = [s for s in (_match(clause, doc_id, source) for clause in should) if s is not None]
    required = _required_should(params.get("minimum_should_match"), len(should), bool(must or filters))
    if len(should_scores) < required:
        return None
    score += sum(should_scores)
    return score if must or should_scores else 1.0


def _term_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    field, value = _field_and_value(params)
    if isinstance(value, dict):
        value = value.get("value")
    return 1.0 if any(_equals(stored, value) for stored in _values(source, field)) else None


def _terms_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    field, wanted = _field_and_value(params)
    stored_values = _values(source, field)
    hit = any(_equals(stored, value) for stored in stored_values for value in _as_list(wanted))
    return 1.0 if hit else None


_RANGE_CHECKS = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt}


def _in_range(stored: Any, bounds: dict[str, Any]) -> bool:
    for name, check in _RANGE_CHECKS.items():
        if bounds.get(name) is None:
            continue
        bound = _coerce_like(bounds[name], stored)
        if bound is None or isinstance(stored, bool) or not check(stored, bound):
            return False
    return True


def _range_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    field, bounds = _field_and_value(params)
    hit = any(not isinstance(stored, dict) and _in_range(stored, bounds) for stored in _values(source, field))
    return 1.0 if hit else None


def _exists_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    return 1.0 if _values(source, params["field"]) else None


def _ids_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    return 1.0 if doc_id in {str(value) for value in params.get("values", [])} else None


def _nested_view(path: str, element: Any) -> Source:
    """A document holding a single nested element, so inner clauses can only see that element."""
    view: Any = element
    for part in reversed(path.split(".")):
        view = {part: view}
    return view


def _nested_elements(source: Source, path: str) -> list[Source]:
    return [element for element in _as_list(_raw(source, path)) if isinstance(element, dict)]


def _nested_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    path, inner = params["path"], params.get("query")
    scores = [
        score
        for element in _nested_elements(source, path)
        if (score := _match(inner, doc_id, _nested_view(path, element))) is not None
    ]
    if params.get("score_mode", "avg") != "avg":
        raise UnsupportedRequestError(f"Unsupported nested score_mode {params['score_mode']!r}")
    return statistics.fmean(scores) if scores else None


def _match_all_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    return 1.0


def _random_score(seed: Any, doc_id: str) -> float:
    """A pseudo-random score in [0, 1), stable for a given seed and document."""
    digest = hashlib.sha256(f"{seed}\x00{doc_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _function_score_query(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    """Only ``random_score`` functions, combined by multiplication (Elasticsearch's default modes)."""
    score = _match(params.get("query"), doc_id, source)
    for function in params.get("functions", []):
        if set(function) != {"random_score"}:
            raise UnsupportedRequestError(f"Unsupported score function {sorted(function)}")
        if score is not None:
            score *= _random_score(function["random_score"].get("seed"), doc_id)
    return score


_QUERY_HANDLERS: dict[str, _Handler] = {
    "match_all": _match_all_query,
    "bool": _bool_query,
    "term": _term_query,
    "terms": _terms_query,
    "range": _range_query,
    "exists": _exists_query,
    "ids": _ids_query,
    "nested": _nested_query,
    "function_score": _function_score_query,
    "simple_query_string": _simple_query_string,
}
