"""Two-speed learning's parts: stored pool scores, querying and suggesting by them, the heavy model."""

from pathlib import Path

import numpy as np
import pytest

from common.corpus import Corpus
from common.events import EVENT, HeavyUpdated, ModelFigures, ModelUpdated, Timings
from common.spec import FRESH_BATCHES, Backend, RunSpec
from tests.unit.test_learner import LABELS, spec, synthetic
from trainer.heavy import Background, fit_and_score, last_saved, newest_background
from trainer.learner import Learner
from trainer.metrics import Metrics
from trainer.scores import MODEL, PoolScores, ScoresManifest, ScoreStore
from trainer.teaching import Lesson, draw


def manifest(batch: int, accuracy: float = 0.5) -> ScoresManifest:
    return ScoresManifest(
        batch=batch, model_version=f"m/batch-{batch}", labels=20, accuracy=accuracy, macro_f1=0.4,
        train_s=1.0, score_s=2.0,
    )  # fmt: skip


def taught_learner(run_dir: Path, **changes: object) -> Learner:
    corpus = synthetic()
    learner = Learner.build(spec(**changes), corpus, LABELS, run_dir)
    batch = learner.first_batch()
    learner.teach([corpus.train_labels[index] for index in batch])
    return learner


def test_scores_are_stored_whole_and_the_newest_complete_one_wins(tmp_path: Path) -> None:
    store = ScoreStore(tmp_path / "heavy")
    assert store.newest() is None
    proba = np.random.default_rng(0).dirichlet(np.ones(3), size=10)
    (tmp_path / "heavy" / ".batch-00001.k1ll3d").mkdir(parents=True)  # a killed writer's, swept
    store.save(PoolScores(manifest(1), proba))
    store.save(PoolScores(manifest(3), proba))
    (tmp_path / "heavy" / "batch-00007").mkdir()  # a folder without manifest is not a result
    newest = store.newest()
    assert newest is not None and newest.batch == 3
    loaded = store.load(3)
    assert loaded.manifest == manifest(3)
    np.testing.assert_allclose(loaded.proba, proba, rtol=1e-6)
    assert not list((tmp_path / "heavy").glob(".*")), "no staging folder is left behind"


def tied_scores(learner: Learner, ties: int) -> tuple[np.ndarray, list[int]]:
    """Pool scores sure of everything but ``ties`` unlabelled items (and the labelled ones)."""
    scores = np.tile([0.9, 0.05, 0.05], (learner.pool_size, 1))
    labelled = set(learner.active.indices_labeled.tolist())
    tied = [index for index in range(learner.pool_size) if index not in labelled][:ties]
    for index in tied:
        scores[index] = [0.4, 0.4, 0.2]
    for index in labelled:  # labelled items must never be chosen, however uncertain
        scores[index] = [0.34, 0.33, 0.33]
    return scores, tied


def test_query_by_scores_takes_the_closest_ties_among_unlabelled(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path, heavy_share=1.0)
    scores, ties = tied_scores(learner, 6)
    assert learner.queries_by_scores
    assert sorted(learner.query(scores)) == ties
    assert sorted(learner.awaiting) == ties
    suggestions = learner.suggest(ties, scores)
    assert suggestions == [(LABELS[0], pytest.approx(0.4))] * len(ties)


def test_scores_choose_their_share_of_the_batch_and_the_learner_the_rest(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path / "a")
    alone = taught_learner(tmp_path / "b")
    scores, ties = tied_scores(learner, 12)
    own = learner.spec.batch_size - round(learner.spec.batch_size * learner.spec.heavy_share)
    alone._seed()
    its_own = [int(index) for index in alone.active.query(num_samples=own)]
    batch = learner.query(scores)
    assert 0 < own < len(batch) == learner.spec.batch_size
    assert batch[:own] == its_own, "the learner's share is what it would choose alone"
    assert set(batch[own:]) <= set(ties) and len(set(batch)) == len(batch)


def test_stale_scores_choose_a_shrinking_share_of_the_batch(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    half = learner.spec.heavy_share
    background = Background(manifest(2), Metrics.of(manifest(2)), None)
    ages = (1, FRESH_BATCHES, 2 * FRESH_BATCHES)
    shares = [background.share(learner.spec, 2 + age) for age in ages]
    assert shares == [half, half, half / 2], "fresh scores keep their whole share, twice as old half of it"
    scores, ties = tied_scores(learner, 12)
    batch = learner.query(scores, share=0.25)
    by_scores = round(learner.spec.batch_size * 0.25)
    assert 0 < by_scores == len(set(batch[-by_scores:]) & set(ties)) < learner.spec.heavy_share * len(batch)


def test_query_by_scores_refuses_scores_of_another_pool(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    with pytest.raises(ValueError, match="do not match"):
        learner.query(np.ones((3, 3)) / 3)


def test_embedding_strategies_cannot_be_served_by_scores(tmp_path: Path) -> None:
    assert not taught_learner(tmp_path, query_strategy="EmbeddingKMeans").queries_by_scores


def test_heavy_model_scores_every_pool_item_and_measures_itself(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    # The embeddings backend stands in for a heavy one (specs refuse it as such): seconds, not minutes.
    two_speed = learner.spec.model_copy(update={"heavy_backend": Backend.embeddings})
    result = fit_and_score(two_speed, learner, 0, "cpu").scores
    assert result.proba.shape == (learner.pool_size, len(LABELS))
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=1e-5)
    assert result.manifest.labels == learner.labelled_count
    assert result.manifest.model_version.startswith("embeddings:")
    assert 0.0 <= result.manifest.accuracy <= 1.0


def test_without_a_test_split_the_heavy_model_measures_itself_on_the_eval_sample(tmp_path: Path) -> None:
    labelled = synthetic()
    corpus = Corpus(labelled.train_texts, [None] * len(labelled.train_texts), [], [])
    learner = Learner.build(spec(eval_size=6), corpus, LABELS, tmp_path)
    batch = learner.first_batch()
    learner.teach([labelled.train_labels[index] for index in batch])
    two_speed = learner.spec.model_copy(update={"heavy_backend": Backend.embeddings})
    result = fit_and_score(two_speed, learner, 0, "cpu").scores
    assert result.manifest.evaluated_on == "eval-sample" and result.manifest.eval_n == 1
    assert result.manifest.accuracy == learner.estimate(result.proba).accuracy


def test_heavy_backend_must_differ_from_the_backend() -> None:
    with pytest.raises(ValueError, match="heavy_backend"):
        RunSpec.model_validate(
            {"name": "t", "dataset": {"path": "-"}, "backend": "setfit", "heavy_backend": "setfit"}
        )


def test_two_speed_events_round_trip() -> None:
    heavy = HeavyUpdated(run="r", **manifest(2).model_dump())
    assert EVENT.validate_json(heavy.model_dump_json()) == heavy
    fast = ModelFigures(accuracy=0.7, macro_f1=0.6, labels=80, model_version="auto/batch-3")
    background = ModelFigures(accuracy=0.85, macro_f1=0.8, labels=60, model_version="setfit/batch-2")
    updated = ModelUpdated(
        run="r", batch=3, model_version="setfit/batch-2", labels=80, accuracy=0.85, macro_f1=0.8,
        per_class_f1={}, timings=Timings(), served_by="heavy", fast=fast, heavy=background,
    )  # fmt: skip
    assert EVENT.validate_json(updated.model_dump_json()) == updated
    dumped = updated.model_dump()
    assert (dumped["fast_accuracy"], dumped["heavy_accuracy"], dumped["heavy_labels"]) == (0.7, 0.85, 60)
    assert dumped["version"] == 3


def two_speed(learner: Learner) -> RunSpec:
    return learner.spec.model_copy(update={"heavy_backend": Backend.transformer})


def test_a_background_model_ahead_on_the_test_split_serves_with_its_own_figures(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    fast = learner.evaluate()
    store = ScoreStore(tmp_path / "heavy")
    proba = np.random.default_rng(1).dirichlet(np.ones(3), size=learner.pool_size)
    assert newest_background(two_speed(learner), store, learner, fast) is None  # nothing landed yet
    store.save(PoolScores(manifest(0, accuracy=1.0), proba))
    ahead = newest_background(two_speed(learner), store, learner, fast)
    assert ahead is not None and ahead.serving is not None
    assert (ahead.metrics.accuracy, ahead.metrics.labels) == (1.0, 20)  # the manifest's, on its labels
    np.testing.assert_allclose(ahead.serving.proba, proba, rtol=1e-6)
    assert newest_background(learner.spec, store, learner, fast) is None  # a run without two speeds


def test_a_background_model_behind_is_reported_but_does_not_serve(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    fast = learner.evaluate()
    assert fast.accuracy is not None
    store = ScoreStore(tmp_path / "heavy")
    # Level with the learner, whatever its accuracy: only a model ahead takes over.
    store.save(PoolScores(manifest(0, accuracy=fast.accuracy), np.full((learner.pool_size, 3), 1 / 3)))
    behind = newest_background(two_speed(learner), store, learner, fast)
    assert behind is not None and behind.serving is None and behind.metrics.accuracy == fast.accuracy


def test_a_setfit_background_model_continues_from_the_last_one_saved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    learner = taught_learner(tmp_path / "run")
    two_speed = learner.spec.model_copy(update={"heavy_backend": Backend.setfit})
    store = ScoreStore(tmp_path / "heavy")
    assert last_saved(two_speed, store) is None  # the first training starts from the base model
    first = fit_and_score(two_speed, learner, 0, "cpu")
    assert first.scores.manifest.continued_from is None
    store.save(first.scores, first.saver)
    start = last_saved(two_speed, store)
    assert start is not None and start.batch == 0
    saved, trained = start.model.model_body.state_dict(), first.classifier.model.model_body.state_dict()
    assert all(np.allclose(saved[name].numpy(), tensor.numpy()) for name, tensor in trained.items())
    batch = learner.query()
    learner.teach([learner.corpus.train_labels[index] for index in batch])
    second = fit_and_score(two_speed, learner, 1, "cpu", start=start)
    assert second.classifier.model is start.model and second.next_start is not None
    assert second.scores.manifest.continued_from == 0
    assert second.scores.manifest.origin() == "batch 0's model"
    # A saved model that no longer matches its checksums is passed over, and said so.
    weights = next((store.path(0) / MODEL).rglob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1])
    assert last_saved(two_speed, store) is None
    assert "cannot be continued" in caplog.text


def test_only_setfit_background_models_continue(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path)
    two_speed = learner.spec.model_copy(update={"heavy_backend": Backend.embeddings})
    trained = fit_and_score(two_speed, learner, 0, "cpu")
    assert trained.next_start is None
    store = ScoreStore(tmp_path / "heavy")
    store.save(trained.scores, trained.saver)
    assert store.models() == [0] and last_saved(two_speed, store) is None


def one_class_scores(learner: Learner, label: int) -> np.ndarray:
    """Pool scores of a background model sure that every text is of class ``label``."""
    scores = np.full((learner.pool_size, len(LABELS)), 0.1)
    scores[:, label] = 0.8
    return scores


@pytest.mark.parametrize("backend", ["embeddings", "auto"])
def test_a_serving_background_model_teaches_until_a_newer_one_does(tmp_path: Path, backend: str) -> None:
    learner, twin = (
        taught_learner(tmp_path / "a", backend=backend),
        taught_learner(tmp_path / "b", backend=backend),
    )
    batch = learner.query(one_class_scores(learner, 0))
    lesson = learner.state.lesson
    assert lesson is not None and 0 < len(lesson) <= learner.unlabelled().size - len(batch)
    assert not set(lesson.indices) & (set(batch) | set(learner.active.indices_labeled.tolist()))
    assert set(lesson.labels) == {0}, "each text gets the background model's most probable class"
    twin.state.awaiting = list(batch)  # the same answers, learned without the lesson
    answers = [synthetic().train_labels[index] for index in batch]
    learner.teach(answers)
    twin.teach(answers)
    assert learner.taught == len(lesson) and learner.state.lesson == lesson and twin.taught == 0
    rows = learner.active.dataset[np.array(lesson.indices)]
    said = np.mean(learner.active.classifier.predict(rows) == 0)
    alone = np.mean(twin.active.classifier.predict(rows) == 0)
    assert said > alone, "the lesson's texts lean to the class the background model gave them"
    if backend == "auto":
        assert learner.version_tag.endswith(".taught") and not twin.version_tag.endswith(".taught")
    again = learner.query()  # the fast model serves now: the last lesson stays, less what gets labelled
    learner.teach([synthetic().train_labels[index] for index in again])
    kept = lesson.without(np.array(again))
    assert learner.state.lesson == kept and learner.taught == len(kept) > 0
    learner.query(one_class_scores(learner, 1))  # a newer background model serves: its lesson replaces it
    assert learner.state.lesson is not None and set(learner.state.lesson.labels) == {1}


def test_a_lesson_left_by_a_query_survives_a_checkpoint(tmp_path: Path) -> None:
    learner = taught_learner(tmp_path / "run")
    learner.query(one_class_scores(learner, 1))
    lesson = learner.state.lesson
    learner.save(tmp_path / "checkpoint")
    restored = Learner.load(tmp_path / "checkpoint", synthetic(), tmp_path / "run")
    assert restored.state.lesson == lesson
    restored.teach([synthetic().train_labels[index] for index in restored.awaiting])
    assert lesson is not None and restored.taught == len(lesson)


def test_a_lesson_leaves_out_texts_labelled_since_it_was_drawn() -> None:
    lesson = Lesson((1, 4, 7, 9), (0, 2, 2, 1))
    assert lesson.without(np.array([4, 9, 12])) == Lesson((1, 7), (0, 2))
    scores = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    drawn = draw(scores, np.array([0, 2, 3, 5]), seed=0, size=3)
    assert len(drawn) == 3 and set(drawn.indices) <= {0, 2, 3, 5}
    assert drawn.labels == tuple(int(scores[index].argmax()) for index in drawn.indices)
    assert draw(scores, np.array([0, 2, 3, 5]), seed=0, size=3) == drawn, "a retried query draws the same"
    assert len(draw(scores, np.array([1, 4]), seed=0, size=3)) == 2
