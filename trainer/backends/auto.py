"""Backend ``auto``, the CPU default: it picks its own model as the labels come in.

Each pool text is one row ``[embedding | words | chars]``: the MiniLM sentence embedding, TF-IDF word
uni- and bigrams, and TF-IDF character 2-4-grams, each computed once per run and cached in the run
dir. After each update, cross-validation on the labels so far (:mod:`trainer.backends.selection`)
picks the feature set (embeddings; + words; + chars), C and class weighting that the next update
trains. Sentence embeddings carry what a text is about, n-grams its exact wording ("how many",
"who"); which matters more depends on the data (wording on TREC-6's question types, meaning on
BANKING77's 77 intents), and nobody knows in advance, so the labels decide. The learner then
averages the chosen model's probabilities with those of each text's nearest pool texts, as far as
the labels say it helps (:mod:`trainer.neighbours`).
"""

import io
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from small_text import LABEL_UNLABELED, SklearnClassifierFactory, SklearnDataset

from common.files import atomic_write_bytes
from common.spec import Backend
from trainer.backends.base import ClassifierBackend
from trainer.backends.encoder import cache_key, encode, load_encoder
from trainer.backends.hybrid import HybridClassifier
from trainer.backends.selection import Choice, Layout, SelectedLogisticRegression
from trainer.backends.words import FOLDER, NGRAMS_FILE, run_vectorizer


class AutoClassifierFactory(SklearnClassifierFactory):
    """Builds the classifier of the model chosen last (``choose``); embedding-based query strategies
    see the embedding columns only."""

    takes_lessons = True
    """Its classifiers learn another model's labels beside the annotators' (``fit(lesson=…)``)."""

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
        """The row's blocks and their widths (once the pool's dataset has fixed the vocabulary)."""
        if self._vectorizer is None and not (self.run_dir / FOLDER / NGRAMS_FILE).exists():
            raise RuntimeError("the pool's dataset fixes the vocabulary: ask for it first")
        (_, words), (_, chars) = self._ngrams([]).transformer_list
        return (
            ("embeddings", int(load_encoder(self.model, self.device).get_embedding_dimension() or 0)),
            ("words", len(words.vocabulary_)),
            ("chars", len(chars.vocabulary_)),
        )

    def classifier_factory(self) -> AutoClassifierFactory:
        return AutoClassifierFactory(self.num_classes, self.layout())

    def dataset(self, texts: list[str], *, cache: bool = False) -> SklearnDataset:
        features = (
            self._cached_rows(texts) if cache else self._rows(texts, encode(self.model, texts, self.device))
        )
        unlabelled = np.full(len(texts), LABEL_UNLABELED, dtype=int)
        return SklearnDataset(features, unlabelled, target_labels=self.target_labels)

    def _rows(self, texts: list[str], vectors: np.ndarray) -> sp.csr_matrix:
        return sp.hstack([sp.csr_matrix(vectors), self._ngrams(texts).transform(texts)], format="csr")

    def _ngrams(self, texts: list[str]) -> Any:
        """The run's n-gram vectorizers, read from the run dir (or, the first time, fitted on ``texts``)."""
        if self._vectorizer is None:
            self._vectorizer = run_vectorizer(self.run_dir, texts, NGRAMS_FILE)
        return self._vectorizer

    def _cached_rows(self, texts: list[str]) -> sp.csr_matrix:
        """The whole rows, stored uncompressed in the run dir: every job restores the pool's features,
        and joining the blocks again each time cost it 0.3 s of the annotators' wait."""
        path = self.run_dir / FOLDER / f"{cache_key(self.model, texts)[:32]}-rows.npz"
        if path.exists():
            rows = sp.load_npz(path).tocsr()
            if rows.shape[0] == len(texts):
                return rows
        rows = self._rows(texts, self.sentence_vectors(texts))
        buffer = io.BytesIO()
        sp.save_npz(buffer, rows, compressed=False)
        atomic_write_bytes(path, buffer.getvalue())
        return rows
