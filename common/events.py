"""Versioned events on Redis Streams: one stream per run and one for all runs.

Each stream entry has one field, ``event``, holding the JSON of one of the models below; its
``type`` tells which. Consumers should ignore types they do not know and check ``version``.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import redis
from pydantic import BaseModel, Field, TypeAdapter, computed_field, model_validator

from common import keys

SCHEMA_VERSION = 3
"""2: model figures may be null and say what they rest on (``evaluated_on``, ``eval_n``, intervals).
3: ``model.updated``'s figures are the serving model's; ``fast`` and ``heavy`` hold each model's."""
STREAM_MAXLEN = 100_000


class _Event(BaseModel):
    version: int = SCHEMA_VERSION
    run: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


EvaluatedOn = Literal["test", "eval-sample", "none"]
"""What a model's figures rest on: the run's test split, its evaluation sample (texts annotators
label like any other that are never learned nor chosen), or nothing (figures null)."""


class RunCreated(_Event):
    type: Literal["run.created"] = "run.created"
    dataset: str
    workspace: str
    labels: list[str]
    pool_size: int
    batch_size: int
    backend: str
    query_strategy: str
    evaluated_on: EvaluatedOn = "test"
    eval_size: int = Field(default=0, description="Texts in the evaluation sample (0: none).")


Served = Literal["fast", "heavy"]
"""Two-speed learning: the run's own learner (``fast``) or the background model (``heavy``)."""


class BatchLogged(_Event):
    """Batch ``batch`` is in Argilla, waiting for annotators."""

    type: Literal["batch.logged"] = "batch.logged"
    batch: int
    records: int
    model_version: str | None = Field(
        default=None, description="The model that chose the batch and suggests labels."
    )
    served_by: Served = Field(default="fast", description="Which of the two speeds chose the batch.")


class BatchCompleted(_Event):
    """Every record of ``batch`` is completed or discarded; a training job is queued."""

    type: Literal["batch.completed"] = "batch.completed"
    batch: int
    submitted: int
    discarded: int
    job_id: str


class Timings(BaseModel):
    """Seconds spent in each step of a training job."""

    restore: float = 0.0
    fetch: float = 0.0
    train: float = 0.0
    query: float = 0.0
    log: float = 0.0
    evaluate: float = 0.0
    select: float = Field(
        default=0.0, description="``auto``: cross-validating the next model, after the log (nobody waits)."
    )
    checkpoint: float = 0.0
    total: float = 0.0


class ModelChoice(BaseModel):
    """The model the ``auto`` backend trained, and the cross-validation it was chosen by."""

    features: str = Field(description="embeddings, embeddings+words or embeddings+words+chars.")
    C: float = Field(description="Inverse regularisation strength of the logistic regression.")
    class_weight: str | None = Field(description="balanced, or null for none.")
    cv_accuracy: float | None = Field(
        description="Mean accuracy over the folds, averaged over up to 3 updates; null while the labels "
        "are too few to cross-validate. It ranks candidates on actively chosen (harder) texts, so it is "
        "no estimate of test accuracy."
    )
    folds: int
    labels: int = Field(description="The labels cross-validated (those before this update).")
    neighbours_weight: float = Field(
        default=0.0,
        description="The share of the 10 nearest pool texts' probabilities in each text's, chosen by "
        "cross-validation (0: the model's own alone).",
    )
    taught: int = Field(
        default=0,
        description="Pool texts labelled by the serving background model that the model learned beside "
        "the annotators' labels (two-speed learning; 0: their labels alone).",
    )


class Evaluation(BaseModel):
    """A model's figures, what they rest on, and their 95 % intervals (null where nothing rests)."""

    accuracy: float | None = Field(description="Null when ``evaluated_on`` is none or ``eval_n`` is 0.")
    macro_f1: float | None
    evaluated_on: EvaluatedOn = "test"
    eval_n: int = Field(default=0, description="How many held-out labels the figures rest on.")
    accuracy_low: float | None = Field(default=None, description="Wilson score interval, 95 %.")
    accuracy_high: float | None = None
    macro_f1_low: float | None = Field(default=None, description="Percentile bootstrap, 95 %.")
    macro_f1_high: float | None = None

    @property
    def basis(self) -> str:
        """What the figures rest on: ``48 eval-sample labels``, ``500 test labels``, ``none``."""
        return "none" if self.evaluated_on == "none" else f"{self.eval_n} {self.evaluated_on} labels"

    def accuracy_text(self) -> str:
        """``0.812 (0.71-0.89)``, or ``—`` without a figure."""
        return _with_interval(self.accuracy, self.accuracy_low, self.accuracy_high)

    def macro_f1_text(self) -> str:
        return _with_interval(self.macro_f1, self.macro_f1_low, self.macro_f1_high)

    def summary(self) -> str:
        """``accuracy 0.812 (0.71-0.89) on 48 eval-sample labels``, or why there is no figure."""
        if self.evaluated_on == "none":
            return "no accuracy (no test split, no evaluation sample)"
        if self.accuracy is None:
            return f"no accuracy yet ({self.basis})"
        return f"accuracy {self.accuracy_text()} on {self.basis}"


def _with_interval(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "—"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({low:.2f}-{high:.2f})"


class ModelFigures(Evaluation):
    """One model's figures, what they rest on, and how many labels it learned."""

    labels: int
    model_version: str | None = None
    per_class_f1: dict[str, float] = Field(default_factory=dict)


class ModelUpdated(_Event, Evaluation):
    """The run learned batch ``batch``.

    Its figures (``accuracy``, ``macro_f1``, their intervals, ``per_class_f1``) are those of the
    model that serves the next batch (``served_by``): the one that chose it and suggests its labels,
    and the one `alloop export-model` gives by default. ``fast`` and ``heavy`` hold each model's own.
    """

    type: Literal["model.updated"] = "model.updated"
    batch: int
    model_version: str = Field(description="The serving model.")
    labels: int = Field(description="Labels learned so far (the run's own learner learned them all).")
    per_class_f1: dict[str, float]
    timings: Timings
    served_by: Served = Field(
        default="fast", description="Which model chose and pre-labelled the next batch."
    )
    fast: ModelFigures = Field(description="The run's own learner, which learned this batch.")
    heavy: ModelFigures | None = Field(
        default=None, description="The newest background model (two-speed learning), when there is one."
    )
    choice: ModelChoice | None = Field(
        default=None, description="The model the ``auto`` backend trained; null for other backends."
    )

    @model_validator(mode="before")
    @classmethod
    def _fast_before_version_3(cls, data: Any) -> Any:
        """Before schema 3 an event's own figures were the learner's: read them as ``fast``."""
        if isinstance(data, dict) and "fast" not in data:
            own = [*Evaluation.model_fields, "labels", "model_version", "per_class_f1"]
            data = {**data, "fast": {key: data[key] for key in own if key in data}}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fast_accuracy(self) -> float | None:
        return self.fast.accuracy

    @computed_field  # type: ignore[prop-decorator]
    @property
    def heavy_accuracy(self) -> float | None:
        return self.heavy.accuracy if self.heavy else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def heavy_labels(self) -> int | None:
        """Labels the background model learned: it lags the run by the batches it is behind."""
        return self.heavy.labels if self.heavy else None


class HeavyModel(Evaluation):
    """Two-speed learning's background model: what it learned, how well it does, what it cost."""

    batch: int
    model_version: str
    labels: int
    per_class_f1: dict[str, float] = Field(default_factory=dict)
    train_s: float
    score_s: float
    fast_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="The weight of the fast model of checkpoint `batch` (the same labels) in these "
        "figures' class probabilities, averaged with the background model's: 0 when the background "
        "model alone did better on the held-out labels.",
    )
    alone_accuracy: float | None = Field(
        default=None, description="The background model's own accuracy, before any averaging."
    )


class HeavyUpdated(_Event, HeavyModel):
    """The background model learned every label up to ``batch`` and scored the pool."""

    type: Literal["heavy.updated"] = "heavy.updated"


AutoStop = Literal["criterion", "pool-exhausted"]
"""Why a run stopped by itself: its stopping criterion, or nothing left to label."""
StopReason = AutoStop | Literal["user"]


class RunStopped(_Event):
    type: Literal["run.stopped"] = "run.stopped"
    reason: StopReason
    batch: int


class RunResumed(_Event):
    type: Literal["run.resumed"] = "run.resumed"
    batch: int


class JobFailed(_Event):
    """A job raised; ``error`` says what and, where known, how to fix it (secrets masked)."""

    type: Literal["job.failed"] = "job.failed"
    batch: int
    job_id: str
    error: str
    retrying: bool = Field(
        default=False,
        description="rq runs the job again later; when false, fix the cause, then `alloop resume`.",
    )


Event = Annotated[
    RunCreated
    | BatchLogged
    | BatchCompleted
    | ModelUpdated
    | HeavyUpdated
    | RunStopped
    | RunResumed
    | JobFailed,
    Field(discriminator="type"),
]
EVENT = TypeAdapter[Event](Event)


def encode(event: Event) -> dict[str, str]:
    return {"event": event.model_dump_json()}


def decode(fields: dict[bytes, bytes]) -> Event:
    return EVENT.validate_json(fields[b"event"])


def publish(connection: redis.Redis, event: Event) -> None:
    """Append ``event`` to its run's stream and to the stream of all runs, atomically."""
    with connection.pipeline(transaction=True) as pipe:
        for stream in (keys.run_events(event.run), keys.ALL_EVENTS):
            fields: dict[Any, Any] = encode(event)
            pipe.xadd(stream, fields, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()


def read(
    connection: redis.Redis,
    run: str | None = None,
    after: str = "0",
    block_ms: int | None = None,
    count: int = 500,
) -> Iterator[tuple[str, Event]]:
    """Events after stream id ``after``, with their ids; waits up to ``block_ms`` for new ones."""
    stream = keys.run_events(run) if run else keys.ALL_EVENTS
    replies: Any = connection.xread({stream: after}, count=count, block=block_ms)
    for _stream, entries in replies or []:
        for entry_id, fields in entries:
            yield (entry_id.decode() if isinstance(entry_id, bytes) else entry_id), decode(fields)


def last_id(connection: redis.Redis, run: str | None = None) -> str:
    """The id of the newest event (``"0"`` for none): read after it to see only what comes next.

    Unlike ``"$"``, which XREAD resolves anew at each call, it misses nothing between two reads.
    """
    stream = keys.run_events(run) if run else keys.ALL_EVENTS
    newest: Any = connection.xrevrange(stream, count=1)
    if not newest:
        return "0"
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
