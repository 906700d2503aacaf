"""kNN similarity search over ``vectors.<id>``."""

from types import SimpleNamespace
from uuid import uuid4

import pytest
from argilla_server.models import Dataset, VectorSettings
from argilla_server.search_engine.commons import es_term_query

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings():
    return SimpleNamespace(id=uuid4(), dimensions=2)


def _vector(settings, *value):
    return {"vectors": {str(settings.id): list(value)}}


async def _knn(corpus, settings, value, k=10, excluded_id=None, query_filters=None):
    return await corpus.engine._request_similarity_search(
        corpus.index, settings, value, k, excluded_id=excluded_id, query_filters=query_filters
    )


async def test_ranks_by_cosine_similarity(corpus, settings):
    await corpus.add(
        far=_vector(settings, -1.0, 0.0),
        close=_vector(settings, 2.0, 0.1),
        same=_vector(settings, 3.0, 0.0),
        orthogonal=_vector(settings, 0.0, 5.0),
        without={},
    )
    response = await _knn(corpus, settings, [1.0, 0.0])
    assert corpus.hit_names(response) == ["same", "close", "orthogonal", "far"]
    scores = [hit["_score"] for hit in response["hits"]["hits"]]
    assert scores[0] == pytest.approx(1.0)
    assert scores[2:] == pytest.approx([0.5, 0.0])
    assert response["hits"]["total"]["value"] == 4
    assert corpus.hit_names(await _knn(corpus, settings, [1.0, 0.0], k=2)) == ["same", "close"]


async def test_excluded_id_and_filters_that_must_all_match(corpus, settings):
    await corpus.add(
        query=_vector(settings, 1.0, 0.0) | {"status": "completed"},
        a=_vector(settings, 1.0, 0.1) | {"status": "completed", "metadata": {"k": "x"}},
        b=_vector(settings, 1.0, 0.2) | {"status": "completed"},
        c=_vector(settings, 1.0, 0.3) | {"status": "pending", "metadata": {"k": "x"}},
    )
    response = await _knn(corpus, settings, [1.0, 0.0], excluded_id=corpus.ids["query"])
    assert corpus.hit_names(response) == ["a", "b", "c"]
    filters = [es_term_query("status", "completed"), es_term_query("metadata.k", "x")]
    filtered = await _knn(
        corpus, settings, [1.0, 0.0], k=1, excluded_id=corpus.ids["query"], query_filters=filters
    )
    assert corpus.hit_names(filtered) == ["a"]


async def test_least_similar_order_and_score_threshold(corpus, engine):
    dataset = Dataset(id=corpus.dataset.id, name="d")
    settings = VectorSettings(id=uuid4(), name="v", dimensions=2, dataset=dataset)
    await corpus.add(near=_vector(settings, 1.0, 0.0), opposite=_vector(settings, -1.0, 0.0))
    least = await engine.similarity_search(dataset, settings, value=[1.0, 0.0], order="least_similar")
    assert [item.record_id for item in least.items] == [corpus.ids["opposite"], corpus.ids["near"]]
    thresholded = await engine.similarity_search(dataset, settings, value=[1.0, 0.0], threshold=0.9)
    assert [item.record_id for item in thresholded.items] == [corpus.ids["near"]]
