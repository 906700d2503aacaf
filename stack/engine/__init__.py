"""An in-process search engine for argilla-server 2.8.0, replacing Elasticsearch/OpenSearch.

Argilla's ``BaseElasticAndOpenSearchEngine`` builds Elasticsearch request bodies (mappings, queries,
sorts, aggregations); this package answers them from plain Python dictionaries. Only the request
shapes that argilla-server 2.8.0 generates are understood; anything else raises
``UnsupportedRequestError`` instead of being silently misread.

All data lives in one in-process store and nothing is persisted (see ``store``). The semantics chosen
to match what Elasticsearch does with Argilla's mappings are noted in the module that implements them:

* ``engine``: the ``InMemorySearchEngine`` class argilla-server calls, registered as ``ENGINE_NAME``;
* ``store``: the indices, and the document writes (bulk actions, partial updates, update scripts);
* ``search`` and ``similarity``: a search request, and kNN by cosine similarity;
* ``queries`` and ``text``: query matching and scoring, and the ``simple_query_string`` syntax;
* ``sorting`` and ``aggregations``: sorts, and the aggregations argilla-server requests;
* ``values`` and ``request``: document values and request clauses as the other modules read them;
* ``errors``: the errors raised.

Importing this package registers the engine with argilla-server.
"""

from stack.engine.engine import ENGINE_NAME, InMemorySearchEngine
from stack.engine.errors import (
    DocumentNotFoundError,
    IndexAlreadyExistsError,
    IndexNotFoundError,
    UnsupportedRequestError,
)
from stack.engine.store import reset_store

__all__ = [
    "ENGINE_NAME",
    "DocumentNotFoundError",
    "InMemorySearchEngine",
    "IndexAlreadyExistsError",
    "IndexNotFoundError",
    "UnsupportedRequestError",
    "reset_store",
]
