"""Backend ``setfit``: small-text's SetFit integration (contrastive sentence-transformer fine-tuning).

SetFit trains on pairs of labelled texts, and with its default sampling their number grows with the
square of the labels (about 8,300 pairs at 100 TREC labels, 200,000 at 500): a training that took
8 s at 20 labels took 674 s at 180. A step budget bounds it: beyond ``step_budget`` steps of pairs,
SetFit draws that many steps' worth of pairs at random instead of all of them; and since a step's cost
grows with the texts' length, a time budget ends the pair training early where the steps would not.

SetFit's head, a logistic regression with scikit-learn's default ``C=1``, is far too regularised for
unit-length sentence embeddings once there are many classes; the head's ``C`` is chosen by
cross-validation on the labelled texts instead (:data:`HEAD_CS`).
"""

import dataclasses
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from math import ceil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from small_text import LABEL_UNLABELED, TextDataset
from small_text.integrations.transformers import (
    SetFitClassification,
    SetFitClassificationFactory,
    SetFitModelArguments,
)
from transformers import AutoConfig, TrainerCallback

from common.spec import Backend
from trainer.backends.base import BackendOptions, ClassifierBackend
from trainer.backends.models import loading, resolve_model

DEFAULT_MAX_LENGTH = 64
STEP_BUDGET = {"cpu": 150, "cuda": 2000}
"""Steps of contrastive pairs per training. Measured with MiniLM on two CPU cores (`python -m bench
heavy-budget`), before the time budget: 98 s at 100 TREC labels (every pair: 493 steps, 373 s,
accuracy 0.896 against 0.906 bounded), 121 s at 500 (accuracy 0.916). CUDA: not measured."""
TIME_BUDGET_S = {"cpu": 90.0, "cuda": 600.0}
"""Seconds of pair training, at most: BANKING77's longer texts took 0.8-1.5 s a step on two CPU
cores, so 150 steps and the head came to 110-146 s a training. With it: TREC-6 92 s at 100 labels
(138 steps, accuracy 0.924; every pair 0.900) and 96 s at 500; BANKING77 ≤ 99 s. Wall-clock time:
the pauses while training jobs run (:mod:`trainer.yielding`, about a second a batch) count too."""
HEAD_CS = (1.0, 10.0, 100.0)
"""The head's candidate inverse regularisation strengths, chosen among by 3-fold cross-validation.
On the MiniLM's embeddings of 500 random BANKING77 texts, the default ``C=1`` scored 0.486 on the
test split and ``C=100`` 0.759; on TREC-6, SetFit at 100 labels scored 0.924 with ``C=1`` and 0.940
with ``C=100``."""
HEAD_FOLDS = 3


def head_for(labels: Sequence[int]) -> LogisticRegression:
    """A logistic regression head for these labels that picks its own ``C`` from :data:`HEAD_CS`
    when it is fitted; with too few texts of every class for the folds, the middle one. A plain
    scikit-learn estimator, so an exported model loads without alloop."""
    if max(Counter(labels).values(), default=0) < HEAD_FOLDS:
        return LogisticRegression(C=HEAD_CS[len(HEAD_CS) // 2], max_iter=2000)
    return LogisticRegressionCV(
        Cs=list(HEAD_CS),
        cv=HEAD_FOLDS,
        scoring="neg_log_loss",
        l1_ratios=(0.0,),
        max_iter=2000,
        use_legacy_attributes=False,
    )


class TimeLimit(TrainerCallback):
    """Ends a training at the first step that ends ``seconds`` or more after the training began."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.started = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = self.clock()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.clock() - self.started >= self.seconds:
            control.should_training_stop = True


def pair_steps(labels: Sequence[int], batch_size: int, epochs: int) -> int:
    """The steps SetFit's default (oversampling) pairs of these labels take: positive and negative
    pairs (a text with itself included, as SetFit pairs them), each as many as the larger kind."""
    count = len(labels)
    positive = sum(n * (n + 1) // 2 for n in Counter(labels).values())
    negative = count * (count + 1) // 2 - positive
    return ceil(2 * max(positive, negative) / batch_size) * epochs


class FullProbaSetFitClassification(SetFitClassification):
    """SetFit whose probabilities keep one column per class, also for classes not labelled yet.

    SetFit's logistic head only knows the classes it was trained on; small-text expects all of them.
    Its training stops at ``step_budget`` steps of pairs or after ``time_budget_s`` seconds of them
    (None: no bound), and its head chooses its regularisation (:func:`head_for`).
    """

    step_budget: int | None = None
    time_budget_s: float | None = None
    clock: Callable[[], float] = staticmethod(time.monotonic)
    trained_steps: int | None = None
    """Steps of pairs the last fit trained."""

    def _fit(self, sub_train: Any, sub_valid: Any) -> "FullProbaSetFitClassification":
        args = self._get_training_args(self.setfit_model_args, self.amp_args)
        natural = pair_steps(list(sub_train["label"]), args.embedding_batch_size, args.embedding_num_epochs)
        if self.step_budget is not None and natural > self.step_budget:
            args = dataclasses.replace(args, max_steps=self.step_budget)
        self._call_setfit_trainer(sub_train, sub_valid, args)
        return self

    def _call_setfit_trainer(self, sub_train: Any, sub_valid: Any, train_args: Any) -> None:
        from setfit import Trainer

        if not (self.use_differentiable_head or self.multi_label):
            self.model.model_head = head_for(list(sub_train["label"]))
        limits = [] if self.time_budget_s is None else [TimeLimit(self.time_budget_s, self.clock)]
        trainer = Trainer(
            model=self.model,
            args=train_args,
            train_dataset=sub_train,
            eval_dataset=sub_valid,
            callbacks=limits,
        )
        with warnings.catch_warnings():
            # A few labels per class make folds with a class missing; the head copes, and says so each fit.
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            trainer.train(args=train_args)
        self.trained_steps = trainer.st_trainer.state.global_step

    def _predict_proba(self, dataset: Any, multi_label_threshold: float = 0.5) -> np.ndarray:
        proba = self.model.predict_proba(
            list(dataset.x), batch_size=self.setfit_model_args.predict_batch_size, as_numpy=True
        )
        return self._all_classes(np.asarray(proba))

    def _create_embeddings(self, texts: Any) -> tuple[Any, np.ndarray]:
        embeddings, proba = super()._create_embeddings(texts)
        return embeddings, self._all_classes(np.asarray(proba))

    def _all_classes(self, proba: np.ndarray) -> np.ndarray:
        seen = getattr(self.model.model_head, "classes_", None)
        if seen is None or proba.shape[1] == self.num_classes:
            return proba
        full = np.zeros((proba.shape[0], self.num_classes))
        full[:, np.asarray(seen, dtype=int)] = proba
        return full


def saved_model(folder: Path) -> Any:
    """A SetFit model as :func:`trainer.export.save_classifier` wrote it, to train further: a
    training continues from its fine-tuned body (and replaces its head)."""
    from setfit import SetFitModel

    model = SetFitModel.from_pretrained(str(folder), local_files_only=True)
    model.labels = None  # it trains on class indices again; label names would come back from predict
    return model


class FullProbaSetFitClassificationFactory(SetFitClassificationFactory):
    """Creates :class:`FullProbaSetFitClassification` instances."""

    step_budget: int | None = None
    time_budget_s: float | None = None

    def new(self) -> FullProbaSetFitClassification:
        classifier = FullProbaSetFitClassification(
            self.setfit_model_args, self.num_classes, **self.classification_kwargs
        )
        classifier.step_budget = self.step_budget
        classifier.time_budget_s = self.time_budget_s
        return classifier


class SetFitBackend(ClassifierBackend):
    """Few-shot friendly: fine-tunes the sentence encoder on pairs, then fits a head."""

    kind = Backend.setfit

    def __init__(
        self, model: str, label_names: list[str], run_dir: Path, device: str, options: BackendOptions
    ) -> None:
        super().__init__(model, label_names, run_dir, device, options)
        # SetFit loads the model only when training starts; checking here names the problem up front.
        with loading(model):
            AutoConfig.from_pretrained(resolve_model(model))

    def classifier_factory(self) -> FullProbaSetFitClassificationFactory:
        model_args = SetFitModelArguments(
            resolve_model(self.model),
            max_length=self.options.max_length or DEFAULT_MAX_LENGTH,
            train_batch_size=self.options.train_batch_size or 16,
            num_epochs=self.options.num_epochs or 1,
            show_progress_bar=False,
            output_dir=str(self.run_dir / "setfit"),
            # Without this, SetFit reports to every logging integration it finds installed.
            trainer_kwargs={"report_to": "none"},
        )
        factory = FullProbaSetFitClassificationFactory(
            model_args, self.num_classes, classification_kwargs={"device": self.device}
        )
        kind = "cuda" if self.device.startswith("cuda") else "cpu"
        steps, seconds = self.options.step_budget, self.options.time_budget_s
        factory.step_budget = (STEP_BUDGET[kind] if steps is None else steps) or None  # 0: no bound
        factory.time_budget_s = (TIME_BUDGET_S[kind] if seconds is None else seconds) or None
        return factory

    def dataset(self, texts: list[str], *, cache: bool = False) -> TextDataset:
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return TextDataset.from_arrays(texts, unlabelled, target_labels=self.target_labels)
