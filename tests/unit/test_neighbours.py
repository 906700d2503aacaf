"""Neighbour averaging: the nearest pool texts, the average, and a weight the labels choose."""

from pathlib import Path

import numpy as np
import pytest

from common.spec import RunSpec
from tests.support.data import gold
from tests.unit.test_model_selection import LABELS, auto_spec, synthetic
from trainer.learner import Learner
from trainer.neighbours import (
    WEIGHTS,
    Averaging,
    K,
    Neighbours,
    averaged,
    best_weight,
    cv_weights,
    nearest,
)


def test_nearest_finds_the_most_similar_rows_in_order_and_never_the_row_itself() -> None:
    pool = np.eye(4, dtype=np.float32)
    pool[1] += 0.5 * pool[0]
    pool[2] += 0.2 * pool[0]
    found = nearest(pool, pool, k=2, self_excluded=True)
    assert found[0].tolist() == [1, 2], "row 0 is most like row 1, then row 2, and not itself"
    assert all(row not in found[row] for row in range(4))
    queries = pool[[0]] + 0.01
    assert nearest(queries, pool, k=1)[0, 0] == 0, "a query that is not in the pool may be nearest to any row"


def test_cross_validation_averages_labelled_texts_with_unlabelled_ones_only() -> None:
    vectors = np.random.default_rng(1).normal(size=(40, 5)).astype(np.float32)
    near = Neighbours(nearest(vectors, vectors, k=3, self_excluded=True), None, vectors)
    labelled = np.array([0, 3, 7, 8, 20])
    around = near.among_unlabelled(labelled)
    assert around.shape == (5, K), "as many as the run's own neighbours"
    assert not set(around.ravel()) & set(labelled.tolist())
    unlabelled = np.setdiff1d(np.arange(40), labelled)
    expected = unlabelled[nearest(vectors[labelled], vectors[unlabelled])]
    np.testing.assert_array_equal(around, expected)


def test_a_search_in_blocks_finds_what_one_search_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    whole = nearest(vectors, vectors, k=4, self_excluded=True)
    monkeypatch.setattr("trainer.neighbours.BLOCK", 7)
    np.testing.assert_array_equal(nearest(vectors, vectors, k=4, self_excluded=True), whole)


def test_the_average_weighs_the_neighbours_mean() -> None:
    own = np.array([[1.0, 0.0]])
    theirs = np.array([[[0.0, 1.0], [0.5, 0.5]]])
    np.testing.assert_allclose(averaged(own, theirs, 0.5), [[0.625, 0.375]])
    assert averaged(own, theirs, 0.0) is own


def clusters(n: int = 120, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes; each text's neighbours are texts of its own class, or, with ``noise``, that
    share of them of other classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    near = np.empty((n, K), dtype=int)
    for row in range(n):
        same = np.flatnonzero((y == y[row]) & (np.arange(n) != row))
        other = np.flatnonzero(y != y[row])
        mixed = rng.random(K) < noise
        near[row] = np.where(mixed, rng.choice(other, K), rng.choice(same, K))
    return y, near


def noisy_model(y: np.ndarray, wrong: float, seed: int = 1):  # type: ignore[no-untyped-def]
    """A stand-in for a model fitted on the training folds: right on each text with probability
    1 - ``wrong``, and then confident in the right class, else in a random one."""
    rng = np.random.default_rng(seed)
    guess = np.where(rng.random(len(y)) < wrong, rng.integers(0, 3, len(y)), y)
    proba = np.full((len(y), 3), 0.1)
    proba[np.arange(len(y)), guess] = 0.8

    def fold_proba(train: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return proba[rows]

    return fold_proba


def test_the_labels_choose_a_weight_where_neighbours_agree_and_none_where_they_do_not() -> None:
    y, near = clusters()
    labelled = np.arange(len(y))  # here every text is labelled, and its neighbours' row is its own
    helped = cv_weights(noisy_model(y, wrong=0.4), labelled, y, near, folds=5, seed=0)
    assert set(helped) == set(WEIGHTS)
    assert best_weight([helped]).weight > 0, helped
    y, unrelated = clusters(noise=0.9)
    misled = cv_weights(noisy_model(y, wrong=0.05), labelled, y, unrelated, folds=5, seed=0)
    assert best_weight([misled]).weight == 0, misled


def test_a_tie_goes_to_the_smaller_weight_and_earlier_updates_count() -> None:
    flat = dict.fromkeys(WEIGHTS, 0.5)
    assert best_weight([flat]).weight == 0
    favours_half = {**flat, 0.5: 0.9}
    assert best_weight([flat, favours_half, favours_half]).weight == 0.5
    assert best_weight([favours_half, flat, flat]).weight == 0.5, "the mean over the window decides"
    assert "CV accuracy by weight" in best_weight([favours_half]).describe()


def test_neighbours_are_found_once_and_read_back(tmp_path: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(auto_spec(), corpus, LABELS, tmp_path / "run", "cpu")
    first = learner.neighbours
    assert first is not None and first.test is not None
    assert first.pool.shape == (len(corpus.train_texts), K)
    assert first.test.shape == (len(corpus.test_texts), K)
    stored = list((tmp_path / "run" / "neighbours").iterdir())
    assert len(stored) == 2
    again = Neighbours.of(tmp_path / "run", learner.spec.model, corpus.train_texts, corpus.test_texts, "cpu")
    assert again is not None
    np.testing.assert_array_equal(again.pool, first.pool)


def test_a_run_without_neighbours_never_looks_for_them(tmp_path: Path) -> None:
    spec = RunSpec.model_validate({**auto_spec().model_dump(), "neighbours": False})
    learner = Learner.build(spec, synthetic(), LABELS, tmp_path / "run", "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    learner.reselect()
    assert learner.neighbours is None and learner.averaging.weight == 0
    assert not (tmp_path / "run" / "neighbours").exists()


def test_the_chosen_weight_serves_everything_the_learner_says(tmp_path: Path) -> None:
    """With a weight, the figures, the suggestions and the query all rest on the averaged
    probabilities; a restored learner keeps the weight and says it in its version."""
    corpus = synthetic()
    learner = Learner.build(auto_spec(), corpus, LABELS, tmp_path / "run", "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    learner.reselect()
    learner.state.averaging = Averaging(0.75)  # whatever cross-validation chose on so few labels
    learner._proba = None
    pool, test = learner.probabilities()
    assert test is not None
    raw_pool = np.asarray(learner.active.classifier.predict_proba(learner.active.dataset))
    near = learner.neighbours
    assert near is not None and near.test is not None
    np.testing.assert_allclose(pool, averaged(raw_pool, raw_pool[near.pool], 0.75))
    expected = [LABELS[int(label)] for label in test.argmax(axis=1)]
    accuracy = float(np.mean([e == t for e, t in zip(expected, corpus.test_labels, strict=True)]))
    assert learner.evaluate().accuracy == pytest.approx(accuracy)
    batch = learner.query()
    assert [label for label, _ in learner.suggest(batch)] == [
        LABELS[int(label)] for label in pool[batch].argmax(axis=1)
    ]
    learner.save(tmp_path / "checkpoint")
    restored = Learner.load(tmp_path / "checkpoint", corpus, tmp_path / "run", "cpu")
    assert restored.averaging.weight == 0.75 and restored.version_tag.endswith(".neighbours0.75")
