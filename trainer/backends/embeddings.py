"""Backend ``embeddings``: frozen sentence embeddings plus logistic regression; updates in milliseconds."""

import numpy as np
from small_text import LABEL_UNLABELED, SklearnDataset

from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.encoder import cached_embeddings, encode
from trainer.backends.linear import EmbeddingClassifierFactory


class EmbeddingsBackend(ClassifierBackend):
    """Texts become sentence-transformer embeddings, computed once and cached in the run dir."""

    kind = Backend.embeddings

    def classifier_factory(self) -> EmbeddingClassifierFactory:
        return EmbeddingClassifierFactory(self.num_classes)

    def dataset(self, texts: list[str], *, cache: bool = False) -> SklearnDataset:
        vectors = self.sentence_vectors(texts) if cache else encode(self.model, texts, self.device)
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return SklearnDataset(vectors, unlabelled, target_labels=self.target_labels)

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        return cached_embeddings(self.run_dir, self.model, texts, self.device)
