"""Backend ``setfit``: small-text's SetFit integration (contrastive sentence-transformer fine-tuning)."""

from pathlib import Path
from typing import Any

import numpy as np
from small_text import LABEL_UNLABELED, TextDataset
from small_text.integrations.transformers import (
    SetFitClassification,
    SetFitClassificationFactory,
    SetFitModelArguments,
)
from transformers import AutoConfig

from common.spec import Backend
from trainer.backends.base import BackendOptions, ClassifierBackend
from trainer.backends.models import loading, resolve_model

DEFAULT_MAX_LENGTH = 64


class FullProbaSetFitClassification(SetFitClassification):
    """SetFit whose probabilities keep one column per class, also for classes not labelled yet.

    SetFit's logistic head only knows the classes it was trained on; small-text expects all of them.
    """

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


class FullProbaSetFitClassificationFactory(SetFitClassificationFactory):
    """Creates :class:`FullProbaSetFitClassification` instances."""

    def new(self) -> FullProbaSetFitClassification:
        return FullProbaSetFitClassification(
            self.setfit_model_args, self.num_classes, **self.classification_kwargs
        )


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
        return FullProbaSetFitClassificationFactory(
            model_args, self.num_classes, classification_kwargs={"device": self.device}
        )

    def dataset(self, texts: list[str], *, cache: bool = False) -> TextDataset:
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return TextDataset.from_arrays(texts, unlabelled, target_labels=self.target_labels)
