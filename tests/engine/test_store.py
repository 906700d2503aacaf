"""Index lifecycle, bulk writes, partial updates and the update scripts argilla-server sends."""

from types import SimpleNamespace
from uuid import uuid4

import pytest
from argilla_server.search_engine import SearchEngine

from stack.engine import (
    ENGINE_NAME,
    DocumentNotFoundError,
    IndexAlreadyExistsError,
    IndexNotFoundError,
    InMemorySearchEngine,
    UnsupportedRequestError,
)
from stack.engine.store import _STORE

pytestmark = pytest.mark.asyncio


def _response(user, status="submitted", **values):
    answers = {question: {"value": value} for question, value in values.items()}
    return SimpleNamespace(id=uuid4(), status=status, user_id=user.id, values=answers)


async def _source(corpus, name):
    return _STORE[corpus.index].docs[str(corpus.ids[name])]


async def test_registered_under_engine_name_and_shares_data_between_instances(engine):
    assert SearchEngine.registered_classes[ENGINE_NAME] is InMemorySearchEngine
    async with SearchEngine.get_by_name(ENGINE_NAME) as first:
        await first._create_index_request("rg.shared", mappings={}, settings={})
        await first._bulk_op_request([{"_op_type": "index", "_id": uuid4(), "_index": "rg.shared", "x": 1}])
    second = await InMemorySearchEngine.new_instance()
    assert await second._index_exists_request("rg.shared")
    assert (await second._index_search_request("rg.shared", {"match_all": {}}))["hits"]["total"]["value"] == 1
    assert await second.ping() is True
    assert (await second.info())["name"] == ENGINE_NAME
    assert (await second.info())["documents"] == 1


async def test_create_delete_and_exists(engine):
    assert not await engine._index_exists_request("rg.x")
    await engine._create_index_request("rg.x", mappings={"properties": {}}, settings={})
    assert await engine._index_exists_request("rg.x")
    with pytest.raises(IndexAlreadyExistsError):
        await engine._create_index_request("rg.x", mappings={}, settings={})
    await engine._delete_index_request("rg.x")
    assert not await engine._index_exists_request("rg.x")
    await engine._delete_index_request("rg.x")  # deleting a missing index is not an error


async def test_searching_a_missing_index_raises(engine):
    with pytest.raises(IndexNotFoundError):
        await engine._index_search_request("rg.missing", {"match_all": {}})


async def test_create_index_from_a_dataset_and_put_mapping(engine):
    dataset = SimpleNamespace(
        id=uuid4(), fields=[], metadata_properties=[], vectors_settings=[], questions=[], is_draft=False
    )
    await engine.create_index(dataset)
    index = _STORE[f"rg.{dataset.id}"]
    assert index.mappings["properties"]["responses"]["type"] == "nested"
    await engine.put_index_mapping_request(index.name, {"metadata.size": {"type": "long"}})
    assert index.mappings["properties"]["metadata.size"] == {"type": "long"}
    await engine.delete_index(dataset)
    assert not await engine._index_exists_request(index.name)


async def test_bulk_index_replaces_whole_document_and_normalises_ids(corpus):
    await corpus.add(a={"metadata": {"x": 1, "y": 2}}, b={})
    await corpus.add(a={"metadata": {"x": 5}})
    source = await _source(corpus, "a")
    assert source["metadata"] == {"x": 5}
    assert list(_STORE[corpus.index].docs) == [str(corpus.ids["a"]), str(corpus.ids["b"])]
    assert all(isinstance(doc_id, str) for doc_id in _STORE[corpus.index].docs)
    assert source["inserted_at"].tzinfo is not None


async def test_stored_documents_are_copies_of_the_caller_data(corpus):
    fields = {"text": "original"}
    await corpus.add(a={"fields": fields})
    fields["text"] = "changed later by the caller"
    assert (await _source(corpus, "a"))["fields"] == {"text": "original"}


async def test_bulk_delete_removes_and_tolerates_missing(corpus, caplog):
    await corpus.add(a={}, b={})
    actions = [
        {"_op_type": "delete", "_id": corpus.ids["a"], "_index": corpus.index},
        {"_op_type": "delete", "_id": uuid4(), "_index": corpus.index},
    ]
    await corpus.engine._bulk_op_request(actions)
    assert await corpus.find() == ["b"]
    assert "not found" in caplog.text


async def test_source_excludes_are_not_stored(engine):
    await engine._create_index_request(
        "rg.img", mappings={"_source": {"excludes": ["fields.image"]}}, settings={}
    )
    action = {
        "_op_type": "index",
        "_id": "1",
        "_index": "rg.img",
        "fields": {"image": "data:...", "text": "hi"},
    }
    await engine._bulk_op_request([action])
    assert _STORE["rg.img"].docs["1"]["fields"] == {"text": "hi"}


async def test_partial_update_merges_objects_recursively(corpus):
    suggestions = {"label": {"value": "pos", "score": 0.4, "agent": "m", "type": "model"}}
    await corpus.add(a={"status": "pending", "suggestions": suggestions, "metadata": {"k": 1}})
    body = {"doc": {"status": "completed", "suggestions": {"topic": {"value": ["x"], "score": None}}}}
    await corpus.engine._update_document_request(corpus.index, str(corpus.ids["a"]), body)
    source = await _source(corpus, "a")
    assert source["status"] == "completed"
    assert set(source["suggestions"]) == {"label", "topic"}
    assert source["suggestions"]["label"]["value"] == "pos"
    assert source["metadata"] == {"k": 1}


async def test_update_of_missing_document_raises(corpus):
    await corpus.add(a={})
    with pytest.raises(DocumentNotFoundError):
        await corpus.engine._update_document_request(corpus.index, str(uuid4()), {"doc": {"status": "x"}})


async def test_upsert_and_delete_response_scripts(corpus, alice, bob):
    await corpus.add(a={})
    record = SimpleNamespace(id=corpus.ids["a"], dataset=corpus.dataset)
    first, second = _response(alice, label="pos"), _response(bob, status="draft", label="neg")
    for response in (first, second):
        response.record = record
        await corpus.engine.update_record_response(response)
    assert [r["user_id"] for r in (await _source(corpus, "a"))["responses"]] == [str(alice.id), str(bob.id)]

    first.status, first.values = "discarded", {}
    await corpus.engine.update_record_response(first)
    responses = (await _source(corpus, "a"))["responses"]
    assert [(r["user_id"], r["status"]) for r in responses] == [
        (str(bob.id), "draft"),
        (str(alice.id), "discarded"),
    ]

    await corpus.engine.delete_record_response(second)
    assert [r["id"] for r in (await _source(corpus, "a"))["responses"]] == [str(first.id)]


async def test_delete_response_script_on_document_without_responses(corpus, alice):
    await corpus.add(a={})
    response = _response(alice)
    response.record = SimpleNamespace(id=corpus.ids["a"], dataset=corpus.dataset)
    await corpus.engine.delete_record_response(response)
    assert (await _source(corpus, "a"))["responses"] == []


async def test_update_and_delete_suggestion(corpus):
    await corpus.add(a={"suggestions": {"label": {"value": "pos", "score": 0.1}}})
    record = SimpleNamespace(id=corpus.ids["a"], dataset=corpus.dataset)
    question = SimpleNamespace(name="topic")
    suggestion = SimpleNamespace(
        record=record, record_id=record.id, question=question, value="x", score=0.9, agent="m", type="model"
    )
    await corpus.engine.update_record_suggestion(suggestion)
    assert (await _source(corpus, "a"))["suggestions"]["topic"]["value"] == "x"
    await corpus.engine.delete_record_suggestion(suggestion)
    assert set((await _source(corpus, "a"))["suggestions"]) == {"label"}


async def test_unknown_script_is_rejected(corpus):
    await corpus.add(a={})
    with pytest.raises(UnsupportedRequestError, match="Unsupported update script"):
        body = {"script": {"source": "ctx._source.status = 'x'", "params": {}}}
        await corpus.engine._update_document_request(corpus.index, str(corpus.ids["a"]), body)
