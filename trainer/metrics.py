"""How well a model labels held-out data, with a 95 % interval for what the figure rests on."""

from dataclasses import dataclass, fields

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from common.events import EvaluatedOn, HeavyModel, ModelFigures

CONFIDENCE = 0.95
RESAMPLES = 1000
"""Bootstrap resamples for macro-F1's interval: its bounds move by about 0.005 between seeds."""


@dataclass(frozen=True)
class Metrics:
    """Scores on held-out data, and how many labels the model learned from.

    ``evaluated_on`` says what they rest on: the test split, the evaluation sample (``eval_n`` texts
    the annotators labelled and the model never learned), or nothing (every score None).
    """

    accuracy: float | None
    macro_f1: float | None
    per_class_f1: dict[str, float]
    labels: int
    evaluated_on: EvaluatedOn = "test"
    eval_n: int = 0
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    macro_f1_low: float | None = None
    macro_f1_high: float | None = None

    @classmethod
    def of(cls, model: HeavyModel) -> "Metrics":
        """The figures a background model's manifest holds."""
        return cls(**model.model_dump(include={field.name for field in fields(cls)}))

    def of_model(self, version: str) -> ModelFigures:
        """These figures as an event carries them, for the model named ``version``."""
        return ModelFigures(**vars(self), model_version=version)


def measure(
    gold: list[str],
    predicted: np.ndarray,
    label_names: list[str],
    labels: int,
    evaluated_on: EvaluatedOn = "test",
) -> Metrics:
    """Metrics of ``predicted`` class indices against the ``gold`` label names, with intervals.

    On the test split macro-F1 averages over every label; on the evaluation sample, which may hold
    no text of a rare label yet, over the labels in its answers or predictions.
    """
    if not gold:
        return unmeasured(labels, evaluated_on)
    truth = np.array([label_names.index(label) for label in gold])
    predicted = np.asarray(predicted, dtype=int)
    every = list(range(len(label_names)))
    classes = every if evaluated_on == "test" else sorted(set(truth) | set(predicted.tolist()))
    per_class = f1_score(truth, predicted, labels=every, average=None, zero_division=0)
    hits = int((truth == predicted).sum())
    accuracy_low, accuracy_high = wilson(hits, len(truth))
    f1_low, f1_high = bootstrap_macro_f1(truth, predicted, classes)
    return Metrics(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)),
        per_class_f1={name: float(score) for name, score in zip(label_names, per_class, strict=True)},
        labels=labels,
        evaluated_on=evaluated_on,
        eval_n=len(truth),
        accuracy_low=accuracy_low,
        accuracy_high=accuracy_high,
        macro_f1_low=f1_low,
        macro_f1_high=f1_high,
    )


def unmeasured(labels: int, evaluated_on: EvaluatedOn = "none") -> Metrics:
    """No held-out label to score on: every figure None."""
    return Metrics(accuracy=None, macro_f1=None, per_class_f1={}, labels=labels, evaluated_on=evaluated_on)


def wilson(hits: int, n: int) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``hits``/``n``."""
    interval = stats.binomtest(hits, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


def bootstrap_macro_f1(truth: np.ndarray, predicted: np.ndarray, classes: list[int]) -> tuple[float, float]:
    """A percentile-bootstrap interval of macro-F1 over ``classes`` (texts resampled in pairs)."""
    if len(truth) < 2:
        point = macro_f1(truth, predicted, classes)
        return float(point), float(point)
    result = stats.bootstrap(
        (truth, predicted),
        lambda t, p, axis: macro_f1(t, p, classes),
        paired=True,
        vectorized=True,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def macro_f1(truth: np.ndarray, predicted: np.ndarray, classes: list[int]) -> np.ndarray:
    """Macro-F1 along the last axis (one value per resample), as scikit-learn's with zero_division=0."""
    scores = []
    for label in classes:
        is_true, is_predicted = truth == label, predicted == label
        tp = (is_true & is_predicted).sum(axis=-1)
        wrong = (is_true ^ is_predicted).sum(axis=-1)
        denominator = 2 * tp + wrong
        scores.append(np.divide(2 * tp, denominator, out=np.zeros(denominator.shape), where=denominator > 0))
    return np.mean(scores, axis=0)
