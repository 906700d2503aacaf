"""The interface every classifier backend offers the learner."""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from small_text import AbstractClassifierFactory, Dataset

from common.spec import Backend
from trainer.backends.encoder import cached_embeddings


class BackendOptions(BaseModel):
    """Training knobs a run spec does not carry; ``None`` keeps the backend's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_epochs: int | None = Field(default=None, ge=1)
    train_batch_size: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=8, description="Token limit per text.")
    step_budget: int | None = Field(
        default=None, ge=0, description="SetFit: most training steps of pairs (0: no bound)."
    )
    time_budget_s: float | None = Field(
        default=None, ge=0, description="SetFit: most seconds of training on pairs (0: no bound)."
    )


class ClassifierBackend(ABC):
    """Turns texts into small-text datasets and supplies the classifier factory that trains on them.

    Datasets come back unlabelled (``LABEL_UNLABELED``) with one target label per class name, so a
    classifier always knows every class even before it has seen examples of each.
    """

    kind: ClassVar[Backend]

    def __init__(
        self, model: str, label_names: list[str], run_dir: Path, device: str, options: BackendOptions
    ) -> None:
        self.model = model
        self.label_names = list(label_names)
        self.run_dir = run_dir
        self.device = device
        self.options = options

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def target_labels(self) -> np.ndarray:
        return np.arange(self.num_classes)

    @abstractmethod
    def classifier_factory(self) -> AbstractClassifierFactory:
        """The factory small-text's active learner builds a fresh classifier from at each update."""

    @abstractmethod
    def dataset(self, texts: list[str], *, cache: bool = False) -> Dataset:
        """An unlabelled dataset of ``texts``; ``cache`` allows keeping derived features in the run dir."""

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings of ``texts`` with the backend's model, cached in the run dir (cold start)."""
        return cached_embeddings(self.run_dir, self.model, texts, self.device)
