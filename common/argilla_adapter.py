"""Everything alloop asks of Argilla: the only module that touches the argilla 2.x SDK or its API.

Datasets and batches for the trainer, answers for the watcher and the export, users and answers
for the simulated annotator, webhook subscriptions for the watcher's hints, and the one-line
description of the SDK's errors.
"""

import secrets
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import argilla as rg
import httpx
from argilla._exceptions import (
    ArgillaAPIError,
    ArgillaCredentialsError,
    ArgillaError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from pydantic import BaseModel, ConfigDict

from common.connection import Connection, ServiceError
from common.errors import API_KEY_FIX, UserError
from common.spec import RunSpec

QUESTION = "label"
FIELD = "text"
BATCH_METADATA = "batch_id"
RECORD_PREFIX = "pool-"
SUBMITTED = "submitted"
DISCARDED = "discarded"
DETAIL_CHARS = 300
SDK_ERRORS = (ArgillaError,)
"""What the SDK raises (besides httpx's transport errors): the CLI turns them into one line."""
T = TypeVar("T")

GUIDELINES = (
    "Pick the label that fits the text best. The model's suggestion is pre-filled: correct it when it is "
    "wrong. Discard a text that fits no label or cannot be judged. The next batch appears by itself when "
    "this one is done."
)


def record_id(index: int) -> str:
    """The Argilla record id of pool item ``index``: stable, so logging it again updates it."""
    return f"{RECORD_PREFIX}{index}"


def status_name(status: object) -> str:
    """A record's or response's status as its plain name (the SDK gives enums or strings)."""
    return str(getattr(status, "value", status))


def pool_index(record_id_: str) -> int:
    return int(record_id_.removeprefix(RECORD_PREFIX))


class BatchRecord(BaseModel):
    """One record of a batch, as the annotators left it (the watcher hands these to the job as JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    completed: bool
    discarded: bool
    label: str | None

    @property
    def done(self) -> bool:
        return self.completed or self.discarded


class SourceRecord(BaseModel):
    """One record of a dataset a run's pool is read from: its id there, its text, its label if any."""

    id: str
    text: str
    label: str | None


class Source(BaseModel):
    """A dataset a run's pool is read from (it is only read, never changed)."""

    name: str
    workspace: str
    text_field: str
    question: str
    labels: list[str]
    records: list[SourceRecord]


@dataclass(frozen=True)
class Answer:
    """One annotator's response to a record: who, its status (submitted, discarded, draft), the label."""

    user: str
    status: str
    label: str | None


@dataclass(frozen=True)
class Suggested:
    """The model's suggestion an annotator saw."""

    label: str
    score: float | None
    agent: str | None


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription: its id in Argilla, and the secret that signs its deliveries."""

    id: str
    secret: str


@dataclass(frozen=True)
class AnsweredRecord:
    """A record of a run's dataset with every response to it and the suggestion annotators saw."""

    id: str
    text: str
    batch: int | None
    answers: list[Answer]
    suggested: Suggested | None


def vote(answers: Iterable[Answer]) -> str | None:
    """The label most submitted answers give (on a tie, the first given); None without any.

    The one rule by which several annotators' answers become the label learned and exported.
    """
    submitted = [answer.label for answer in answers if answer.status == SUBMITTED and answer.label]
    return Counter(submitted).most_common(1)[0][0] if submitted else None


def describe_error(error: BaseException) -> str | None:
    """One line for an error of the SDK, naming the fix where one is known; None for other errors."""
    if isinstance(error, ArgillaCredentialsError | UnauthorizedError):
        return f"Argilla rejected the API key; {API_KEY_FIX}"
    if isinstance(error, ForbiddenError):
        return (
            f"Argilla refused this to the user of ARGILLA_API_KEY ({_short(error)}); "
            "use an owner's or admin's API key"
        )
    if isinstance(error, ArgillaAPIError):
        return f"Argilla answered HTTP {error.status_code}: {_short(error)}"
    return None


def check_argilla(url: str, api_key: str, headers: dict[str, str] | None = None) -> str:
    """The username that ``api_key`` signs in as, or a ServiceError naming the problem and the fix."""
    headers = {**(headers or {}), "X-Argilla-Api-Key": api_key}
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/me", headers=headers, timeout=5)
    except httpx.HTTPError as error:
        raise ServiceError(
            f"Argilla at {url} does not answer ({error}); start it or fix ARGILLA_API_URL"
        ) from None
    if response.status_code == 401:
        raise ServiceError(f"Argilla at {url} rejected the API key; {API_KEY_FIX}")
    if response.status_code != 200:
        raise ServiceError(
            f"Argilla at {url} answered HTTP {response.status_code} to /api/v1/me; "
            "is ARGILLA_API_URL an Argilla 2.x server?"
        )
    return str(response.json()["username"])


class ArgillaAdapter:
    """One run's dataset in Argilla: create it, log batches with suggestions, read the answers."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        try:
            self.client = rg.Argilla(
                api_url=connection.argilla_api_url,
                api_key=connection.argilla_api_key,
                headers=dict(connection.argilla_headers),
            )
        except (ArgillaCredentialsError, UnauthorizedError):
            # Not retried: the same key fails the same way until someone fixes it.
            raise ServiceError(
                f"Argilla at {connection.argilla_api_url} rejected the API key; {API_KEY_FIX}"
            ) from None
        self._datasets: dict[tuple[str, str], rg.Dataset] = {}

    def create_dataset(self, spec: RunSpec, labels: Sequence[str]) -> rg.Dataset:
        """Create the run's workspace (if needed) and dataset; refuse a dataset that exists."""
        if self.find_dataset(spec) is not None:
            raise UserError(
                f"Argilla already has dataset {spec.dataset_name!r} in workspace {spec.workspace!r}; "
                "choose another `argilla_dataset` or run name, or pass --resume"
            )
        workspace = self._quiet(lambda: self.client.workspaces(spec.workspace))
        if workspace is None:
            workspace = rg.Workspace(name=spec.workspace, client=self.client).create()
        settings = rg.Settings(
            guidelines=GUIDELINES,
            fields=[rg.TextField(name=FIELD, title="Text", use_markdown=False)],
            questions=[rg.LabelQuestion(name=QUESTION, title="Label", labels=list(labels))],
            metadata=[rg.IntegerMetadataProperty(name=BATCH_METADATA, title="Batch")],
            distribution=rg.TaskDistribution(min_submitted=spec.min_submitted),
        )
        dataset = rg.Dataset(
            name=spec.dataset_name, workspace=workspace, settings=settings, client=self.client
        )
        dataset.create()
        self._datasets[(spec.workspace, spec.dataset_name)] = dataset
        return dataset

    def find_dataset(self, spec: RunSpec) -> rg.Dataset | None:
        key = (spec.workspace, spec.dataset_name)
        if key not in self._datasets:
            if self._quiet(lambda: self.client.workspaces(spec.workspace)) is None:
                return None
            found = self._quiet(
                lambda: self.client.datasets(name=spec.dataset_name, workspace=spec.workspace)
            )
            if found is None:
                return None
            self._datasets[key] = found
        return self._datasets[key]

    def delete_dataset(self, spec: RunSpec) -> None:
        """Delete the run's dataset with its records and answers, if it exists."""
        found = self.find_dataset(spec)
        if found is not None:
            found.delete()
            self._datasets.pop((spec.workspace, spec.dataset_name), None)

    def dataset(self, spec: RunSpec) -> rg.Dataset:
        found = self.find_dataset(spec)
        if found is None:
            raise self._no_dataset(spec)
        return found

    @staticmethod
    def _no_dataset(spec: RunSpec) -> UserError:
        return UserError(
            f"Argilla has no dataset {spec.dataset_name!r} in workspace {spec.workspace!r} (deleted?); "
            f"`alloop stop --run {spec.name}` ends the run, `alloop init --replace` starts it again"
        )

    @contextmanager
    def _dataset_calls(self, spec: RunSpec) -> Iterator[None]:
        """Turn Argilla's 404 for a dataset deleted since it was found into the message that says so."""
        try:
            yield
        except NotFoundError:
            self._datasets.pop((spec.workspace, spec.dataset_name), None)
            if self.find_dataset(spec) is None:
                raise self._no_dataset(spec) from None
            raise

    def log_batch(
        self,
        spec: RunSpec,
        batch: int,
        indices: Sequence[int],
        texts: Sequence[str],
        suggestions: Sequence[tuple[str, float]] | None = None,
        agent: str | None = None,
    ) -> None:
        """Log pool items as batch ``batch``, with the model's suggestion when given; idempotent."""
        records = []
        for position, (index, text) in enumerate(zip(indices, texts, strict=True)):
            suggested = []
            if suggestions is not None:
                label, score = suggestions[position]
                suggested = [
                    rg.Suggestion(question_name=QUESTION, value=label, score=float(score), agent=agent)
                ]
            records.append(
                rg.Record(
                    id=record_id(index),
                    fields={FIELD: text},
                    metadata={BATCH_METADATA: batch},
                    suggestions=suggested,
                )
            )
        with self._dataset_calls(spec):
            self.dataset(spec).records.log(records, batch_size=max(len(records), 1))

    def batch_records(self, spec: RunSpec, batch: int) -> list[BatchRecord]:
        """The records of batch ``batch`` with their status and the label the annotators gave."""
        query = rg.Query(filter=rg.Filter([(f"metadata.{BATCH_METADATA}", "==", batch)]))
        with self._dataset_calls(spec):
            dataset = self.dataset(spec)
            # The SDK answers a deleted dataset's records with none and a warning: tell that apart.
            found = self._quiet(
                lambda: list(dataset.records(query=query, with_suggestions=False, with_responses=True))
            )
            if not found and not self.client.api.datasets.exists(dataset.id):
                self._datasets.pop((spec.workspace, spec.dataset_name), None)
                raise self._no_dataset(spec)
            return [self._batch_record(record) for record in found]

    def read_source(self, name: str, workspace: str) -> Source:
        """Every record of dataset ``name`` in ``workspace``: the text of its text field, and the
        label most of its submitted answers to its label question give (None if unanswered)."""
        found = None
        if self._quiet(lambda: self.client.workspaces(workspace)) is not None:
            found = self._quiet(lambda: self.client.datasets(name=name, workspace=workspace))
        if found is None:
            raise UserError(
                f"Argilla has no dataset {name!r} in workspace {workspace!r} to read the pool from; "
                "check --from-argilla and --workspace"
            )
        text_field = _pick(found.settings.fields, rg.TextField, FIELD)
        question = _pick(found.settings.questions, rg.LabelQuestion, QUESTION)
        where = f"Argilla dataset {name!r} (workspace {workspace!r})"
        if text_field is None:
            raise UserError(f"{where} has no text field to take the texts from; alloop labels text fields")
        if question is None:
            raise UserError(
                f"{where} has no label question (one label a record) to take the labels from; "
                "add one in Argilla, or export the texts to a CSV and `alloop init --dataset` it"
            )
        records = self._quiet(lambda: list(found.records(with_responses=True, with_suggestions=False)))
        return Source(
            name=name,
            workspace=workspace,
            text_field=text_field.name,
            question=question.name,
            labels=[str(label) for label in question.labels],
            records=[
                SourceRecord(
                    id=str(record.id),
                    text=str(record.fields.get(text_field.name) or ""),
                    label=vote(_answers(record, question.name)),
                )
                for record in records
            ],
        )

    def answered_records(
        self, spec: RunSpec, on_record: Callable[[], None] | None = None
    ) -> list[AnsweredRecord]:
        """Every record of the run's dataset with its answers (by username) and its suggestion.

        ``on_record`` is called once per record read, for a progress display.
        """
        dataset = self.dataset(spec)
        names = {str(user.id): str(user.username) for user in self.client.users}
        found = []
        with warnings.catch_warnings():  # the SDK warns of each discard without values it reads
            warnings.simplefilter("ignore")
            for record in dataset.records(with_responses=True, with_suggestions=True):
                if on_record is not None:
                    on_record()
                batch = record.metadata.get(BATCH_METADATA)
                found.append(
                    AnsweredRecord(
                        id=str(record.id),
                        text=str(record.fields[FIELD]),
                        batch=None if batch is None else int(batch),
                        answers=_answers(record, QUESTION, names),
                        suggested=_suggested(record),
                    )
                )
        return found

    def annotator(self, username: str, spec: RunSpec) -> "Annotator":
        """Argilla user ``username``, created as an annotator if missing and added to the run's
        workspace, to answer the run's records as."""
        user = self._quiet(lambda: self.client.users(username))
        if user is None:
            password = secrets.token_urlsafe(16)
            user = rg.User(username=username, password=password, role="annotator", client=self.client)
            user.create()
        workspace = self.dataset(spec).workspace
        if username not in {member.username for member in workspace.users}:
            user.add_to_workspace(workspace)
        connection = self.connection
        reply = httpx.get(
            f"{connection.argilla_api_url}/api/v1/users/{user.id}",
            headers={**connection.argilla_headers, "X-Argilla-Api-Key": connection.argilla_api_key},
        )
        reply.raise_for_status()
        return Annotator(self, spec, str(user.id), str(reply.json()["api_key"]))

    def subscribe(self, url: str, events: list[str], description: str) -> Subscription:
        """Have Argilla deliver ``events`` to ``url`` as webhooks, replacing an earlier subscription
        of that URL."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the SDK warns that webhooks are experimental
            for earlier in self.client.webhooks:
                if earlier.url == url:
                    earlier.delete()
            webhook = rg.Webhook(url=url, events=events, description=description, _client=self.client)
            webhook.create()
        return Subscription(id=str(webhook.id), secret=str(webhook.secret))

    def unsubscribe(self, subscription: Subscription) -> None:
        """End ``subscription`` (if it still exists)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for webhook in self.client.webhooks:
                if str(webhook.id) == subscription.id:
                    webhook.delete()

    @staticmethod
    def _batch_record(record: rg.Record) -> BatchRecord:
        answers = _answers(record, QUESTION)
        label = vote(answers)
        return BatchRecord(
            index=pool_index(str(record.id)),
            completed=status_name(record.status) == "completed",
            discarded=label is None and any(answer.status == DISCARDED for answer in answers),
            label=label,
        )

    @staticmethod
    def _quiet(call: Callable[[], T]) -> T:
        """Call the SDK without its warnings about names it did not find."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()


def _answers(record: rg.Record, question: str, names: dict[str, str] | None = None) -> list[Answer]:
    """Every response to ``record`` with its answer to ``question``; ``names``: user ids to usernames."""
    # The raw models: the SDK's own view drops responses without values, as a discard can be.
    found = []
    for response in record._model.responses or []:
        value = ((response.values or {}).get(question) or {}).get("value")
        user = str(response.user_id)
        found.append(
            Answer(
                user=(names or {}).get(user, user),
                status=status_name(response.status),
                label=None if value is None else str(value),
            )
        )
    return found


def _suggested(record: rg.Record) -> Suggested | None:
    for suggestion in record.suggestions:
        if suggestion.question_name == QUESTION and suggestion.value is not None:
            score = suggestion.score
            return Suggested(
                label=str(suggestion.value),
                score=float(score) if isinstance(score, int | float) else None,
                agent=suggestion.agent,
            )
    return None


class Annotator:
    """Answers a run's records as one Argilla user, through the HTTP endpoint the web UI uses."""

    def __init__(self, adapter: ArgillaAdapter, spec: RunSpec, user_id: str, api_key: str) -> None:
        self.adapter = adapter
        self.spec = spec
        self.user_id = user_id
        self.http = httpx.Client(
            base_url=adapter.connection.argilla_api_url,
            headers={**adapter.connection.argilla_headers, "X-Argilla-Api-Key": api_key},
            timeout=30,
        )

    def unanswered(self, batch: int) -> list[tuple[int, str]]:
        """The records of ``batch`` nobody submitted or discarded and this user did not answer, as
        (pool index, the record's id on the server)."""
        query = rg.Query(filter=rg.Filter([(f"metadata.{BATCH_METADATA}", "==", batch)]))
        records = self.adapter.dataset(self.spec).records(query=query, with_responses=True)
        return [
            (pool_index(str(record.id)), str(record._server_id))
            for record in records
            if not any(self._answered(response) for response in record._model.responses or [])
        ]

    def submit(self, server_id: str, label: str) -> None:
        body = {"values": {QUESTION: {"value": label}}, "status": SUBMITTED}
        self.http.post(f"/api/v1/records/{server_id}/responses", json=body).raise_for_status()

    def _answered(self, response: Any) -> bool:
        return str(response.user_id) == self.user_id or status_name(response.status) in (SUBMITTED, DISCARDED)


def _pick(items: Iterable[object], kind: type[T], name: str) -> T | None:
    """The item of ``kind`` called ``name``, else the first of ``kind``, else None."""
    of_kind = [item for item in items if isinstance(item, kind)]
    named = [item for item in of_kind if getattr(item, "name", None) == name]
    chosen = named or of_kind
    return chosen[0] if chosen else None


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()).removeprefix("Argilla SDK error: ")
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"
