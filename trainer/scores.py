"""Pool scores: class probabilities of every pool item, computed once by a model and stored.

Two-speed learning's heavy model scores the pool in the background; a query strategy that needs
only probabilities then chooses by a lookup in these scores instead of a pass over the pool.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from small_text import ConfidenceBasedQueryStrategy, RandomSampling, SubsamplingQueryStrategy

from common.batch_folders import BatchFolders
from common.checkpoints import digests, verified
from common.events import HeavyModel

PROBA = "pool_proba.npy"
MODEL = "model"
KEEP_MODELS = 3
"""Trained background models kept (the newest ones); older folders keep their scores and manifest."""


class ScoresManifest(HeavyModel):
    """Which model produced the scores, on how many labels, how well it does; and the saved model."""

    label_names: list[str] = Field(default_factory=list, description="The run's labels, in class order.")
    loads_with: str | None = Field(default=None, description="The library the saved model loads with.")
    files: dict[str, str] = Field(
        default_factory=dict, description="SHA-256 of every file of the saved model, by path in its folder."
    )
    continued_from: int | None = Field(
        default=None,
        description="The batch whose background model this one's training continued from; "
        "None: it trained from the base model.",
    )

    def origin(self) -> str:
        """Where its training began, in words."""
        return "the base model" if self.continued_from is None else f"batch {self.continued_from}'s model"

    def event_fields(self) -> dict[str, Any]:
        """What ``heavy.updated`` says of this model (not where its files are)."""
        return self.model_dump(include=set(HeavyModel.model_fields))


@dataclass(frozen=True)
class PoolScores:
    manifest: ScoresManifest
    proba: np.ndarray


class ScoreStore:
    """One folder per batch (``batch-NNNNN``) with the manifest and the probabilities; complete or absent.

    Wraps rather than extends :class:`BatchFolders`: its ``manifest`` answers None for incomplete scores.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folders = BatchFolders(folder, ScoresManifest)

    def path(self, batch: int) -> Path:
        return self.folders.path(batch)

    def save(self, scores: PoolScores, write_model: Callable[[Path], str] | None = None) -> None:
        """Write the scores of ``scores.manifest.batch`` whole, with the model when ``write_model``
        saves it (into the folder it is given; it returns the library that loads it); scores already
        there are kept. Then only the newest KEEP_MODELS models stay."""

        def fill(staging: Path) -> ScoresManifest:
            np.save(staging / PROBA, scores.proba.astype(np.float32))
            if write_model is None:
                return scores.manifest
            loads_with = write_model(staging / MODEL)
            return scores.manifest.model_copy(
                update={"loads_with": loads_with, "files": digests(staging / MODEL)}
            )

        self.folders.write(scores.manifest.batch, fill)
        self.prune_models(KEEP_MODELS)

    def models(self) -> list[int]:
        """Batches whose folder still holds its saved model, in order."""
        return [batch for batch in self.folders.batches() if (self.path(batch) / MODEL).is_dir()]

    def model(self, batch: int) -> Path:
        """The saved model of ``batch``, after checking every file against the manifest."""
        manifest = self.manifest(batch)
        if manifest is None or not manifest.files:
            raise FileNotFoundError(f"no saved background model of batch {batch} under {self.folder}")
        if not (self.path(batch) / MODEL).is_dir():
            raise FileNotFoundError(
                f"the background model of batch {batch} was removed: only the newest {KEEP_MODELS} are kept"
            )
        return verified(self.path(batch) / MODEL, manifest.files, "export another batch's model")

    def prune_models(self, keep: int) -> None:
        """Remove all but the newest ``keep`` saved models; their scores and manifests stay."""
        for batch in self.models()[:-keep] if keep > 0 else self.models():
            # Renamed first, so that no half-removed model is ever found where a model is looked for.
            trash = self.path(batch) / f".{MODEL}.pruned"
            shutil.rmtree(trash, ignore_errors=True)  # a pruner killed mid-way left it
            (self.path(batch) / MODEL).rename(trash)
            shutil.rmtree(trash)

    def manifest(self, batch: int) -> ScoresManifest | None:
        return self.folders.manifest_or_none(batch)

    def newest(self) -> ScoresManifest | None:
        """The manifest of the newest complete scores, or None."""
        newest = self.folders.newest()
        return None if newest is None else self.manifest(newest)

    def load(self, batch: int) -> PoolScores:
        manifest = self.manifest(batch)
        if manifest is None:
            raise FileNotFoundError(f"no complete scores for batch {batch} under {self.folder}")
        return PoolScores(manifest, np.load(self.path(batch) / PROBA))


class ScoreLookup:
    """Stands in for a classifier: the dataset holds pool indices, and their stored scores come back."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict_proba(self, dataset: Any) -> np.ndarray:
        return self.proba[np.asarray(dataset.x)[:, 0].astype(int)]

    def predict(self, dataset: Any) -> np.ndarray:
        return np.argmax(self.predict_proba(dataset), axis=1)


def scores_suffice(strategy: Any) -> bool:
    """Whether ``strategy`` chooses by class probabilities alone (so stored scores can serve it)."""
    if isinstance(strategy, SubsamplingQueryStrategy):
        strategy = strategy.base_query_strategy
    return isinstance(strategy, ConfidenceBasedQueryStrategy | RandomSampling)
