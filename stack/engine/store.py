"""The in-process store of indices, and the document writes: bulk actions, partial updates, scripts.

The server creates a new engine instance for every request, so all data lives in the module-level
``_STORE``, guarded by ``_LOCK`` because jobs may touch it from another thread. Nothing is persisted:
after a restart, datasets must be reindexed in-process (``Reindexer`` in
``argilla_server.cli.search_engine.reindex``; the CLI command would fill another process's memory).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from stack.engine.errors import DocumentNotFoundError, IndexNotFoundError, UnsupportedRequestError
from stack.engine.values import Source, _drop_path, _normalise

_BULK_METADATA_KEYS = ("_op_type", "_index", "_id", "_routing", "_version", "_version_type")


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


def _index(name: str) -> _Index:
    index = _STORE.get(name)
    if index is None:
        raise IndexNotFoundError(f"No such index: {name!r}")
    return index


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
