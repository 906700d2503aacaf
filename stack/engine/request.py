"""Unpacking the clauses of an Elasticsearch request body, shared by queries, sorts and aggregations."""

from __future__ import annotations

from typing import Any

from stack.engine.errors import UnsupportedRequestError

Query = dict[str, Any]

# Elasticsearch's default for both a search's page size and a terms aggregation's bucket count.
_DEFAULT_PAGE_SIZE = 10


def _as_list(clauses: Any) -> list[Query]:
    if clauses is None:
        return []
    return clauses if isinstance(clauses, list) else [clauses]


def _field_and_value(params: dict[str, Any]) -> tuple[str, Any]:
    """Split ``{field: value}`` query params, ignoring options such as ``boost``."""
    fields = [key for key in params if key not in ("boost", "_name")]
    if len(fields) != 1:
        raise UnsupportedRequestError(f"Expected a single field or type in {params!r}")
    return fields[0], params[fields[0]]
