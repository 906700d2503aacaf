"""Sorting, pagination and the aggregations behind progress and metadata metrics."""

from types import SimpleNamespace
from uuid import uuid4

import pytest
from argilla_server.enums import SortOrder
from argilla_server.models import Dataset, MetadataProperty
from argilla_server.search_engine.base import (
    MetadataFilterScope,
    Order,
    RecordFilterScope,
    ResponseFilterScope,
    SuggestionFilterScope,
)
from argilla_server.search_engine.commons import es_nested_query, es_term_query

pytestmark = pytest.mark.asyncio


def _sort(engine, scope, order):
    return engine.build_elasticsearch_sort([Order(scope=scope, order=SortOrder(order))])


async def test_default_order_is_score_then_insertion(corpus):
    await corpus.add(c={"status": "x"}, a={}, b={"status": "x"})
    query = {"bool": {"must": [{"match_all": {}}], "should": [es_term_query("status", "x")]}}
    assert await corpus.find(query) == ["c", "b", "a"]


async def test_sort_with_missing_values_last_in_both_directions(corpus, engine):
    await corpus.add(
        two={"metadata": {"n": 2}}, none={}, one={"metadata": {"n": 1}}, three={"metadata": {"n": 3}}
    )
    scope = MetadataFilterScope("n")
    assert await corpus.find(sort=_sort(engine, scope, "asc")) == ["one", "two", "three", "none"]
    assert await corpus.find(sort=_sort(engine, scope, "desc")) == ["three", "two", "one", "none"]


async def test_field_sort_hides_scores_and_keeps_ties_in_insertion_order(corpus, engine):
    await corpus.add(b={"status": "pending"}, a={"status": "completed"}, c={"status": "pending"})
    response = await corpus.search(sort=_sort(engine, RecordFilterScope("status"), "asc"))
    assert corpus.hit_names(response) == ["a", "b", "c"]
    assert {hit["_score"] for hit in response["hits"]["hits"]} == {None}


async def test_sort_by_datetime_and_by_several_fields(corpus, engine):
    await corpus.add(a={"status": "x"}, b={"status": "y"}, c={"status": "x"})
    assert await corpus.find(sort=_sort(engine, RecordFilterScope("inserted_at"), "desc")) == ["c", "b", "a"]
    orders = [
        Order(RecordFilterScope("status"), SortOrder.desc),
        Order(RecordFilterScope("inserted_at"), SortOrder.desc),
    ]
    assert await corpus.find(sort=engine.build_elasticsearch_sort(orders)) == ["b", "c", "a"]


async def test_sort_on_multi_valued_field_uses_min_asc_and_max_desc(corpus, engine):
    await corpus.add(wide={"metadata": {"n": [1, 9]}}, mid={"metadata": {"n": [4, 5]}})
    scope = MetadataFilterScope("n")
    assert await corpus.find(sort=_sort(engine, scope, "asc")) == ["wide", "mid"]
    assert await corpus.find(sort=_sort(engine, scope, "desc")) == ["wide", "mid"]


async def test_suggestion_score_sort(corpus, engine):
    await corpus.add(
        low={"suggestions": {"label": {"value": "a", "score": 0.1}}},
        none={"suggestions": {"label": {"value": "a", "score": None}}},
        high={"suggestions": {"label": {"value": "b", "score": 0.8}}},
    )
    scope = SuggestionFilterScope("label", "score")
    assert await corpus.find(sort=_sort(engine, scope, "desc")) == ["high", "low", "none"]


async def test_nested_response_sort_averages_the_user_elements(corpus, engine, alice, bob):
    def rated(*pairs):
        return {"responses": [{"user_id": str(user.id), "rating": value} for user, value in pairs]}

    await corpus.add(
        mean4=rated((alice, 3), (alice, 5), (bob, 1)),
        mean2=rated((alice, 2), (bob, 10)),
        bob_only=rated((bob, 7)),
        mean9=rated((alice, 9)),
    )
    by_alice = ResponseFilterScope(question="rating", user=alice)
    assert await corpus.find(sort=_sort(engine, by_alice, "asc")) == ["mean2", "mean4", "mean9", "bob_only"]
    assert await corpus.find(sort=_sort(engine, by_alice, "desc")) == ["mean9", "mean4", "mean2", "bob_only"]
    by_anyone = ResponseFilterScope(question="rating")
    assert await corpus.find(sort=_sort(engine, by_anyone, "desc")) == ["mean9", "bob_only", "mean2", "mean4"]


async def test_pagination_reports_the_full_total(corpus, engine):
    await corpus.add(**{f"d{i}": {"metadata": {"n": i}} for i in range(7)})
    sort = _sort(engine, MetadataFilterScope("n"), "asc")
    response = await corpus.search(sort=sort, from_=2, size=3)
    assert corpus.hit_names(response) == ["d2", "d3", "d4"]
    assert response["hits"]["total"]["value"] == 7
    assert await corpus.find(sort=sort, from_=6, size=3) == ["d6"]
    assert await corpus.find(sort=sort, size=0) == []
    assert len(await corpus.find()) == 7  # Elasticsearch's default page size is 10


async def test_terms_aggregation_counts_each_value_once_per_document(corpus):
    await corpus.add(
        a={"metadata": {"tags": ["x", "y", "x"]}},
        b={"metadata": {"tags": ["y"]}},
        c={"metadata": {"tags": "z"}},
        d={},
    )
    aggregations = {
        "t": {"terms": {"field": "metadata.tags", "size": 2}},
        "n": {"value_count": {"field": "metadata.tags"}},
    }
    response = await corpus.search(aggregations=aggregations, size=0)
    assert response["aggregations"]["t"]["buckets"] == [
        {"key": "y", "doc_count": 2},
        {"key": "x", "doc_count": 1},
    ]
    assert response["aggregations"]["t"]["sum_other_doc_count"] == 1
    assert response["aggregations"]["n"] == {"value": 4}
    assert response["hits"]["hits"] == [] and response["hits"]["total"]["value"] == 4


async def test_stats_aggregation_respects_the_query(corpus):
    await corpus.add(
        a={"metadata": {"n": 2}}, b={"metadata": {"n": 4.5}}, c={"metadata": {"n": 100}, "status": "x"}
    )
    query = {"bool": {"must_not": es_term_query("status", "x")}}
    response = await corpus.search(query, aggregations={"s": {"stats": {"field": "metadata.n"}}}, size=0)
    assert response["aggregations"]["s"] == {"count": 2, "min": 2, "max": 4.5, "avg": 3.25, "sum": 6.5}
    empty = await corpus.search(aggregations={"s": {"stats": {"field": "metadata.other"}}}, size=0)
    assert empty["aggregations"]["s"] == {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}


async def test_dataset_progress(corpus, engine):
    await corpus.add(a={"status": "completed"}, b={"status": "pending"}, c={"status": "completed"})
    assert await engine.get_dataset_progress(corpus.dataset) == {"total": 3, "completed": 2, "pending": 1}
    draft = SimpleNamespace(id=uuid4(), is_draft=True)
    assert await engine.get_dataset_progress(draft) == {}


async def test_dataset_progress_of_an_empty_index(corpus, engine):
    await corpus.add()
    assert await engine.get_dataset_progress(corpus.dataset) == {"total": 0}


async def test_user_progress_counts_all_statuses_of_the_records_the_user_answered(corpus, engine, alice, bob):
    def answered(*pairs):
        return {"responses": [{"user_id": str(user.id), "status": status} for user, status in pairs]}

    await corpus.add(
        a=answered((alice, "submitted")),
        b=answered((alice, "draft"), (bob, "submitted")),
        c=answered((bob, "discarded")),
        d={},
    )
    # Like Elasticsearch with include_in_root: record b also counts bob's "submitted".
    progress = await engine.get_dataset_user_progress(corpus.dataset, alice)
    assert progress == {"total": 3, "submitted": 2, "draft": 1}
    query = es_nested_query("responses", es_term_query("responses.user_id", str(bob.id)))
    assert (await corpus.search(query, size=0))["hits"]["total"]["value"] == 2


async def test_metadata_metrics(corpus, engine):
    await corpus.add(a={"metadata": {"n": 3, "tag": "x"}}, b={"metadata": {"n": -1, "tag": ["x", "y"]}}, c={})
    dataset = Dataset(id=corpus.dataset.id, name="metrics")

    def prop(name, kind):
        return MetadataProperty(name=name, settings={"type": kind}, dataset=dataset)

    integers = await engine.compute_metrics_for(prop("n", "integer"))
    assert (integers.min, integers.max) == (-1, 3)
    terms = await engine.compute_metrics_for(prop("tag", "terms"))
    assert terms.total == 3
    assert [(value.term, value.count) for value in terms.values] == [("x", 2), ("y", 1)]
    missing = await engine.compute_metrics_for(prop("absent", "float"))
    assert (missing.min, missing.max) == (None, None)
