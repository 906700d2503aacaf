"""An in-process search engine for argilla-server 2.8.0, replacing Elasticsearch/OpenSearch.

Argilla's ``BaseElasticAndOpenSearchEngine`` builds Elasticsearch request bodies (mappings, queries,
sorts, aggregations); this module answers them from plain Python dictionaries. Only the request
shapes that argilla-server 2.8.0 generates are understood; anything else raises
``UnsupportedRequestError`` instead of being silently misread.

The server creates a new engine instance for every request, so all data lives in the module-level
``_STORE``, guarded by ``_LOCK`` because jobs may touch it from another thread. Nothing is persisted:
after a restart, datasets must be reindexed in-process (``Reindexer`` in
``argilla_server.cli.search_engine.reindex``; the CLI command would fill another process's memory).

Semantics worth knowing, each chosen to match what Elasticsearch does with Argilla's mappings:

* ``responses`` is nested with ``include_in_root``: plain queries and aggregations on
  ``responses.x`` see the values of all responses of a record, while a ``nested`` query needs one
  single response to satisfy all its inner clauses. Hence ``get_dataset_user_progress`` counts the
  statuses of every response on the records the user answered, exactly as Elasticsearch does.
* Keyword values are de-duplicated per document in aggregations (Lucene sorted-set doc values).
* Leaf queries score 1.0, text queries a term-frequency score, kNN ``(1 + cosine) / 2``.
* With an explicit sort that does not include ``_score``, hits have ``_score: None``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import operator
import re
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from fnmatch import fnmatchcase
from functools import cmp_to_key
from typing import Any
from uuid import UUID

from argilla_server.models import VectorSettings
from argilla_server.search_engine.base import SearchEngine
from argilla_server.search_engine.commons import BaseElasticAndOpenSearchEngine, es_field_for_vector_settings

ENGINE_NAME = "inmemory"

Source = dict[str, Any]
Query = dict[str, Any]

_DEFAULT_PAGE_SIZE = 10
_BULK_METADATA_KEYS = ("_op_type", "_index", "_id", "_routing", "_version", "_version_type")


class UnsupportedRequestError(ValueError):
    """A query, sort, aggregation or script this engine does not understand."""


class IndexNotFoundError(LookupError):
    """The request names an index that does not exist."""


class IndexAlreadyExistsError(ValueError):
    """An index with that name has already been created."""


class DocumentNotFoundError(LookupError):
    """An update names a document that is not in the index."""


@dataclasses.dataclass
class _Index:
    name: str
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, Source] = dataclasses.field(default_factory=dict)

    def put(self, doc_id: str, source: Source) -> None:
        """Store (or fully replace) a document, dropping the paths the mapping excludes from _source."""
        document = _normalise(source)
        for path in self.mappings.get("_source", {}).get("excludes", []):
            _drop_path(document, path)
        self.docs[doc_id] = document


_STORE: dict[str, _Index] = {}
_LOCK = threading.RLock()


def reset_store() -> None:
    """Forget every index (meant for tests)."""
    with _LOCK:
        _STORE.clear()


# --- values -----------------------------------------------------------------------------------------


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


# --- queries ----------------------------------------------------------------------------------------

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


# --- full text --------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_QUERY_PART = re.compile(r'([+-]?)"([^"]*)"?|(\S+)')


@dataclasses.dataclass(frozen=True)
class _TextClause:
    words: tuple[str, ...]
    phrase: bool = False
    prefix: bool = False
    negated: bool = False


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _parse_text_query(text: str) -> list[list[_TextClause]]:
    """Parse simple_query_string syntax into OR-ed groups of AND-ed clauses.

    Supported: words, ``"phrases"``, ``prefix*``, ``-excluded``, ``+required`` and ``|``. Parentheses
    are ignored and fuzziness/slop (``~N``) is dropped.
    """
    groups: list[list[_TextClause]] = [[]]
    for sign, phrase, term in _QUERY_PART.findall(text.replace("|", " | ")):
        if term == "|":
            groups.append([])
            continue
        if not term:
            clause = _TextClause(tuple(_tokens(phrase)), phrase=True, negated=sign == "-")
        else:
            bare = re.sub(r"~\d*$", "", term.strip("()"))
            words = _tokens(bare.lstrip("+-"))
            clause = _TextClause(tuple(words), prefix=bare.endswith("*"), negated=bare.startswith("-"))
        if clause.words:
            groups[-1].append(clause)
    return [group for group in groups if group]


def _text_leaves(source: Source, patterns: list[str]) -> list[list[str]]:
    """The tokens of every string whose dotted path matches one of the field patterns."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, path)
        elif isinstance(node, str):
            yield path, node

    return [_tokens(text) for path, text in walk(source, "") if any(fnmatchcase(path, p) for p in patterns)]


def _clause_frequency(clause: _TextClause, leaves: list[list[str]]) -> int:
    if clause.phrase:
        size = len(clause.words)
        return sum(
            1
            for tokens in leaves
            for start in range(len(tokens) - size + 1)
            if tuple(tokens[start : start + size]) == clause.words
        )
    last = len(clause.words) - 1
    counts = [
        sum(
            1
            for tokens in leaves
            for token in tokens
            if token == word or (clause.prefix and index == last and token.startswith(word))
        )
        for index, word in enumerate(clause.words)
    ]
    return min(counts)


def _group_score(group: list[_TextClause], leaves: list[list[str]]) -> float | None:
    score = 0.0
    for clause in group:
        frequency = _clause_frequency(clause, leaves)
        if clause.negated:
            if frequency:
                return None
        elif not frequency:
            return None
        else:
            score += frequency / (frequency + 1.2)
    return score or 1.0


def _simple_query_string(params: dict[str, Any], doc_id: str, source: Source) -> float | None:
    patterns = [field.split("^")[0] for field in params.get("fields", ["*"])]
    leaves = _text_leaves(source, patterns)
    scores = [
        score for group in _parse_text_query(str(params["query"])) if (score := _group_score(group, leaves))
    ]
    return sum(scores) if scores else None


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


# --- sorting ----------------------------------------------------------------------------------------


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


# --- aggregations -----------------------------------------------------------------------------------


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


# --- store operations -------------------------------------------------------------------------------


def _index(name: str) -> _Index:
    index = _STORE.get(name)
    if index is None:
        raise IndexNotFoundError(f"No such index: {name!r}")
    return index


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


def _deep_merge(target: Source, update: Source) -> None:
    """Merge a partial document the way Elasticsearch does: objects recursively, anything else replaced."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


_SUGGESTION_REMOVAL = re.compile(r'ctx\._source\["suggestions"\]\.remove\("(?P<question>[^"]+)"\)')


def _run_script(source: Source, script: Any) -> None:
    """Apply one of the three Painless scripts argilla-server 2.8.0 sends, recognised by their text."""
    code = script if isinstance(script, str) else script.get("source", "")
    params = {} if isinstance(script, str) else _normalise(script.get("params", {}))
    compact = "".join(code.split())
    if removal := _SUGGESTION_REMOVAL.fullmatch(compact):
        suggestions = source.get("suggestions")
        if isinstance(suggestions, dict):
            suggestions.pop(removal["question"], None)
        return
    removes_response = "ctx._source.responses.remove(i)" in compact and "params.response.id" in compact
    if not removes_response or "response" not in params:
        raise UnsupportedRequestError(f"Unsupported update script: {code.strip()!r}")
    response = params["response"]
    kept = [r for r in source.get("responses") or [] if r.get("id") != response.get("id")]
    if "ctx._source.responses.add(params.response)" in compact:
        kept.append(response)
    elif ".add(" in compact:
        raise UnsupportedRequestError(f"Unsupported update script: {code.strip()!r}")
    source["responses"] = kept


def _update(index_name: str, doc_id: str, body: dict[str, Any]) -> None:
    with _LOCK:
        source = _index(index_name).docs.get(str(doc_id))
        if source is None:
            raise DocumentNotFoundError(f"No document {doc_id!r} in index {index_name!r}")
        if "doc" in body:
            _deep_merge(source, _normalise(body["doc"]))
        elif "script" in body:
            _run_script(source, body["script"])
        else:
            raise UnsupportedRequestError(f"Unsupported update body with keys {sorted(body)}")


def _bulk(actions: list[dict[str, Any]]) -> list[str]:
    """Apply index/delete actions; like the Elasticsearch bulk helper, failures are reported, not raised."""
    errors = []
    with _LOCK:
        for action in actions:
            op = action.get("_op_type", "index")
            index_name, doc_id = action["_index"], str(action["_id"])
            source = action.get("_source") or {
                key: value for key, value in action.items() if key not in _BULK_METADATA_KEYS
            }
            if op == "index":
                # Like Elasticsearch's automatic index creation.
                index = _STORE.setdefault(index_name, _Index(index_name, mappings={}, settings={}))
                index.put(doc_id, source)
            elif op == "delete":
                docs = _STORE[index_name].docs if index_name in _STORE else {}
                if docs.pop(doc_id, None) is None:
                    errors.append(f"delete {doc_id} in {index_name}: not found")
            else:
                errors.append(f"{op} {doc_id} in {index_name}: unsupported bulk operation")
    return errors


# --- the engine -------------------------------------------------------------------------------------


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
