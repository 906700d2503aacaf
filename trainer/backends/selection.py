"""Model selection inside the loop for the ``auto`` backend.

A row is ``[embedding | words | chars]``. A candidate model is a feature set (a prefix of those
blocks), an inverse regularisation ``C`` and a class weighting; cross-validation on the labels so far
picks one, and the next update trains it.

**Why stratified k-fold on all labels**, although active learning chose most of them: actively
chosen texts are harder than the pool on average, so every candidate's CV accuracy is lower than its
accuracy on the pool. That bias is shared by the candidates, scored on the same folds, so it moves
the scores more than their order; the score ranks candidates and is never shown as an accuracy.
Folds by batch were the alternative: a batch of 20 chosen by one query sits near one decision
boundary, so with few batches each fold is a narrow, noisy sample, while shuffled stratified folds
hold a bit of every batch and every class.

**Why it is fast.** With n labelled rows and far more columns, an L2-regularised logistic regression's
weights lie in the span of those rows, so fitting it on ``Z = U·sqrt(Λ)`` from the eigendecomposition
of the rows' Gram matrix ``X·Xᵀ = U·Λ·Uᵀ`` (n columns instead of tens of thousands) gives the same
model exactly; its weights are mapped back to the columns of ``X`` afterwards. Every fold's training
rows lie in that span too, so one ``Z`` per feature set serves every fold and every candidate.
"""

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from trainer.backends.linear import FullProbaLogisticRegression

Layout = tuple[tuple[str, int], ...]
"""The blocks of a row and their widths, in order: ``(("embeddings", 384), ("words", …), ("chars", …))``."""

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "embeddings": ("embeddings",),
    "embeddings+words": ("embeddings", "words"),
    "embeddings+words+chars": ("embeddings", "words", "chars"),
}
"""Simplest first: a tie goes to the simpler model."""
C_VALUES: dict[str, tuple[float, ...]] = {
    "embeddings": (3.0, 10.0, 30.0, 100.0),
    "embeddings+words": (3.0, 10.0, 30.0),
    "embeddings+words+chars": (3.0, 10.0, 30.0),
}
"""The inverse regularisations tried with each feature set. The 384 unit-norm embedding columns
alone want less regularisation than rows with tens of thousands of n-gram columns besides."""
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")
MAX_FOLDS = 5
MIN_PER_FOLD = 4
"""Folds hold at least this many labels; fewer than two such folds leave the default in place."""
MAX_CV_LABELS = 600
"""Cross-validate on at most this many labels (a fixed stratified sample), so its cost stays bounded."""
CV_SEED = 0
HISTORY = 3
"""A candidate's score is its mean over this many updates' folds: one update's CV accuracy on a few
hundred labels moves by several points with the split, and once put a model 0.07 worse in charge."""
MIN_LABELS_PER_CLASS = 2
"""Cross-validate only with at least this many labels per class seen, on average: BANKING77's
first 100 labels name about 60 intents once each, which no split can score."""
TOLERANCE = 1e-3
"""lbfgs's stopping tolerance for the candidates: ranking them needs no more digits."""


@dataclass(frozen=True)
class Choice:
    """One candidate model: which feature blocks, the inverse regularisation ``C``, the class weights."""

    features: str
    C: float
    class_weight: str | None

    @property
    def tag(self) -> str:
        """A name Argilla accepts in a suggestion's agent (letters, digits and ``-_:./``)."""
        weighting = "balanced" if self.class_weight == "balanced" else "unweighted"
        return f"{self.features.replace('+', '-')}.C{self.C:g}.{weighting}"


DEFAULT_CHOICE = Choice("embeddings", 10.0, None)
"""Until cross-validation can tell: embeddings alone, C=10 (the unit-norm embeddings underfit at C=1)."""


@dataclass(frozen=True)
class Selection:
    """The choice cross-validation made and its evidence: mean accuracy over ``folds`` folds of ``labels``."""

    choice: Choice
    cv_accuracy: float | None
    folds: int
    labels: int
    seconds: float = 0.0
    scores: tuple[tuple[Choice, float], ...] = ()
    """Every candidate's score on this update's folds."""
    window: int = 1
    """How many updates' scores ``cv_accuracy`` averages."""

    def describe(self) -> str:
        if self.cv_accuracy is None:
            return f"{self.choice.tag} (the default: {self.labels} labels are too few to cross-validate)"
        evidence = f"CV accuracy {self.cv_accuracy:.3f}, {self.folds} folds of {self.labels} labels"
        if self.window > 1:
            evidence += f", averaged over {self.window} updates"
        return f"{self.choice.tag} ({evidence})"


def default_selection(labels: int) -> Selection:
    return Selection(DEFAULT_CHOICE, None, 0, labels)


def width(layout: Layout, features: str) -> int:
    """Columns of the leading blocks that make up ``features``."""
    wanted = FEATURE_SETS[features]
    return sum(size for name, size in layout if name in wanted)


def block_grams(x: Any, layout: Layout, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """``X·Xᵀ`` of each block of the rows ``x``, or of the blocks ``names`` (dense blocks through BLAS,
    sparse ones sparse)."""
    grams: dict[str, np.ndarray] = {}
    start = 0
    for name, size in layout:
        block = x[:, start : start + size]
        start += size
        if names is not None and name not in names:
            continue
        if name == "embeddings":
            dense = block.toarray() if sp.issparse(block) else np.asarray(block)
            grams[name] = dense @ dense.T
        else:
            grams[name] = np.asarray((block @ block.T).todense())
    return grams


def combined(grams: dict[str, np.ndarray], features: str) -> np.ndarray:
    """The Gram matrix of the blocks of ``features``: the sum of theirs."""
    return np.sum([grams[name] for name in FEATURE_SETS[features]], axis=0)


def span_basis(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z = U·sqrt(Λ)`` (the rows in an orthonormal basis of their span) and ``U/sqrt(Λ)``, which maps
    Z-space weights back through ``Xᵀ``."""
    eigenvalues, vectors = np.linalg.eigh(gram)
    keep = eigenvalues > 1e-10 * max(float(eigenvalues.max()), 1e-30)
    roots = np.sqrt(eigenvalues[keep])
    return vectors[:, keep] * roots, vectors[:, keep] / roots


def fit_in_span(
    x: Any, y: np.ndarray, layout: Layout, choice: Choice, max_iter: int = 1000, tol: float = 1e-4
) -> LogisticRegression:
    """The logistic regression of ``choice`` fitted on the rows ``x``; its weights cover every column of
    ``x`` (zero on the blocks the choice leaves out), so it predicts on whole rows."""
    # One BLAS thread: a few hundred rows gain nothing from more, and beside a busy Argilla on two
    # cores, spinning OpenBLAS threads stretched a selection from 1.7 s to 12 s.
    with threadpool_limits(limits=1):
        return _fit_in_span(x, y, layout, choice, max_iter, tol)


def _fit_in_span(
    x: Any, y: np.ndarray, layout: Layout, choice: Choice, max_iter: int, tol: float
) -> LogisticRegression:
    grams = block_grams(x, layout, FEATURE_SETS[choice.features])
    z, back = span_basis(combined(grams, choice.features))
    model = LogisticRegression(C=choice.C, class_weight=choice.class_weight, max_iter=max_iter, tol=tol)
    model.fit(z, y)
    used = width(layout, choice.features)
    coef = np.zeros((model.coef_.shape[0], x.shape[1]))
    coef[:, :used] = np.asarray(sp.csr_matrix(x[:, :used]).T @ (back @ model.coef_.T)).T
    model.coef_ = coef
    model.n_features_in_ = x.shape[1]
    return model


def select(x: Any, y: np.ndarray, layout: Layout, earlier: Sequence[Selection] = ()) -> Selection:
    """Cross-validate every candidate on the labelled rows ``x``/``y``; the best is the one whose mean
    score over this and the ``HISTORY - 1`` last ``earlier`` selections is highest."""
    started = time.perf_counter()
    y = np.asarray(y, dtype=int)
    x, y = _bounded(x, y)
    folds = int(min(MAX_FOLDS, len(y) // MIN_PER_FOLD, np.bincount(y).max()))
    seen = len(np.unique(y))
    if folds < 2 or seen < 2 or len(y) < MIN_LABELS_PER_CLASS * seen:
        return default_selection(len(y))
    with threadpool_limits(limits=1):
        scores = cv_scores(x, y, layout, folds)
    window = [*(dict(item.scores) for item in earlier if item.scores), scores][-HISTORY:]
    smoothed = {
        choice: float(np.mean([found[choice] for found in window if choice in found])) for choice in scores
    }
    best = max(smoothed, key=lambda choice: smoothed[choice])  # the first best: simplest, most regularised
    return Selection(
        best, smoothed[best], folds, len(y), time.perf_counter() - started, tuple(scores.items()), len(window)
    )


def cv_scores(x: Any, y: np.ndarray, layout: Layout, folds: int) -> dict[Choice, float]:
    """Each candidate's mean score over the folds, simplest candidates first."""
    grams = block_grams(x, layout)
    present = {name for name, size in layout if size > 0}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=CV_SEED)
    scores: dict[Choice, float] = {}
    with warnings.catch_warnings():
        # Few labels: some classes have fewer members than folds, and lbfgs may stop early.
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        for features, blocks in FEATURE_SETS.items():
            if not set(blocks) <= present:
                continue
            z, _ = span_basis(combined(grams, features))
            for class_weight in CLASS_WEIGHTS:
                search = LogisticRegressionCV(
                    Cs=list(C_VALUES[features]),
                    l1_ratios=(0.0,),
                    cv=splitter,
                    scoring="accuracy",
                    class_weight=class_weight,
                    tol=TOLERANCE,
                    max_iter=1000,
                    refit=False,
                    use_legacy_attributes=False,
                ).fit(z, y)
                by_c = np.asarray(search.scores_).reshape(folds, -1).mean(axis=0)
                for c, score in zip(C_VALUES[features], by_c, strict=True):
                    scores[Choice(features, c, class_weight)] = float(score)
    return scores


def _bounded(x: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
    """At most MAX_CV_LABELS rows: a random sample, drawn the same way for the same labels."""
    if len(y) <= MAX_CV_LABELS:
        return x, y
    keep = np.sort(np.random.default_rng(CV_SEED).choice(len(y), size=MAX_CV_LABELS, replace=False))
    return x[keep], y[keep]


class SelectedLogisticRegression(FullProbaLogisticRegression):
    """The logistic regression that ``choice`` names, fitted in the labelled rows' span (exactly the
    ordinary fit, much faster on n-gram columns); one probability column per class, as its parent's."""

    def __init__(self, num_classes: int = 2, layout: Layout = (), choice: Choice = DEFAULT_CHOICE) -> None:
        self.num_classes = num_classes
        self.layout = layout
        self.choice = choice

    def fit(
        self, x: Any, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> "SelectedLogisticRegression":
        y = np.asarray(y, dtype=int)
        self.classes_ = np.arange(self.num_classes)
        self.seen_ = np.unique(y)
        self.model_: LogisticRegression | None = None
        if len(self.seen_) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)  # many classes, few labels each
                warnings.simplefilter("ignore", category=ConvergenceWarning)
                self.model_ = fit_in_span(x, y, self.layout, self.choice)
        return self
