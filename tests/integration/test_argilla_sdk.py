"""The argilla SDK 2.8 against the embedded server: the whole surface alloop relies on."""

import time
import uuid

import argilla as rg
import httpx
import pytest

from common.argilla_adapter import ArgillaAdapter, pool_index, record_id
from common.connection import Connection
from common.spec import RunSpec
from tests.support.stack import LocalStack

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def as_user(connection: dict[str, str], user: rg.User) -> httpx.Client:
    """An HTTP client that acts as ``user`` with that user's own API key, as the web UI does."""
    url = connection["ARGILLA_API_URL"]
    reply = httpx.get(
        f"{url}/api/v1/users/{user.id}", headers={"X-Argilla-Api-Key": connection["ARGILLA_API_KEY"]}
    )
    reply.raise_for_status()
    return httpx.Client(base_url=url, headers={"X-Argilla-Api-Key": reply.json()["api_key"]})


@pytest.fixture(scope="module")
def workspace(client: rg.Argilla) -> rg.Workspace:
    return rg.Workspace(name=f"ws-{uuid.uuid4().hex[:8]}", client=client).create()


@pytest.fixture(scope="module")
def annotator(client: rg.Argilla, workspace: rg.Workspace) -> rg.User:
    user = rg.User(
        username=f"ann-{uuid.uuid4().hex[:6]}", password="annotator-password", role="annotator", client=client
    ).create()
    user.add_to_workspace(workspace)
    return user


@pytest.fixture(scope="module")
def dataset(client: rg.Argilla, workspace: rg.Workspace) -> rg.Dataset:
    settings = rg.Settings(
        fields=[rg.TextField(name="text")],
        questions=[rg.LabelQuestion(name="label", labels=LABELS)],
        metadata=[rg.IntegerMetadataProperty(name="batch_id")],
        distribution=rg.TaskDistribution(min_submitted=1),
        guidelines="Pick the type of answer the question asks for.",
    )
    created = rg.Dataset(
        name=f"trec-{uuid.uuid4().hex[:8]}", workspace=workspace, settings=settings, client=client
    )
    created.create()
    records = [
        rg.Record(
            id=record_id(i),
            fields={"text": f"What is question number {i} about ?"},
            metadata={"batch_id": i // 10},
            suggestions=[
                rg.Suggestion(question_name="label", value=LABELS[i % 6], score=0.5, agent="model-v1")
            ],
        )
        for i in range(20)
    ]
    created.records.log(records)
    return created


def batch_query(batch_id: int, *conditions: tuple[str, str, object]) -> rg.Query:
    return rg.Query(filter=rg.Filter([("metadata.batch_id", "==", batch_id), *conditions]))


def test_logged_records_come_back_with_their_suggestions(dataset: rg.Dataset) -> None:
    records = list(dataset.records(with_suggestions=True))
    assert len(records) == 20
    by_id = {record.id: record for record in records}
    assert by_id[record_id(7)].suggestions["label"].value == LABELS[7 % 6]
    assert by_id[record_id(7)].suggestions["label"].agent == "model-v1"
    assert by_id[record_id(7)].suggestions["label"].score == pytest.approx(0.5)


def test_query_by_metadata_batch_id(dataset: rg.Dataset) -> None:
    batch_one = list(dataset.records(query=batch_query(1)))
    assert sorted(record.id for record in batch_one) == sorted(record_id(i) for i in range(10, 20))


def test_text_search_finds_a_record(dataset: rg.Dataset) -> None:
    found = list(dataset.records(query=rg.Query(query="number 13")))
    assert record_id(13) in {record.id for record in found}


def test_responses_by_a_user_complete_records(
    connection: dict[str, str], dataset: rg.Dataset, annotator: rg.User
) -> None:
    pending = list(dataset.records(query=batch_query(0, ("response.status", "==", "pending"))))
    assert len(pending) == 10

    submitted, discarded, draft = pending[:6], pending[6:8], pending[8:]
    with as_user(connection, annotator) as annotator_http:
        for records, status in ((submitted, "submitted"), (discarded, "discarded"), (draft, "draft")):
            for record in records:
                body = {"values": {"label": {"value": "HUM"}}, "status": status}
                annotator_http.post(
                    f"/api/v1/records/{record._server_id}/responses", json=body
                ).raise_for_status()

    def ids(status: str) -> set[str]:
        return {r.id for r in dataset.records(query=batch_query(0, ("response.status", "==", status)))}

    assert ids("submitted") == {r.id for r in submitted}
    assert ids("discarded") == {r.id for r in discarded}
    assert ids("draft") == {r.id for r in draft}
    assert ids("pending") == set()

    completed = {
        r.id for r in dataset.records(query=rg.Query(filter=rg.Filter(("status", "==", "completed"))))
    }
    assert completed == {r.id for r in submitted}
    by_id = {record.id: record for record in dataset.records(query=batch_query(0))}
    assert by_id[submitted[0].id].status == "completed"
    assert by_id[draft[0].id].status == "pending"

    progress = dataset.progress(with_users_distribution=True)
    assert progress["total"] == 20
    assert progress["completed"] == 6
    assert progress["pending"] == 14
    assert progress["users"][annotator.username]["completed"]["submitted"] == 6


def test_the_adapter_reads_answers_even_a_discard_without_values(
    connection: dict[str, str], dataset: rg.Dataset, annotator: rg.User
) -> None:
    """The UI can discard without a label (empty values); the SDK's own response view drops those."""
    batch_one = sorted(dataset.records(query=batch_query(1)), key=lambda record: record.id)
    with as_user(connection, annotator) as annotator_http:
        annotator_http.post(
            f"/api/v1/records/{batch_one[0]._server_id}/responses", json={"values": {}, "status": "discarded"}
        )
        body = {"values": {"label": {"value": "LOC"}}, "status": "submitted"}
        annotator_http.post(
            f"/api/v1/records/{batch_one[1]._server_id}/responses", json=body
        ).raise_for_status()
    adapter = ArgillaAdapter(Connection(**{k.lower(): v for k, v in connection.items()}))
    spec = RunSpec(
        name="x", dataset={"path": "-"}, workspace=dataset.workspace.name, argilla_dataset=dataset.name
    )
    answers = {record.index: record for record in adapter.batch_records(spec, 1)}
    assert len(answers) == 10
    first, second = answers[pool_index(batch_one[0].id)], answers[pool_index(batch_one[1].id)]
    assert (first.discarded, first.label, first.done) == (True, None, True)
    assert (second.completed, second.label, second.done) == (True, "LOC", True)
    assert sum(record.done for record in answers.values()) == 2


def completed_count(dataset: rg.Dataset, expected: int) -> int:
    """The number of completed records, polled until it is ``expected`` (the server updates it in a task)."""
    deadline = time.monotonic() + 30
    while True:
        count = len(list(dataset.records(query=rg.Query(filter=rg.Filter(("status", "==", "completed"))))))
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def test_changing_the_distribution_recomputes_record_status_in_the_server(dataset: rg.Dataset) -> None:
    dataset.settings.distribution = rg.TaskDistribution(min_submitted=2)
    dataset.update()
    assert completed_count(dataset, 0) == 0
    dataset.settings.distribution = rg.TaskDistribution(min_submitted=1)
    dataset.update()
    assert completed_count(dataset, 7) == 7  # 6 of batch 0, 1 of batch 1


def test_everything_is_found_again_after_a_restart(
    stack: LocalStack, client: rg.Argilla, dataset: rg.Dataset
) -> None:
    """Runs last in this module: the index is rebuilt from the database on start."""
    before = {record.id: record.status for record in dataset.records()}
    stack.down()
    stack.up()
    fresh = rg.Argilla(api_url=client.api_url, api_key=stack.connection()["ARGILLA_API_KEY"])
    again = fresh.datasets(name=dataset.name, workspace=dataset.workspace.name)
    assert {record.id: record.status for record in again.records()} == before
    assert len(list(again.records(query=batch_query(1)))) == 10
    assert again.progress()["completed"] == 7
