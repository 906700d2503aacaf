"""Backend ``transformer``: small-text's transformer fine-tuning, as Argilla's tutorial does."""

import numpy as np
from small_text import LABEL_UNLABELED
from small_text.integrations.transformers import (
    TransformerBasedClassificationFactory,
    TransformerModelArguments,
    TransformersDataset,
)
from transformers import AutoTokenizer

from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.models import loading, resolve_model

DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 12
DEFAULT_MAX_LENGTH = 64


class TransformerBackend(ClassifierBackend):
    """Fine-tunes the whole model on the labels so far at every update."""

    kind = Backend.transformer

    def _model_args(self) -> TransformerModelArguments:
        batch_size = self.options.train_batch_size or DEFAULT_BATCH_SIZE
        return TransformerModelArguments(
            resolve_model(self.model),
            train_batch_size=batch_size,
            predict_batch_size=max(batch_size, 64),
            show_progress_bar=False,
        )

    def classifier_factory(self) -> TransformerBasedClassificationFactory:
        kwargs = {
            "device": self.device,
            "num_epochs": self.options.num_epochs or DEFAULT_EPOCHS,
            "verbosity": 0,
            "cache_dir": str(self.run_dir / "transformer-cache"),
        }
        return TransformerBasedClassificationFactory(
            self._model_args(), self.num_classes, classification_kwargs=kwargs
        )

    def dataset(self, texts: list[str], *, cache: bool = False) -> TransformersDataset:
        with loading(self.model):
            tokenizer = AutoTokenizer.from_pretrained(resolve_model(self.model))
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return TransformersDataset.from_arrays(
            texts,
            unlabelled,
            tokenizer,
            target_labels=self.target_labels,
            max_length=self.options.max_length or DEFAULT_MAX_LENGTH,
        )
