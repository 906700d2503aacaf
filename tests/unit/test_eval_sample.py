"""The evaluation sample: drawn without a test split, spread through the batches, never learned nor
chosen, and the figures it gives rest on the answers so far."""

from pathlib import Path

import numpy as np
import pytest

from common.corpus import Corpus
from common.errors import UserError
from common.spec import RunSpec
from tests.support.data import clustered_pool, learner_on_texts_alone
from trainer import eval_sample
from trainer.learner import Learner

NAMES = ["food", "sport"]


def spec_of(**values: object) -> RunSpec:
    base = {"name": "s", "dataset": {"path": "-"}, "backend": "embeddings", "batch_size": 10, "eval_size": 12}
    return RunSpec.model_validate(base | values)


def learner_without_test(folder: Path, **values: object) -> tuple[Learner, list[str]]:
    return learner_on_texts_alone(folder, spec_of(**values), NAMES)


def test_a_run_without_a_test_split_spreads_its_sample_through_the_batches(tmp_path: Path) -> None:
    learner, gold = learner_without_test(tmp_path)
    sample = set(learner.state.eval_sample)
    assert learner.evaluated_on == "eval-sample" and len(sample) == 12
    batch = learner.first_batch()
    seen: list[int] = []
    for _ in range(6):
        assert len(batch) == 10 and len(set(batch)) == 10
        seen += [index for index in batch if index in sample]
        learner.teach([gold[index] for index in batch])
        batch = learner.query()
    in_pairs = [sorted(seen[start : start + 2]) for start in range(0, 12, 2)]
    drawn = learner.state.eval_sample
    assert in_pairs == [sorted(drawn[start : start + 2]) for start in range(0, 12, 2)]  # 2 a batch, each once
    assert not sample & set(learner.active.indices_labeled.tolist())  # never learned
    assert learner.labelled_count == 60 - 12


def test_the_estimate_rests_on_the_answers_so_far_from_the_first_batch(tmp_path: Path) -> None:
    learner, gold = learner_without_test(tmp_path)
    counts = []
    batch = learner.first_batch()
    for _ in range(3):
        learner.teach([gold[index] for index in batch])
        metrics = learner.evaluate()
        assert metrics.evaluated_on == "eval-sample" and metrics.accuracy is not None
        assert metrics.accuracy_low is not None and metrics.accuracy_high is not None
        assert metrics.accuracy_low <= metrics.accuracy <= metrics.accuracy_high
        counts.append(metrics.eval_n)
        batch = learner.query()
    assert counts == [2, 4, 6]


def test_a_discarded_sample_text_leaves_the_sample(tmp_path: Path) -> None:
    learner, gold = learner_without_test(tmp_path)
    batch = learner.first_batch()
    sampled = [index for index in batch if index in set(learner.state.eval_sample)]
    learner.teach([None if index == sampled[0] else gold[index] for index in batch])
    assert list(learner.state.eval_answers) == sampled[1:]
    assert learner.evaluate().eval_n == 1


def test_with_eval_size_0_there_is_no_figure(tmp_path: Path) -> None:
    learner, gold = learner_without_test(tmp_path, eval_size=0)
    batch = learner.first_batch()
    learner.teach([gold[index] for index in batch])
    metrics = learner.evaluate()
    assert metrics.evaluated_on == "none" and metrics.eval_n == 0
    assert metrics.accuracy is None and metrics.macro_f1 is None and metrics.accuracy_low is None


def test_with_a_test_split_no_sample_is_drawn(tmp_path: Path) -> None:
    spec = spec_of()
    texts, gold = clustered_pool(tmp_path, spec.model)
    labels = [NAMES[label] for label in gold]
    corpus = Corpus(texts, labels, texts[:20], labels[:20])
    learner = Learner.build(spec, corpus, NAMES, tmp_path, "cpu")
    assert learner.state.eval_sample == [] and learner.evaluated_on == "test"
    assert len(learner.first_batch()) == 10


def test_the_sample_and_its_answers_survive_a_checkpoint(tmp_path: Path) -> None:
    learner, gold = learner_without_test(tmp_path)
    batch = learner.first_batch()
    learner.teach([gold[index] for index in batch])
    following = learner.query()
    learner.save(tmp_path / "checkpoint")
    restored = Learner.load(tmp_path / "checkpoint", learner.corpus, tmp_path, "cpu")
    assert restored.evaluate() == learner.evaluate()
    assert restored.awaiting == following and restored.state.eval_asked == 4


def test_a_checkpoint_from_before_the_sample_restores_without_one(tmp_path: Path) -> None:
    learner, _ = learner_without_test(tmp_path, eval_size=0)
    saved = dict(vars(learner.state))
    for name in ("eval_sample", "eval_asked", "eval_answers"):
        del saved[name]
    restored = type(learner.state).__new__(type(learner.state))
    restored.__setstate__(saved)
    assert restored.eval_sample == [] and restored.eval_asked == 0 and restored.eval_answers == {}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"eval_size": 195}, "eval_size 195 leaves 5 of the pool's 200 unlabelled texts to learn from"),
        ({"eval_per_batch": 10}, "eval_per_batch 10 leaves no room in a batch of 10"),
    ],
)
def test_a_sample_that_leaves_too_little_is_refused(values: dict[str, object], expected: str) -> None:
    corpus = Corpus([f"item {index}" for index in range(200)], [None] * 200, [], [])
    with pytest.raises(UserError) as caught:
        eval_sample.draw(spec_of(**values), corpus)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_the_sample_leaves_the_seed_set_out() -> None:
    labels: list[str | None] = [None] * 200
    labels[:30] = ["food"] * 30
    corpus = Corpus([f"item {index}" for index in range(200)], labels, [], [])
    drawn = eval_sample.draw(spec_of(eval_size=100), corpus)
    assert len(set(drawn)) == 100 and min(drawn) >= 30
    assert np.array_equal(drawn, eval_sample.draw(spec_of(eval_size=100), corpus))  # the seed decides
