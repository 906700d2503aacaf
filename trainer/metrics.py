"""How well a model labels held-out data."""

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


@dataclass(frozen=True)
class Metrics:
    """Scores on held-out data, and how many labels the model learned from."""

    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    labels: int


def measure(gold: list[str], predicted: np.ndarray, label_names: list[str], labels: int) -> Metrics:
    """Metrics of ``predicted`` class indices against the ``gold`` label names."""
    truth = np.array([label_names.index(label) for label in gold])
    classes = list(range(len(label_names)))
    per_class = f1_score(truth, predicted, labels=classes, average=None, zero_division=0)
    return Metrics(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)),
        per_class_f1={name: float(score) for name, score in zip(label_names, per_class, strict=True)},
        labels=labels,
    )
