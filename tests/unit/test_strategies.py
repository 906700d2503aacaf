"""Query strategies from the spec: subsampling for big pools, deterministic when a query is retried."""

from pathlib import Path

import numpy as np
import small_text

from common.corpus import Corpus
from common.spec import RunSpec
from trainer.backends.encoder import cache_path, write_atomically
from trainer.learner import Learner
from trainer.strategies import BreakingTies, make_query_strategy

LABELS = ["x", "y"]


def spec(**changes: object) -> RunSpec:
    values: dict[str, object] = {"name": "s", "dataset": {"path": "-"}, "backend": "embeddings"}
    return RunSpec.model_validate(values | changes)


def test_subsampling_wraps_the_strategy_only_when_configured() -> None:
    wrapped = make_query_strategy(spec(query_subsample=500))
    assert isinstance(wrapped, small_text.SubsamplingQueryStrategy)
    assert isinstance(wrapped.base_query_strategy, small_text.BreakingTies)
    assert wrapped.subsample_size == 500
    assert isinstance(make_query_strategy(spec(query_subsample=None)), small_text.BreakingTies)


def learner_on_vectors(run_dir: Path, size: int, subsample: int) -> Learner:
    """A learner over ``size`` synthetic texts whose embeddings are written to the cache beforehand."""
    rng = np.random.default_rng(0)
    gold = rng.integers(2, size=size)
    vectors = rng.normal(size=(size, 8)) + gold[:, None]
    texts = [f"item {index}" for index in range(size)]
    names = [LABELS[label] for label in gold]
    run = spec(query_subsample=subsample, batch_size=10, stopping_criterion=None)
    write_atomically(cache_path(run_dir, run.model, texts), vectors.astype(np.float32))
    learner = Learner.build(run, Corpus(texts, names, texts[:2], names[:2]), LABELS, run_dir, "cpu")
    learner.teach([names[index] for index in learner.first_batch()])
    return learner


def test_a_retried_subsampled_query_chooses_the_same_batch(tmp_path: Path) -> None:
    learner = learner_on_vectors(tmp_path, 600, 100)
    first = learner.query()
    strategy = learner.active.query_strategy
    assert strategy.subsampled_indices_ is not None  # the pool was bigger than the subsample
    assert learner.query() == first
    assert len(first) == 10 and not set(first) & set(learner.active.indices_labeled.tolist())


def test_pools_smaller_than_the_subsample_are_scored_whole(tmp_path: Path) -> None:
    learner = learner_on_vectors(tmp_path, 150, 1000)
    learner.query()
    assert learner.active.query_strategy.subsampled_indices_ is None


class FixedProba:
    """A classifier whose probabilities are given."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict_proba(self, dataset: object) -> np.ndarray:
        return self.proba


def test_breaking_ties_scores_and_chooses_as_small_texts_own() -> None:
    generator = np.random.default_rng(0)
    proba = generator.dirichlet(np.ones(6), size=2000)
    proba[:50] = proba[0]  # ties between items: the order among them must not change either
    args = (FixedProba(proba), None, np.arange(100, 2000), np.arange(100), np.zeros(100, dtype=int))
    ours, theirs = BreakingTies(), small_text.BreakingTies()
    assert np.array_equal(ours.get_confidence(*args), theirs.get_confidence(*args))
    assert np.array_equal(ours.query(*args, n=20), theirs.query(*args, n=20))


def test_a_spec_naming_breaking_ties_gets_the_vectorized_one() -> None:
    assert type(make_query_strategy(spec(query_subsample=None))) is BreakingTies
    other = make_query_strategy(spec(query_subsample=None, query_strategy="LeastConfidence"))
    assert type(other) is small_text.LeastConfidence
