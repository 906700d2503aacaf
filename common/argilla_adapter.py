"""Everything alloop asks of Argilla, through the argilla 2.x SDK."""

import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import argilla as rg
from argilla._exceptions import ArgillaCredentialsError, NotFoundError, UnauthorizedError
from pydantic import BaseModel, ConfigDict

from common.connection import Connection, ServiceError
from common.errors import API_KEY_FIX, UserError
from common.spec import RunSpec

QUESTION = "label"
FIELD = "text"
BATCH_METADATA = "batch_id"
RECORD_PREFIX = "pool-"
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


class ArgillaAdapter:
    """One run's dataset in Argilla: create it, log batches with suggestions, read the answers."""

    def __init__(self, connection: Connection) -> None:
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
                    label=_vote(record, question.name),
                )
                for record in records
            ],
        )

    @staticmethod
    def _batch_record(record: rg.Record) -> BatchRecord:
        responses = record._model.responses or []
        discarded = any(status_name(response.status) == "discarded" for response in responses)
        label = _vote(record, QUESTION)
        return BatchRecord(
            index=pool_index(str(record.id)),
            completed=status_name(record.status) == "completed",
            discarded=discarded and label is None,
            label=label,
        )

    @staticmethod
    def _quiet(call: Callable[[], T]) -> T:
        """Call the SDK without its warnings about names it did not find."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()


def _vote(record: rg.Record, question: str) -> str | None:
    """The label most of ``record``'s submitted answers to ``question`` give; None without any."""
    # The raw models: the SDK's own view drops responses without values, as a discard can be.
    submitted = [
        str(response.values[question]["value"])
        for response in record._model.responses or []
        if status_name(response.status) == "submitted" and (response.values or {}).get(question)
    ]
    return Counter(submitted).most_common(1)[0][0] if submitted else None


def _pick(items: Iterable[object], kind: type[T], name: str) -> T | None:
    """The item of ``kind`` called ``name``, else the first of ``kind``, else None."""
    of_kind = [item for item in items if isinstance(item, kind)]
    named = [item for item in of_kind if getattr(item, "name", None) == name]
    chosen = named or of_kind
    return chosen[0] if chosen else None
