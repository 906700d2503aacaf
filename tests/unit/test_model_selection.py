"""The ``auto`` backend's model selection: exact fits in the labels' span, choices made by the labels,
recorded in the checkpoint, repeated exactly by a retried step, and said in the log."""

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from common.corpus import Corpus
from common.spec import Backend, RunSpec
from tests.support.data import VARIANTS, gold, topic_corpus
from trainer.backends import backend_for
from trainer.backends import selection as chosen
from trainer.backends.selection import FEATURE_SETS, Choice, fit_in_span, select, width
from trainer.headless import run_headless
from trainer.learner import Learner

LAYOUT = (("embeddings", 8), ("words", 50), ("chars", 70))
TOPICS = {
    "sport": ["the team won the match", "a goal in the final minute", "the striker scored twice"],
    "food": ["a recipe for fresh bread", "the soup needs more salt", "bake the cake for an hour"],
    "tech": ["the laptop battery died", "a new phone operating system", "the server crashed again"],
}
LABELS = sorted(TOPICS)


def rows(n: int, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, 8))
    words = sp.random(n, 50, density=0.1, random_state=seed + 1, format="csr")
    chars = sp.random(n, 70, density=0.1, random_state=seed + 2, format="csr")
    return sp.hstack([sp.csr_matrix(dense), words, chars], format="csr")


@pytest.mark.parametrize("features", list(FEATURE_SETS))
def test_a_fit_in_the_labels_span_is_the_ordinary_fit(features: str) -> None:
    x, y = rows(60), np.random.default_rng(3).integers(0, 3, 60)
    choice = Choice(features, 10.0, "balanced")
    model = fit_in_span(x, y, LAYOUT, choice, max_iter=5000, tol=1e-10)

    used = width(LAYOUT, features)
    ordinary = LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000, tol=1e-10).fit(
        x[:, :used], y
    )
    unseen = rows(30, seed=7)
    expected = ordinary.predict_proba(unseen[:, :used])
    np.testing.assert_allclose(model.predict_proba(unseen), expected, atol=1e-6)
    assert not model.coef_[:, used:].any(), "the blocks the choice leaves out get no weight"


def test_too_few_labels_keep_the_default() -> None:
    selection = select(rows(6), np.array([0, 1, 2, 0, 1, 2]), LAYOUT)
    assert selection.choice == chosen.DEFAULT_CHOICE
    assert selection.cv_accuracy is None and selection.folds == 0


def signal_in(block: str, n: int = 90) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows whose class shows only in ``block``; the other blocks are noise."""
    rng = np.random.default_rng(11)
    y = np.arange(n) % 3
    dense = rng.normal(size=(n, 8))
    words = rng.random((n, 50)) * (rng.random((n, 50)) < 0.05)
    if block == "embeddings":
        dense[np.arange(n), y] += 4.0
    else:
        words[np.arange(n), y] += 1.0
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    words /= np.maximum(np.linalg.norm(words, axis=1, keepdims=True), 1e-12)
    return sp.hstack([sp.csr_matrix(dense), sp.csr_matrix(words), sp.csr_matrix((n, 70))], format="csr"), y


def test_the_labels_decide_the_feature_set() -> None:
    layout = (("embeddings", 8), ("words", 50), ("chars", 0))
    from_words = select(*signal_in("words"), layout)
    assert "words" in from_words.choice.features
    from_embeddings = select(*signal_in("embeddings"), layout)
    assert from_embeddings.choice.features == "embeddings", "a tie goes to the simpler model"
    assert from_words.folds == 5 and from_words.labels == 90 and from_words.cv_accuracy is not None


def test_every_candidate_of_each_feature_set_is_scored() -> None:
    scored = {choice for choice, _ in select(*signal_in("words"), LAYOUT).scores}
    expected = {
        Choice(features, c, weighting)
        for features, cs in chosen.C_VALUES.items()
        for c in cs
        for weighting in chosen.CLASS_WEIGHTS
    }
    assert scored == expected and len(scored) == 20


def test_the_same_labels_give_the_same_choice() -> None:
    x, y = signal_in("words")
    assert select(x, y, LAYOUT).choice == select(x, y, LAYOUT).choice


def test_earlier_updates_can_outvote_one_updates_win() -> None:
    x, y = signal_in("words")
    alone = select(x, y, LAYOUT)
    rival = next(choice for choice, _ in alone.scores if choice.features != alone.choice.features)
    earlier = [
        chosen.Selection(
            rival, 1.0, 5, 80, scores=tuple((c, 1.0 if c == rival else 0.0) for c, _ in alone.scores)
        )
    ] * 2
    outvoted = select(x, y, LAYOUT, earlier)
    assert outvoted.choice == rival and outvoted.window == 3
    assert select(x, y, LAYOUT, earlier[:0]).choice == alone.choice


def test_auto_is_the_default_on_every_device() -> None:
    spec = RunSpec.model_validate({"name": "t", "dataset": {"path": "-"}})
    assert backend_for(spec) == Backend.auto


def synthetic() -> Corpus:
    return topic_corpus(TOPICS, (*VARIANTS, " in the news", " at last"), test=9)


def auto_spec(seed: int = 42) -> RunSpec:
    return RunSpec.model_validate(
        {"name": "t", "dataset": {"path": "-"}, "batch_size": 9, "backend": "auto", "seed": seed}
    )


def test_the_choice_is_kept_in_the_checkpoint_and_a_retried_step_repeats_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = synthetic()
    learner = Learner.build(auto_spec(), corpus, LABELS, tmp_path / "run", "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    with caplog.at_level(logging.INFO, logger="alloop.trainer"):
        learner.reselect()
    [selection] = learner.state.selections
    assert f"the next model is {selection.choice.tag}" in caplog.text
    learner.query()
    learner.save(tmp_path / "checkpoint")

    def next_step() -> tuple[str, list[int], np.ndarray]:
        restored = Learner.load(tmp_path / "checkpoint", corpus, tmp_path / "run", "cpu")
        assert restored.state.selections == [selection]
        restored.teach(gold(restored))
        proba = np.asarray(restored.active.classifier.predict_proba(restored.active.dataset))
        return restored.version_tag, restored.query(), proba

    first, retried = next_step(), next_step()
    assert first[0] == retried[0] == f"auto.{selection.choice.tag}"
    assert first[1] == retried[1]
    np.testing.assert_array_equal(first[2], retried[2])


def test_the_same_seed_gives_the_same_curve(tmp_path: Path) -> None:
    corpus = synthetic()
    curves = [
        [
            (r.labels, r.accuracy, r.macro_f1, r.per_class_f1)
            for r in run_headless(spec, corpus, 3, tmp_path, "cpu")
        ]
        for spec in (auto_spec(seed=3), auto_spec(seed=3))
    ]
    assert [labels for labels, *_ in curves[0]] == [9, 18, 27, 36]
    assert curves[0] == curves[1]
