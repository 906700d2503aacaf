"""Backend ``transformer``: small-text's transformer fine-tuning, as Argilla's tutorial does.

Training is small-text's own. Scoring (predict, predict_proba, embed) skips the padding small-text
adds to every text (:mod:`trainer.backends.fast_inference`), and the pool is tokenized once per run.
"""

from typing import Any

import numpy as np
from small_text import LABEL_UNLABELED
from small_text.integrations.transformers import (
    TransformerBasedClassification,
    TransformerBasedClassificationFactory,
    TransformerModelArguments,
    TransformersDataset,
)

from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.fast_inference import class_probabilities, score_sorted, sentence_embedding
from trainer.backends.models import resolve_model
from trainer.backends.tokens import cached_tokens, tokenize, transformers_dataset

DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 12
DEFAULT_MAX_LENGTH = 64


class FastTransformerClassification(TransformerBasedClassification):
    """small-text's transformer classifier, scoring in length-sorted batches without padding waste.

    Single-label probabilities and embeddings take the fast path; dropout sampling and multi-label
    keep small-text's.
    """

    def predict_proba(
        self, dataset: Any, multi_label_threshold: float = 0.5, dropout_sampling: int = 1
    ) -> np.ndarray:
        if self.multi_label or dropout_sampling > 1 or len(dataset) == 0:
            return super().predict_proba(dataset, multi_label_threshold, dropout_sampling)
        [proba] = score_sorted(
            self.model,
            dataset.data,
            self.device,
            lambda output, mask: [class_probabilities(output)],
            [self.num_classes],
        )
        return proba.astype(np.float64)

    def embed(
        self,
        data_set: Any,
        return_proba: bool = False,
        multi_label_threshold: float = 0.5,
        embedding_method: str = TransformerBasedClassification.EMBEDDING_METHOD_AVG,
        hidden_layer_index: int = -1,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        if self.model is None:
            raise ValueError("Model is not trained. Please call fit() first.")
        if self.multi_label:
            return super().embed(
                data_set, return_proba, multi_label_threshold, embedding_method, hidden_layer_index
            )

        def outputs(output: Any, mask: Any) -> list[Any]:
            vectors = sentence_embedding(output, mask, embedding_method, hidden_layer_index)
            return [vectors, class_probabilities(output)]

        width = self.model.config.hidden_size
        vectors, proba = score_sorted(
            self.model, data_set.data, self.device, outputs, [width, self.num_classes], hidden_states=True
        )
        return (vectors, proba.astype(np.float64)) if return_proba else vectors


class FastTransformerClassificationFactory(TransformerBasedClassificationFactory):
    """Creates :class:`FastTransformerClassification` instances."""

    def new(self) -> FastTransformerClassification:
        return FastTransformerClassification(
            self.transformer_model_args, self.num_classes, **self.classification_kwargs
        )


class TransformerBackend(ClassifierBackend):
    """Fine-tunes the whole model on the labels so far at every update."""

    kind = Backend.transformer

    @property
    def max_length(self) -> int:
        return self.options.max_length or DEFAULT_MAX_LENGTH

    def _model_args(self) -> TransformerModelArguments:
        batch_size = self.options.train_batch_size or DEFAULT_BATCH_SIZE
        return TransformerModelArguments(
            resolve_model(self.model),
            train_batch_size=batch_size,
            # Only small-text's own paths (validation, dropout sampling) still use this.
            predict_batch_size=max(batch_size, 64),
            show_progress_bar=False,
        )

    def classifier_factory(self) -> FastTransformerClassificationFactory:
        kwargs = {
            "device": self.device,
            "num_epochs": self.options.num_epochs or DEFAULT_EPOCHS,
            "verbosity": 0,
            "cache_dir": str(self.run_dir / "transformer-cache"),
        }
        return FastTransformerClassificationFactory(
            self._model_args(), self.num_classes, classification_kwargs=kwargs
        )

    def dataset(self, texts: list[str], *, cache: bool = False) -> TransformersDataset:
        if cache:
            tokens = cached_tokens(self.run_dir, self.model, texts, self.max_length)
        else:
            tokens = tokenize(self.model, texts, self.max_length)
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return transformers_dataset(tokens, unlabelled, self.target_labels)
