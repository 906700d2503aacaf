"""The learner: small-text's active learning with each backend, on small real and synthetic corpora."""

from pathlib import Path

import pytest

from common.corpus import Corpus
from common.errors import UserError
from common.spec import RunSpec
from tests.support.data import VARIANTS, gold, topic_corpus
from trainer.backends import BackendOptions
from trainer.learner import Learner

TOPICS = {
    "sport": [
        "the team won the match",
        "a goal in the final minute",
        "the striker scored twice",
        "a tennis final",
    ],
    "food": [
        "a recipe for fresh bread",
        "the soup needs more salt",
        "bake the cake for an hour",
        "a spicy curry",
    ],
    "tech": [
        "the laptop battery died",
        "a new phone operating system",
        "the server crashed again",
        "fast chips",
    ],
}
LABELS = sorted(TOPICS)


def synthetic() -> Corpus:
    return topic_corpus(TOPICS, (*VARIANTS, " in the news"), test=12)


def spec(**changes: object) -> RunSpec:
    values: dict[str, object] = {
        "name": "t",
        "dataset": {"path": "-"},
        "batch_size": 6,
        "backend": "embeddings",
    }
    return RunSpec.model_validate(values | changes)


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run dir for the session, so each corpus is embedded once."""
    return tmp_path_factory.mktemp("embeddings")


def test_batches_never_repeat_and_discards_are_never_asked_again(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    seen = set(learner.first_batch())
    discarded = learner.awaiting[0]
    learner.teach([None, *gold(learner)[1:]])
    for _ in range(5):
        batch = learner.query()
        assert batch and not seen & set(batch) and discarded not in batch
        seen |= set(batch)
        learner.teach(gold(learner))
    assert learner.labelled_count == len(seen) - 1
    assert discarded not in learner.active.indices_labeled


def test_discarded_records_are_not_trained_on(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    batch = learner.query()
    seconds = learner.teach([None, None, *gold(learner)[2:]])
    assert 0 <= seconds < 5
    assert set(batch[:2]) <= set(learner.active.indices_ignored.tolist())
    assert not set(batch[:2]) & set(learner.active.indices_labeled.tolist())
    assert learner.active.y.dtype.kind == "i" and len(learner.active.y) == learner.labelled_count == 10


def test_a_batch_discarded_entirely_keeps_the_model(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    before = learner.evaluate()
    batch = learner.query()
    learner.teach([None] * len(batch))
    assert learner.evaluate() == before and learner.labelled_count == 6
    assert not set(batch) & set(learner.query())


def test_labels_must_match_the_batch(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    with pytest.raises(ValueError, match="5 labels for a batch of 6"):
        learner.teach(gold(learner)[:5])
    with pytest.raises(UserError, match="not one of the run's labels"):
        learner.teach(["weather"] * 6)


def test_a_saved_learner_continues_exactly(cache: Path, tmp_path: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    learner.query()
    learner.save(tmp_path / "checkpoint")
    restored = Learner.load(tmp_path / "checkpoint", corpus, cache, "cpu")
    assert restored.awaiting == learner.awaiting
    assert restored.evaluate() == learner.evaluate()
    assert restored.suggest([0, 1, 2]) == learner.suggest([0, 1, 2])
    restored.teach(gold(restored))
    learner.teach(gold(learner))
    assert restored.query() == learner.query()


def test_the_same_seed_chooses_the_same_batches(cache: Path) -> None:
    corpus = synthetic()
    runs = []
    for _ in range(2):
        learner = Learner.build(spec(seed=7), corpus, LABELS, cache, "cpu")
        chosen = [learner.first_batch()]
        learner.teach(gold(learner))
        chosen.append(learner.query())
        runs.append(chosen)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("initial", ["balanced", "cold-start"])
def test_initial_batches_cover_the_classes(cache: Path, initial: str) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(initial_batch=initial), corpus, LABELS, cache, "cpu")
    first = learner.first_batch()
    assert len(set(first)) == len(first) >= 3
    if initial == "balanced":
        assert {corpus.train_labels[index] for index in first} == set(LABELS)


def test_suggestions_are_labels_with_probabilities(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    for label, score in learner.suggest(learner.query()):
        assert label in LABELS and 0 < score <= 1


def test_the_pool_runs_out_cleanly(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(batch_size=25, stopping_criterion=None), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    assert len(learner.query()) == 25
    learner.teach(gold(learner))
    assert len(learner.query()) == 10
    learner.teach(gold(learner))
    assert learner.query() == [] and learner.labelled_count == 60


def test_kappa_average_stops_once_predictions_settle(cache: Path) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    verdicts = []
    for _ in range(6):
        learner.teach(gold(learner))
        verdicts.append(learner.stop_reached())
        learner.query()
    # KappaAverage needs a window of three comparisons before it can say stop.
    assert verdicts[:3] == [False] * 3 and verdicts[-1]


@pytest.mark.parametrize("criterion", [None, "OverallUncertainty", "ClassificationChange"])
def test_every_stopping_choice_gives_a_verdict(cache: Path, criterion: str | None) -> None:
    corpus = synthetic()
    learner = Learner.build(spec(stopping_criterion=criterion), corpus, LABELS, cache, "cpu")
    learner.first_batch()
    for _ in range(3):
        learner.teach(gold(learner))
        learner.query()
    # teach() ran the criterion each time; 18 labels of 60 texts are too few for any of them to say stop.
    assert not learner.stop_reached()


@pytest.mark.parametrize("backend", ["transformer", "setfit"])
def test_fine_tuning_backends_learn_and_query(tmp_path: Path, backend: str) -> None:
    corpus = synthetic()
    run_spec = spec(backend=backend, stopping_criterion=None)
    learner = Learner.build(run_spec, corpus, LABELS, tmp_path, "cpu", BackendOptions(num_epochs=1))
    learner.first_batch()
    learner.teach(gold(learner))
    batch = learner.query()
    assert len(batch) == 6 and not set(batch) & set(learner.active.indices_labeled)
    assert all(label in LABELS for label, _ in learner.suggest(batch))
    learner.teach([None, *gold(learner)[1:]])
    assert learner.labelled_count == 11 and batch[0] not in learner.query()
    assert 0 <= learner.evaluate().accuracy <= 1


def test_setfit_suggests_every_class_before_seeing_each(tmp_path: Path) -> None:
    corpus = synthetic()
    run_spec = spec(backend="setfit", stopping_criterion=None)
    learner = Learner.build(run_spec, corpus, LABELS, tmp_path, "cpu", BackendOptions(num_epochs=1))
    learner.first_batch()
    learner.teach([None if label == "tech" else label for label in gold(learner)])
    assert all(label in LABELS for label, _ in learner.suggest(learner.query()))
