"""Logistic regression on fixed sentence embeddings, as a small-text classifier."""

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from small_text import EmbeddingMixin, SklearnClassifier, SklearnClassifierFactory, SklearnDataset

# Chosen on TREC-6 with MiniLM embeddings and BreakingTies: the embeddings are unit vectors, so the
# default C=1 underfits badly on a few hundred labels; C=10 was best among 1-100.
DEFAULT_C = 10.0


class FullProbaLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression whose probabilities always have one column per class.

    scikit-learn drops the columns of classes missing from the training labels, which would shift
    class indices in small-text; a single seen class gets certainty instead of a fitting error.
    """

    def __init__(self, num_classes: int = 2, C: float = DEFAULT_C, max_iter: int = 1000) -> None:
        self.num_classes = num_classes
        self.C = C
        self.max_iter = max_iter

    def fit(
        self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> "FullProbaLogisticRegression":
        seen = np.unique(y)
        self.classes_ = np.arange(self.num_classes)
        self.seen_ = seen.astype(int)
        self.model_: LogisticRegression | None = None
        if len(seen) > 1:
            self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
            self.model_.fit(x, y, sample_weight=sample_weight)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        proba = np.zeros((x.shape[0], self.num_classes))
        if self.model_ is None:
            proba[:, self.seen_[0]] = 1.0
        else:
            proba[:, self.model_.classes_.astype(int)] = self.model_.predict_proba(x)
        return proba

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(x), axis=1)


class EmbeddingSklearnClassifier(EmbeddingMixin, SklearnClassifier):
    """An sklearn classifier whose features are embeddings, so embedding-based query strategies work."""

    def fit(
        self,
        train_set: SklearnDataset,
        weights: np.ndarray | None = None,
        lesson: SklearnDataset | None = None,
    ) -> "EmbeddingSklearnClassifier":
        """small-text's fit; ``lesson``, rows labelled by another model (:mod:`trainer.teaching`), is
        learned beside ``train_set`` with the same weight as a label."""
        if lesson is not None and len(lesson.y):
            parts = [train_set.x, lesson.x]
            rows = sp.vstack(parts, format="csr") if sp.issparse(train_set.x) else np.vstack(parts)
            train_set = SklearnDataset(
                rows,
                np.concatenate([np.asarray(train_set.y), np.asarray(lesson.y)]),
                target_labels=train_set.target_labels,
            )
            if weights is not None:
                weights = np.concatenate([weights, np.ones(len(lesson.y))])
        super().fit(train_set, weights)
        return self

    def embed(
        self, data_set: Any, return_proba: bool = False, multi_label_threshold: float = 0.5, **kwargs: Any
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        vectors = np.asarray(data_set.x)
        if return_proba:
            return vectors, self.predict_proba(data_set)
        return vectors


class EmbeddingClassifierFactory(SklearnClassifierFactory):
    """Creates :class:`EmbeddingSklearnClassifier` instances around a fresh logistic regression."""

    takes_lessons = True
    """Its classifiers learn another model's labels beside the annotators' (``fit(lesson=…)``)."""

    def __init__(self, num_classes: int, C: float = DEFAULT_C) -> None:
        super().__init__(FullProbaLogisticRegression(num_classes=num_classes, C=C), num_classes)

    def new(self) -> EmbeddingSklearnClassifier:
        return EmbeddingSklearnClassifier(clone(self.base_estimator), self.num_classes, **self.kwargs)
