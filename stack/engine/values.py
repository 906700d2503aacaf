"""Document values as the engine sees them: normalisation, dotted-path lookup, coercion and ordering.

Documents are stored as plain, comparable Python; fields are read by dotted path, flattening arrays on
the way as Elasticsearch indexes them; query values are converted to the type of the stored value they
are compared with, as Elasticsearch parses input per field type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

Source = dict[str, Any]


def _normalise(value: Any) -> Any:
    """Deep-copy a value into plain, comparable Python: str ids and enums, UTC-aware datetimes."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def _drop_path(document: Source, path: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = document
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def _values(source: Source, path: str) -> list[Any]:
    """Every non-null value at a dotted path, flattening arrays on the way as Elasticsearch indexes them."""
    nodes: list[Any] = [source]
    for part in path.split("."):
        nodes = _flatten([node[part] for node in nodes if isinstance(node, dict) and part in node])
    return [node for node in nodes if node is not None and node != {}]


def _raw(source: Source, path: str) -> Any:
    node: Any = source
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _doc_values(source: Source, path: str) -> list[Any]:
    """Scalar values of a field as aggregations see them: keyword values are de-duplicated per document."""
    values = [value for value in _values(source, path) if not isinstance(value, dict)]
    keywords = dict.fromkeys(value for value in values if isinstance(value, str))
    return [value for value in values if not isinstance(value, str)] + list(keywords)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_datetime(value: Any) -> datetime | None:
    """Parse a date the way a date field does: ISO-8601 text or epoch milliseconds."""
    if isinstance(value, datetime):
        return _normalise(value)
    if isinstance(value, str):
        try:
            return _normalise(datetime.fromisoformat(value))
        except ValueError:
            pass
    try:
        return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _coerce_like(query_value: Any, stored: Any) -> Any:
    """Convert a query value to the type of a stored value, as Elasticsearch parses input per field type."""
    query_value = _normalise(query_value)
    if isinstance(stored, datetime):
        return _to_datetime(query_value)
    if _is_number(stored):
        try:
            return float(query_value)
        except (TypeError, ValueError):
            return None
    if isinstance(stored, str) and query_value is not None:
        return str(query_value)
    return query_value


def _equals(stored: Any, query_value: Any) -> bool:
    coerced = _coerce_like(query_value, stored)
    return coerced is not None and coerced == stored


def _order_key(value: Any) -> tuple[int, Any]:
    """A key that orders values of mixed types without raising: numbers, then dates, then text."""
    if _is_number(value):
        return (0, value)
    if isinstance(value, datetime):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, str(value))
