"""Figures with their intervals: Wilson for accuracy, a bootstrap for macro-F1."""

import numpy as np
from sklearn.metrics import f1_score

from trainer.metrics import macro_f1, measure, unmeasured, wilson

NAMES = ["a", "b", "c"]


def test_the_vectorized_macro_f1_is_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        truth, predicted = rng.integers(3, size=40), rng.integers(3, size=40)
        classes = sorted(set(truth) | set(predicted))
        expected = f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)
        assert np.isclose(macro_f1(truth, predicted, classes), expected)
    rows = rng.integers(3, size=(5, 40)), rng.integers(3, size=(5, 40))
    each = [macro_f1(t, p, [0, 1, 2]) for t, p in zip(*rows, strict=True)]
    assert np.allclose(macro_f1(*rows, [0, 1, 2]), each)  # one value per resample


def test_the_wilson_interval_of_7_in_10() -> None:
    low, high = wilson(7, 10)
    assert round(low, 3) == 0.397 and round(high, 3) == 0.892  # the textbook values
    assert wilson(10, 10)[1] == 1.0 and wilson(0, 10)[0] == 0.0


def test_measure_brackets_each_figure_with_its_interval() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(3, size=60)
    predicted = np.where(rng.random(60) < 0.7, truth, rng.integers(3, size=60))
    metrics = measure([NAMES[i] for i in truth], predicted, NAMES, labels=80, evaluated_on="eval-sample")
    assert metrics.eval_n == 60 and metrics.labels == 80 and metrics.evaluated_on == "eval-sample"
    assert metrics.accuracy_low < metrics.accuracy < metrics.accuracy_high  # type: ignore[operator]
    assert metrics.macro_f1_low < metrics.macro_f1 < metrics.macro_f1_high  # type: ignore[operator]
    again = measure([NAMES[i] for i in truth], predicted, NAMES, labels=80, evaluated_on="eval-sample")
    assert again == metrics  # the bootstrap is seeded: the same answers give the same band


def test_the_interval_narrows_as_labels_grow() -> None:
    small = measure(["a", "b"] * 5, np.array([0, 1] * 5), NAMES, labels=0)
    large = measure(["a", "b"] * 50, np.array([0, 1] * 50), NAMES, labels=0)
    assert small.accuracy == large.accuracy == 1.0
    assert small.accuracy_low < large.accuracy_low  # type: ignore[operator]


def test_no_held_out_label_gives_no_figure() -> None:
    assert measure([], np.array([], dtype=int), NAMES, labels=5, evaluated_on="eval-sample") == unmeasured(
        5, "eval-sample"
    )
    assert unmeasured(5).accuracy is None and unmeasured(5).evaluated_on == "none"
