"""Sorting hits by fields or score, including sorts on nested fields with a filter."""

from __future__ import annotations

import dataclasses
import statistics
from functools import cmp_to_key
from typing import Any

from stack.engine.queries import _match, _nested_elements, _nested_view
from stack.engine.request import Query, _as_list, _field_and_value
from stack.engine.values import Source, _is_number, _normalise, _order_key, _values


@dataclasses.dataclass(frozen=True)
class _SortSpec:
    field: str
    descending: bool
    mode: str | None = None
    nested_path: str | None = None
    nested_filter: Query | None = None

    @classmethod
    def parse(cls, entry: Any) -> _SortSpec:
        if isinstance(entry, str):
            return cls(entry, descending=entry == "_score")
        field, options = _field_and_value(entry)
        if not isinstance(options, dict):
            options = {"order": options}
        order = str(_normalise(options.get("order", "desc" if field == "_score" else "asc")))
        nested = options.get("nested") or {}
        return cls(field, order == "desc", options.get("mode"), nested.get("path"), nested.get("filter"))

    def value(self, doc_id: str, source: Source, score: float) -> Any:
        """The value a document sorts by, or None when it has none (it then sorts last)."""
        if self.field == "_score":
            return score
        if self.nested_path is None:
            values = _values(source, self.field)
        else:
            views = [_nested_view(self.nested_path, e) for e in _nested_elements(source, self.nested_path)]
            kept = [view for view in views if _match(self.nested_filter, doc_id, view) is not None]
            values = [value for view in kept for value in _values(view, self.field)]
        values = [value for value in values if not isinstance(value, dict)]
        return self._reduce(values) if values else None

    def _reduce(self, values: list[Any]) -> Any:
        if self.mode == "avg" and all(_is_number(value) for value in values):
            return statistics.fmean(values)
        # Elasticsearch's default for multi-valued fields; also our fallback for avg over keywords.
        use_max = self.mode == "max" or (self.mode != "min" and self.descending)
        return (max if use_max else min)(values, key=_order_key)


def _parse_sort(sort: Any) -> list[_SortSpec]:
    entries = [{key: value} for key, value in sort.items()] if isinstance(sort, dict) else _as_list(sort)
    return [_SortSpec.parse(entry) for entry in entries]


def _sorted_hits(
    hits: list[tuple[str, Source, float]], specs: list[_SortSpec]
) -> list[tuple[str, Source, float]]:
    keyed = [([spec.value(*hit) for spec in specs], hit) for hit in hits]

    def compare(left: tuple[list[Any], Any], right: tuple[list[Any], Any]) -> int:
        for spec, a, b in zip(specs, left[0], right[0], strict=True):
            if a is None or b is None:
                if (a is None) != (b is None):
                    return 1 if a is None else -1
                continue
            ka, kb = _order_key(a), _order_key(b)
            if ka != kb:
                result = -1 if ka < kb else 1
                return -result if spec.descending else result
        return 0

    # sorted() is stable, so ties keep insertion order.
    return [hit for _, hit in sorted(keyed, key=cmp_to_key(compare))]
