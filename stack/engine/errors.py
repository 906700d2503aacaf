"""The errors the engine raises; argilla-server sees them as failed search-engine calls."""


class UnsupportedRequestError(ValueError):
    """A query, sort, aggregation or script this engine does not understand."""


class IndexNotFoundError(LookupError):
    """The request names an index that does not exist."""


class IndexAlreadyExistsError(ValueError):
    """An index with that name has already been created."""


class DocumentNotFoundError(LookupError):
    """An update names a document that is not in the index."""
