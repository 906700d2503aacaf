"""Pool scores: class probabilities of every pool item, computed once by a model and stored.

Two-speed learning's heavy model scores the pool in the background; a query strategy that needs
only probabilities then chooses by a lookup in these scores instead of a pass over the pool.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from small_text import ConfidenceBasedQueryStrategy, RandomSampling, SubsamplingQueryStrategy

from common.events import HeavyModel
from common.files import staged_folder

MANIFEST = "manifest.json"
PROBA = "pool_proba.npy"


ScoresManifest = HeavyModel
"""Which model produced the scores, on how many labels, and how well it does on the test split."""


@dataclass(frozen=True)
class PoolScores:
    manifest: ScoresManifest
    proba: np.ndarray


class ScoreStore:
    """One folder per batch (``batch-NNNNN``) with the manifest and the probabilities; complete or absent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, batch: int) -> Path:
        return self.folder / f"batch-{batch:05d}"

    def save(self, scores: PoolScores) -> None:
        final = self.path(scores.manifest.batch)
        if (final / MANIFEST).exists():
            return
        with staged_folder(final) as staging:
            np.save(staging / PROBA, scores.proba.astype(np.float32))
            (staging / MANIFEST).write_text(scores.manifest.model_dump_json(indent=2))

    def manifest(self, batch: int) -> ScoresManifest | None:
        try:
            return ScoresManifest.model_validate_json((self.path(batch) / MANIFEST).read_text())
        except (OSError, ValidationError):
            return None

    def latest(self) -> ScoresManifest | None:
        """The manifest of the newest complete scores, or None."""
        if not self.folder.exists():
            return None
        batches = sorted(int(child.name.removeprefix("batch-")) for child in self.folder.glob("batch-[0-9]*"))
        for batch in reversed(batches):
            manifest = self.manifest(batch)
            if manifest is not None:
                return manifest
        return None

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
