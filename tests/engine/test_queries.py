"""Query DSL, evaluated on the exact bodies argilla-server's helpers build."""

from datetime import datetime

import pytest
from argilla_server.enums import ResponseStatusFilter
from argilla_server.search_engine.base import (
    AndFilter,
    MetadataFilterScope,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SuggestionFilterScope,
    TermsFilter,
)
from argilla_server.search_engine.commons import (
    es_bool_query,
    es_exists_field_query,
    es_ids_query,
    es_nested_query,
    es_range_query,
    es_simple_query_string,
    es_term_query,
    es_terms_query,
)

from stack.engine import UnsupportedRequestError

pytestmark = pytest.mark.asyncio


def _responses(*answers):
    """Nested response elements from (user, status, label) triples."""
    return [
        {"id": f"r{index}", "user_id": str(user.id), "status": status, "label": label}
        for index, (user, status, label) in enumerate(answers)
    ]


def _status_filter(engine, *statuses, user=None):
    """The response status filter, in the filter context search() puts it in."""
    values = [ResponseStatusFilter(status) for status in statuses]
    es_filter = engine._response_status_filter_to_es_filter(
        TermsFilter(ResponseFilterScope(user=user), values)
    )
    return {"bool": {"must": [{"match_all": {}}], "filter": es_filter}}


async def test_match_all_scores_one(corpus):
    await corpus.add(a={}, b={})
    response = await corpus.search({"match_all": {}})
    assert [hit["_score"] for hit in response["hits"]["hits"]] == [1.0, 1.0]


async def test_term_terms_and_list_values(corpus):
    await corpus.add(
        a={"metadata": {"tags": ["x", "y"], "size": 3}},
        b={"metadata": {"tags": "z", "size": 4}},
        c={},
    )
    assert await corpus.find(es_terms_query("metadata.tags", ["y", "z"])) == ["a", "b"]
    assert await corpus.find(es_term_query("metadata.tags", "x")) == ["a"]
    # Numbers are parsed from query strings, as for a numeric field.
    assert await corpus.find(es_terms_query("metadata.size", ["4"])) == ["b"]


async def test_range_on_numbers_and_datetimes(corpus):
    await corpus.add(a={"metadata": {"size": 1}}, b={"metadata": {"size": 5}}, c={"metadata": {"size": 9}})
    assert await corpus.find(es_range_query("metadata.size", gte=2, lte=9)) == ["b", "c"]
    assert await corpus.find({"range": {"metadata.size": {"gt": 1, "lt": 9}}}) == ["b"]
    # Documents get inserted_at 12:01, 12:02 and 12:03; bounds may be datetimes or ISO text.
    assert await corpus.find(es_range_query("inserted_at", gte=datetime(2024, 1, 1, 12, 2))) == ["b", "c"]
    assert await corpus.find(es_range_query("inserted_at", lte="2024-01-01T12:02:00Z")) == ["a", "b"]


async def test_exists_ignores_null_and_empty_lists(corpus):
    await corpus.add(a={"external_id": None, "responses": []}, b={"responses": [{"status": "draft"}]})
    assert await corpus.find(es_exists_field_query("responses")) == ["b"]
    assert await corpus.find(es_exists_field_query("external_id")) == ["b"]


async def test_ids_query(corpus):
    await corpus.add(a={}, b={}, c={})
    assert await corpus.find(es_ids_query([str(corpus.ids["c"]), str(corpus.ids["a"])])) == ["a", "c"]


async def test_bool_must_should_must_not(corpus):
    await corpus.add(a={"status": "pending", "metadata": {"k": "x"}}, b={"status": "completed"}, c={})
    pending = es_term_query("status", "pending")
    assert await corpus.find(es_bool_query(must_not=pending)) == ["b"]
    only_should = es_bool_query(
        should=[es_term_query("metadata.k", "x"), es_term_query("status", "completed")]
    )
    assert await corpus.find(only_should) == ["a", "b"]
    # With must present, should is optional unless minimum_should_match says otherwise.
    optional = {"bool": {"must": [{"match_all": {}}], "should": [es_term_query("metadata.k", "x")]}}
    assert await corpus.find(optional) == ["a", "b", "c"]
    assert (await corpus.search(optional))["hits"]["hits"][0]["_score"] == 2.0
    required = {
        "bool": {"filter": pending, "should": [es_term_query("metadata.k", "y")], "minimum_should_match": 1}
    }
    assert await corpus.find(required) == []


async def test_record_metadata_and_suggestion_filters(corpus, engine):
    await corpus.add(
        a={
            "status": "completed",
            "metadata": {"size": 2},
            "suggestions": {"label": {"value": "pos", "score": 0.9}},
        },
        b={
            "status": "completed",
            "metadata": {"size": 7},
            "suggestions": {"label": {"value": "neg", "score": 0.2}},
        },
        c={"status": "pending", "metadata": {"size": 3}},
    )
    combined = AndFilter(
        [
            TermsFilter(RecordFilterScope("status"), ["completed"]),
            RangeFilter(MetadataFilterScope("size"), ge=1, le=5),
            RangeFilter(SuggestionFilterScope("label", "score"), ge=0.5),
        ]
    )
    assert await corpus.find(engine.build_elasticsearch_filter(combined)) == ["a"]
    suggestion = TermsFilter(SuggestionFilterScope("label", "value"), ["neg"])
    assert await corpus.find(engine.build_elasticsearch_filter(suggestion)) == ["b"]


async def test_nested_query_needs_one_element_matching_all_clauses(corpus, alice, bob):
    await corpus.add(
        a={"responses": _responses((alice, "submitted", "pos"), (bob, "draft", "neg"))},
        b={"responses": _responses((alice, "draft", "pos"), (bob, "submitted", "neg"))},
    )
    alice_submitted = es_nested_query(
        "responses",
        es_bool_query(
            must=[
                es_terms_query("responses.status", ["submitted"]),
                es_terms_query("responses.user_id", [str(alice.id)]),
            ]
        ),
    )
    assert await corpus.find(alice_submitted) == ["a"]
    # Outside a nested query, responses.* values of all elements are visible (include_in_root).
    flat = es_bool_query(
        must=[
            es_terms_query("responses.status", ["submitted"]),
            es_terms_query("responses.user_id", [str(alice.id)]),
        ]
    )
    assert await corpus.find(flat) == ["a", "b"]


async def test_response_question_filter_with_user(corpus, engine, alice, bob):
    await corpus.add(
        a={"responses": _responses((alice, "submitted", "pos"))},
        b={"responses": _responses((bob, "submitted", "pos"), (alice, "submitted", "neg"))},
    )
    by_alice = TermsFilter(ResponseFilterScope(question="label", user=alice), ["pos"])
    assert await corpus.find(engine.build_elasticsearch_filter(by_alice)) == ["a"]
    by_anyone = TermsFilter(ResponseFilterScope(question="label"), ["pos"])
    assert await corpus.find(engine.build_elasticsearch_filter(by_anyone)) == ["a", "b"]


async def test_status_filters_without_user(corpus, engine, alice, bob):
    await corpus.add(
        none={},
        empty={"responses": []},
        drafted={"responses": _responses((alice, "draft", None))},
        mixed={"responses": _responses((alice, "submitted", "pos"), (bob, "discarded", None))},
    )
    assert await corpus.find(_status_filter(engine, "pending")) == ["none", "empty"]
    assert await corpus.find(_status_filter(engine, "submitted")) == ["mixed"]
    assert await corpus.find(_status_filter(engine, "discarded")) == ["mixed"]
    assert await corpus.find(_status_filter(engine, "draft")) == ["drafted"]
    assert await corpus.find(_status_filter(engine, "pending", "draft")) == ["none", "empty", "drafted"]


async def test_status_filters_with_user(corpus, engine, alice, bob):
    await corpus.add(
        none={},
        bob_only={"responses": _responses((bob, "submitted", "pos"))},
        alice_draft={"responses": _responses((alice, "draft", "pos"), (bob, "submitted", "pos"))},
        alice_done={"responses": _responses((bob, "draft", "neg"), (alice, "submitted", "pos"))},
    )
    assert await corpus.find(_status_filter(engine, "pending", user=alice)) == ["none", "bob_only"]
    assert await corpus.find(_status_filter(engine, "submitted", user=alice)) == ["alice_done"]
    # bob submitted alice_draft, but alice's own response there is a draft.
    assert await corpus.find(_status_filter(engine, "draft", user=alice)) == ["alice_draft"]
    expected = ["none", "bob_only", "alice_draft"]
    assert await corpus.find(_status_filter(engine, "pending", "draft", user=alice)) == expected


async def test_simple_query_string_terms_are_anded_and_case_insensitive(corpus):
    await corpus.add(
        a={"fields": {"text": "The quick brown Fox", "title": "animals"}},
        b={"fields": {"text": "a quick test", "title": "fox news"}},
        c={"fields": {"text": "nothing here"}},
    )
    assert await corpus.find(es_simple_query_string("fields.*", "QUICK fox")) == ["a", "b"]
    assert await corpus.find(es_simple_query_string("fields.text", "quick fox")) == ["a"]
    assert await corpus.find(es_simple_query_string("fields.text", "qui*")) == ["a", "b"]
    assert await corpus.find(es_simple_query_string("fields.*", '"brown fox"')) == ["a"]
    assert await corpus.find(es_simple_query_string("fields.*", '"fox brown"')) == []
    assert await corpus.find(es_simple_query_string("fields.*", "quick -fox")) == []
    assert await corpus.find(es_simple_query_string("fields.text", "test | nothing")) == ["b", "c"]


async def test_simple_query_string_scores_by_term_frequency(corpus):
    await corpus.add(
        once={"fields": {"text": "cat and dog"}},
        thrice={"fields": {"text": "cat cat cat"}},
        other={"fields": {"text": "dog"}},
    )
    response = await corpus.search({"bool": {"must": [es_simple_query_string("fields.*", "cat")]}})
    assert corpus.hit_names(response) == ["thrice", "once"]
    scores = [hit["_score"] for hit in response["hits"]["hits"]]
    assert scores[0] > scores[1] > 0


async def test_simple_query_string_searches_chat_messages(corpus):
    chat = [{"role": "user", "content": "Where is Paris?"}, {"role": "assistant", "content": "France"}]
    await corpus.add(
        a={"fields": {"chat": chat}}, b={"fields": {"chat": [{"role": "user", "content": "hi"}]}}
    )
    assert await corpus.find(es_simple_query_string("fields.chat.*", "paris")) == ["a"]


async def test_random_score_is_deterministic_per_seed(corpus):
    await corpus.add(**{f"doc{i}": {} for i in range(12)})

    def randomised(seed):
        query = {"bool": {"must": [{"match_all": {}}]}}
        functions = [{"random_score": {"seed": seed, "field": "_seq_no"}}]
        return {"function_score": {"query": query, "functions": functions}}

    first = await corpus.find(randomised("alice"), size=12)
    assert first == await corpus.find(randomised("alice"), size=12)
    assert first != await corpus.find(randomised("bob"), size=12)
    assert sorted(first) == sorted(corpus.ids)
    scores = [hit["_score"] for hit in (await corpus.search(randomised("alice")))["hits"]["hits"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= score < 1 for score in scores)


async def test_unknown_query_type_is_rejected(corpus):
    await corpus.add(a={})
    with pytest.raises(UnsupportedRequestError, match="wildcard"):
        await corpus.find({"wildcard": {"fields.text": "a*"}})
