"""Neighbour averaging: a text's class probabilities averaged with those of its nearest pool texts.

The pool is unlabelled, but it is there: a text whose nearest pool texts (by sentence embedding) the
model places in one class most likely belongs there too. Averaging a model's probabilities for a
text with the mean of its ``k`` nearest pool texts' lets the whole pool vote. On BANKING77 (77
intents, paraphrases of each other) it lifted the default learner's test accuracy at 500 labels
from 0.827, 0.841, 0.829 to 0.862, 0.859, 0.853 (3 seeds, weight 0.7); on TREC-6, whose question
types turn on wording ("how many") more than on topic, weights of 0.5 and more cost 0.01-0.02. So
the weight is chosen per run by cross-validation (:func:`cv_weights`), 0 where averaging does not
help.

Neighbours are found once per run, exactly, among the pool's embeddings (a text is not its own
neighbour), and cached in the run dir; above :data:`MAX_POOL` texts that search would take minutes
and the run goes without.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from common.files import text_digest
from trainer.backends.encoder import cached_embeddings, write_atomically
from trainer.backends.models import model_identity

K = 10
"""Neighbours per text. On BANKING77 at 500 labels, 5, 10 and 20 came within 0.006 of each other."""
WEIGHTS = (0.0, 0.25, 0.5, 0.75)
"""The neighbours' share of a text's probabilities, chosen by cross-validation; a tie goes to the smaller."""
MAX_POOL = 20_000
"""Largest pool searched: the exact search costs pool² dot products (about 2 s at 10k on two cores)."""
BLOCK = 1024
"""Rows searched at once: a block's similarities to a 20k pool take 80 MB."""
FOLDER = "neighbours"


def nearest(
    queries: np.ndarray,
    pool: np.ndarray,
    k: int = K,
    *,
    self_excluded: bool = False,
    excluded: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` pool rows most similar (dot product) to each query row, most similar
    first; ``self_excluded``: the queries are the pool itself, and row i is not its own neighbour;
    no row of ``excluded`` is anyone's."""
    left_out = 0 if excluded is None else len(np.unique(excluded))
    k = min(k, len(pool) - max(int(self_excluded), left_out))
    found = np.empty((len(queries), k), dtype=np.int32)
    for start in range(0, len(queries), BLOCK):
        similarity = queries[start : start + BLOCK] @ pool.T
        if excluded is not None:
            similarity[:, excluded] = -np.inf
        if self_excluded:
            rows = np.arange(similarity.shape[0])
            similarity[rows, start + rows] = -np.inf
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        found[start : start + BLOCK] = np.take_along_axis(top, order, axis=1)
    return found


def averaged(proba: np.ndarray, neighbour_proba: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * proba + weight * mean(neighbour_proba)``, the mean over each row's k neighbours
    (``neighbour_proba``: rows, k, classes)."""
    if weight == 0:
        return proba
    return (1 - weight) * proba + weight * neighbour_proba.mean(axis=1)


@dataclass(frozen=True)
class Neighbours:
    """The pool's nearest neighbours, and those of the test split's texts, as pool indices; and
    the pool's embeddings they were found by."""

    pool: np.ndarray
    test: np.ndarray | None
    vectors: np.ndarray

    def among_unlabelled(self, labelled: np.ndarray) -> np.ndarray:
        """The nearest unlabelled pool texts of each of the pool texts ``labelled``.

        What cross-validation averages a held-out text with: an active learner's batches gather
        near one another, so a labelled text's own neighbours are often labelled texts the fold's
        model was fitted on, which flatter the average; a test text's are mostly unlabelled.
        """
        return nearest(self.vectors[labelled], self.vectors, excluded=labelled)

    @classmethod
    def of(
        cls, run_dir: Path, model: str, pool_texts: list[str], test_texts: Sequence[str], device: str
    ) -> "Neighbours | None":
        """Found once (then read from the run dir); None for a pool larger than :data:`MAX_POOL`."""
        if len(pool_texts) > MAX_POOL or len(pool_texts) <= K:
            return None
        vectors = np.asarray(cached_embeddings(run_dir, model, pool_texts, device))
        salt = model_identity(model)
        pool_key = text_digest(pool_texts, salt=salt)[:24]
        folder = run_dir / FOLDER
        pool = _cached(
            folder / f"{pool_key}-pool-k{K}.npy", lambda: nearest(vectors, vectors, self_excluded=True)
        )
        test = None
        if test_texts:
            test_key = text_digest(test_texts, salt=salt)[:24]
            queries = np.asarray(cached_embeddings(run_dir, model, list(test_texts), device))
            test = _cached(folder / f"{pool_key}-{test_key}-k{K}.npy", lambda: nearest(queries, vectors))
        return cls(pool, test, vectors)


def _cached(path: Path, find: Callable[[], np.ndarray]) -> np.ndarray:
    if path.exists():
        return np.asarray(np.load(path))
    found = find()
    write_atomically(path, found)
    return found


@dataclass(frozen=True)
class Averaging:
    """The weight chosen for the neighbours, and its evidence: each weight's cross-validated accuracy."""

    weight: float
    scores: tuple[tuple[float, float], ...] = ()

    def describe(self) -> str:
        if not self.scores:
            return f"neighbours' weight {self.weight:g}"
        shown = ", ".join(f"{weight:g}: {score:.3f}" for weight, score in self.scores)
        return f"neighbours' weight {self.weight:g} (CV accuracy by weight {shown})"


NO_AVERAGING = Averaging(0.0)


def cv_weights(
    fold_proba: Callable[[np.ndarray, np.ndarray], np.ndarray],
    labelled: np.ndarray,
    y: np.ndarray,
    neighbours: np.ndarray,
    folds: int,
    seed: int,
) -> dict[float, float]:
    """Each of :data:`WEIGHTS`' cross-validated accuracy on the labelled pool texts ``labelled``.

    ``fold_proba(train, rows)`` fits the model on the labelled positions ``train`` and returns its
    class probabilities of the pool ``rows``; each fold's held-out texts are scored averaged with
    their ``neighbours`` (pool indices, a row per labelled text) as that model sees them.
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    correct = dict.fromkeys(WEIGHTS, 0)
    for train, held in splitter.split(np.zeros(len(y)), y):
        around = neighbours[held]
        rows, inverse = np.unique(np.concatenate([labelled[held], around.ravel()]), return_inverse=True)
        proba = fold_proba(train, rows)
        own = proba[inverse[: len(held)]]
        theirs = proba[inverse[len(held) :]].reshape(*around.shape, -1)
        for weight in WEIGHTS:
            correct[weight] += int((averaged(own, theirs, weight).argmax(axis=1) == y[held]).sum())
    return {weight: hits / len(y) for weight, hits in correct.items()}


def best_weight(history: Sequence[dict[float, float]]) -> Averaging:
    """The weight with the best mean accuracy over ``history`` (the last few updates' scores)."""
    mean = {weight: float(np.mean([scores[weight] for scores in history])) for weight in WEIGHTS}
    best = max(WEIGHTS, key=lambda weight: mean[weight])  # the first best: the smaller weight
    return Averaging(best, tuple(mean.items()))
