"""Pool scores: class probabilities of every pool item, computed once by a model and stored.

Two-speed learning's heavy model scores the pool in the background; a query strategy that needs
only probabilities then chooses by a lookup in these scores instead of a pass over the pool.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from small_text import ConfidenceBasedQueryStrategy, RandomSampling, SubsamplingQueryStrategy

from common.batch_folders import BatchFolders
from common.events import HeavyModel

PROBA = "pool_proba.npy"


ScoresManifest = HeavyModel
"""Which model produced the scores, on how many labels, and how well it does on the test split."""


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

    def save(self, scores: PoolScores) -> None:
        """Write the scores of ``scores.manifest.batch`` whole; scores already there are kept."""

        def fill(staging: Path) -> ScoresManifest:
            np.save(staging / PROBA, scores.proba.astype(np.float32))
            return scores.manifest

        self.folders.write(scores.manifest.batch, fill)

    def manifest(self, batch: int) -> ScoresManifest | None:
        return self.folders.manifest_or_none(batch)

    def newest(self) -> ScoresManifest | None:
        """The manifest of the newest complete scores, or None."""
        batches = self.folders.batches()
        return self.manifest(batches[-1]) if batches else None

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
