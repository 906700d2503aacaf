"""Backend ``auto``, the CPU default: it picks its own model as the labels come in.

Each pool text is one row ``[embedding | words | chars]``: the MiniLM sentence embedding, TF-IDF word
uni- and bigrams, and TF-IDF character 2-4-grams, each computed once per run and cached in the run
dir. After each update, cross-validation on the labels so far (:mod:`trainer.backends.selection`)
picks the feature set (embeddings; + words; + chars), C and class weighting that the next update
trains. Sentence embeddings carry what a text is about, n-grams its exact wording ("how many",
"who"); which matters more depends on the data (wording on TREC-6's question types, meaning on
BANKING77's 77 intents), and nobody knows in advance, so the labels decide.
"""

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from small_text import LABEL_UNLABELED, SklearnClassifierFactory, SklearnDataset

from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.encoder import encode, load_encoder
from trainer.backends.hybrid import HybridClassifier
from trainer.backends.selection import Choice, Layout, SelectedLogisticRegression
from trainer.backends.words import NGRAMS_FILE, cached_words, run_vectorizer


class AutoClassifierFactory(SklearnClassifierFactory):
    """Builds the classifier of the model chosen last (``choose``); embedding-based query strategies
    see the embedding columns only."""

    def __init__(self, num_classes: int, layout: Layout) -> None:
        super().__init__(SelectedLogisticRegression(num_classes=num_classes, layout=layout), num_classes)
        self.layout = layout

    def choose(self, choice: Choice) -> None:
        self.base_estimator.set_params(choice=choice)

    def new(self) -> HybridClassifier:
        return HybridClassifier(
            clone(self.base_estimator), self.num_classes, embedding_columns=dict(self.layout)["embeddings"]
        )


class AutoBackend(ClassifierBackend):
    """The vocabularies are fitted on the pool, the first texts asked for (``cache=True``), and kept
    in the run dir, so a resumed run sees the same columns."""

    kind = Backend.auto
    _vectorizer: Any = None

    def layout(self) -> Layout:
        """The row's blocks and their widths."""
        if self._vectorizer is None:
            raise RuntimeError("the pool's dataset fixes the vocabulary: ask for it first")
        (_, words), (_, chars) = self._vectorizer.transformer_list
        return (
            ("embeddings", int(load_encoder(self.model, self.device).get_embedding_dimension() or 0)),
            ("words", len(words.vocabulary_)),
            ("chars", len(chars.vocabulary_)),
        )

    def classifier_factory(self) -> AutoClassifierFactory:
        return AutoClassifierFactory(self.num_classes, self.layout())

    def dataset(self, texts: list[str], *, cache: bool = False) -> SklearnDataset:
        if self._vectorizer is None:
            self._vectorizer = run_vectorizer(self.run_dir, texts, NGRAMS_FILE)
        if cache:
            vectors = self.sentence_vectors(texts)
            ngrams = cached_words(self.run_dir, self._vectorizer, texts, NGRAMS_FILE)
        else:
            vectors, ngrams = encode(self.model, texts, self.device), self._vectorizer.transform(texts)
        features = sp.hstack([sp.csr_matrix(vectors), ngrams], format="csr")
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return SklearnDataset(features, unlabelled, target_labels=self.target_labels)
