"""TF-IDF n-gram features; each vectorizer is fitted once per run, on its pool, and kept in the run dir."""

import io
import pickle
from pathlib import Path
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_union

from common.files import atomic_write_bytes, text_digest

FOLDER = "tfidf"
START = "xxstart"
"""A token before every text, so the bigrams of opening words ("xxstart who") are features of their own."""
VECTORIZER_FILE = "vectorizer.pkl"
NGRAMS_FILE = "ngrams.pkl"
MAX_CHAR_FEATURES = 50_000
"""The most frequent character n-grams kept: a 1M-text pool has millions, and rare ones teach nothing."""

Vectorizer: TypeAlias = TfidfVectorizer | FeatureUnion


def new_vectorizer() -> TfidfVectorizer:
    """Unigrams and bigrams seen at least twice, stop words kept: "who", "how many" carry the class."""
    return TfidfVectorizer(
        preprocessor=mark_start,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float64,
    )


def new_char_vectorizer() -> TfidfVectorizer:
    """Character 2-4-grams inside word boundaries: spelling variants, inflections and typos share them."""
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        sublinear_tf=True,
        min_df=2,
        max_features=MAX_CHAR_FEATURES,
        dtype=np.float64,
    )


def new_ngrams() -> FeatureUnion:
    """Word and character n-grams side by side: ``[words | chars]``, each row block unit-normed."""
    return make_union(new_vectorizer(), new_char_vectorizer())


def mark_start(text: str) -> str:
    """The text lower-cased, after the start token (module-level, so the vectorizer pickles)."""
    return f"{START} {text.lower()}"


def run_vectorizer(run_dir: Path, texts: list[str], file: str = VECTORIZER_FILE) -> Vectorizer:
    """The run's vectorizer: read from the run dir, or fitted on ``texts`` (the pool) and stored there.

    ``file`` names it: the word vectorizer (``VECTORIZER_FILE``) or words and characters (``NGRAMS_FILE``).
    """
    path = run_dir / FOLDER / file
    if path.exists():
        with path.open("rb") as handle:
            vectorizer: Vectorizer = pickle.load(handle)
        return vectorizer
    fitted = (new_ngrams() if file == NGRAMS_FILE else new_vectorizer()).fit(texts)
    atomic_write_bytes(path, pickle.dumps(fitted))
    return fitted


def cached_words(run_dir: Path, vectorizer: Vectorizer, texts: list[str]) -> sp.csr_matrix:
    """The TF-IDF rows of ``texts``, read from the run dir's cache or computed and stored there."""
    path = run_dir / FOLDER / f"{texts_key(texts)}.npz"
    if path.exists():
        matrix = sp.load_npz(path).tocsr()
        if matrix.shape[0] == len(texts):
            return matrix
    matrix = sp.csr_matrix(vectorizer.transform(texts))
    buffer = io.BytesIO()
    sp.save_npz(buffer, matrix)
    atomic_write_bytes(path, buffer.getvalue())
    return matrix


def texts_key(texts: list[str]) -> str:
    """Digest of the exact texts, in order."""
    return text_digest(texts)[:32]
