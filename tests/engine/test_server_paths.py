"""argilla-server's own engine methods, driven with real (unsaved) Argilla model objects."""

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from argilla_server.enums import ResponseStatusFilter, SortOrder
from argilla_server.models import (
    Dataset,
    Field,
    MetadataProperty,
    Question,
    Record,
    Response,
    Suggestion,
    User,
    Vector,
    VectorSettings,
)
from argilla_server.search_engine.base import (
    MetadataFilterScope,
    Order,
    RangeFilter,
    ResponseFilterScope,
    TermsFilter,
    TextQuery,
)

from stack.engine.store import _STORE

pytestmark = pytest.mark.asyncio

START = datetime(2024, 5, 1)


@pytest.fixture
def dataset():
    dataset = Dataset(id=uuid4(), name="reviews", status="ready")
    dataset.fields = [
        Field(name="text", settings={"type": "text"}),
        Field(name="chat", settings={"type": "chat"}),
        Field(name="image", settings={"type": "image"}),
    ]
    dataset.questions = [
        Question(name="label", settings={"type": "label_selection", "options": []}),
        Question(name="rating", settings={"type": "rating", "options": []}),
    ]
    dataset.metadata_properties = [MetadataProperty(name="length", settings={"type": "integer"})]
    dataset.vectors_settings = [VectorSettings(id=uuid4(), name="emb", dimensions=2)]
    return dataset


@pytest.fixture
def users():
    return User(id=uuid4(), username="alice"), User(id=uuid4(), username="bob")


def _record(dataset, index, text, vector, length=None):
    moment = START + timedelta(minutes=index)
    record = Record(
        id=uuid4(),
        external_id=f"r{index}",
        fields={"text": text, "chat": [{"role": "user", "content": text.upper()}], "image": "data:image/png"},
        metadata_={"length": length} if length is not None else None,
        status="pending",
        dataset=dataset,
        inserted_at=moment,
        updated_at=moment,
    )
    settings = dataset.vectors_settings[0]
    record.vectors = [Vector(value=vector, vector_settings=settings, vector_settings_id=settings.id)]
    return record


def _answer(record, user, status, **values):
    answers = {question: {"value": value} for question, value in values.items()}
    return Response(id=uuid4(), status=status, user_id=user.id, values=answers, record=record)


async def _index(engine, dataset, users):
    alice, bob = users
    records = [
        _record(dataset, 0, "a great phone", [1.0, 0.0], length=3),
        _record(dataset, 1, "terrible phone battery", [0.9, 0.1], length=10),
        _record(dataset, 2, "great battery life", [0.0, 1.0]),
    ]
    _answer(records[0], alice, "submitted", label="pos", rating=5)
    _answer(records[0], bob, "submitted", label="pos", rating=3)
    _answer(records[1], bob, "draft", label="neg", rating=1)
    label = dataset.questions[0]
    suggestion = Suggestion(
        question=label, record=records[2], value="pos", score=0.7, agent="m", type="model"
    )
    suggestion.record_id = records[2].id  # set by the database for saved rows
    await engine.create_index(dataset)
    await engine.index_records(dataset, records)
    return records


async def _ids(engine, dataset, **search):
    result = await engine.search(dataset, **search)
    return [item.record_id for item in result.items]


async def test_indexed_documents(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    source = _STORE[f"rg.{dataset.id}"].docs[str(indexed[0].id)]
    assert "image" not in source["fields"]
    assert {response["user_id"] for response in source["responses"]} == {str(user.id) for user in users}
    assert isinstance(source["responses"][0]["id"], str)
    assert source["metadata"] == {"length": 3}


async def test_text_search(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    assert await _ids(engine, dataset, query="great") == [indexed[0].id, indexed[2].id]
    in_field = await _ids(engine, dataset, query=TextQuery(q="battery TERRIBLE", field="text"))
    assert in_field == [indexed[1].id]
    assert await _ids(engine, dataset, query=TextQuery(q="great life", field="chat")) == [indexed[2].id]


async def test_filters_sort_and_random_order(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    alice, _ = users
    pending_for_alice = TermsFilter(
        ResponseFilterScope(property="status", user=alice), [ResponseStatusFilter.pending]
    )
    assert await _ids(engine, dataset, filter=pending_for_alice) == [indexed[1].id, indexed[2].id]

    longest_first = [Order(MetadataFilterScope("length"), SortOrder.desc)]
    assert await _ids(engine, dataset, sort=longest_first) == [indexed[1].id, indexed[0].id, indexed[2].id]

    rating = [Order(ResponseFilterScope(question="rating"), SortOrder.asc)]
    assert await _ids(engine, dataset, sort=rating) == [indexed[1].id, indexed[0].id, indexed[2].id]

    short = RangeFilter(MetadataFilterScope("length"), le=5)
    assert await _ids(engine, dataset, filter=short, user_id=alice.id) == [indexed[0].id]
    shuffled = await _ids(engine, dataset, user_id=alice.id)
    assert shuffled == await _ids(engine, dataset, user_id=alice.id)
    assert sorted(shuffled) == sorted(record.id for record in indexed)


async def test_response_updates_change_filters_and_progress(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    alice, _ = users
    submitted = TermsFilter(
        ResponseFilterScope(property="status", user=alice), [ResponseStatusFilter.submitted]
    )
    response = _answer(indexed[2], alice, "submitted", label="neg")
    await engine.update_record_response(response)
    assert await _ids(engine, dataset, filter=submitted) == [indexed[0].id, indexed[2].id]

    await engine.delete_record_response(response)
    submitted.values = [ResponseStatusFilter.submitted]
    assert await _ids(engine, dataset, filter=submitted) == [indexed[0].id]

    indexed[0].status = "completed"
    await engine.partial_record_update(indexed[0], status=indexed[0].status)
    assert await engine.get_dataset_progress(dataset) == {"total": 3, "pending": 2, "completed": 1}
    assert await engine.get_dataset_user_progress(dataset, alice) == {"total": 1, "submitted": 1}


async def test_suggestion_delete_and_record_delete(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    suggestion = indexed[2].suggestions[0]
    await engine.delete_record_suggestion(suggestion)
    assert _STORE[f"rg.{dataset.id}"].docs[str(indexed[2].id)]["suggestions"] == {}
    await engine.delete_records(dataset, indexed[:2])
    assert await _ids(engine, dataset) == [indexed[2].id]


async def test_similarity_search_from_a_record(engine, dataset, users):
    indexed = await _index(engine, dataset, users)
    settings = dataset.vectors_settings[0]
    result = await engine.similarity_search(dataset, settings, record=indexed[0], max_results=5)
    assert [item.record_id for item in result.items] == [indexed[1].id, indexed[2].id]
    with_text = await engine.similarity_search(dataset, settings, record=indexed[0], query="life")
    assert [item.record_id for item in with_text.items] == [indexed[2].id]
