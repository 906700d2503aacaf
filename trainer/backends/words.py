"""TF-IDF word n-gram features; the vocabulary is fitted once per run, on its pool, kept in the run dir."""

import hashlib
import pickle
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

FOLDER = "tfidf"
START = "xxstart"
"""A token before every text, so the bigrams of opening words ("xxstart who") are features of their own."""
VECTORIZER_FILE = "vectorizer.pkl"


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


def mark_start(text: str) -> str:
    """The text lower-cased, after the start token (module-level, so the vectorizer pickles)."""
    return f"{START} {text.lower()}"


def run_vectorizer(run_dir: Path, texts: list[str]) -> TfidfVectorizer:
    """The run's vectorizer: read from the run dir, or fitted on ``texts`` (the pool) and stored there."""
    path = run_dir / FOLDER / VECTORIZER_FILE
    if path.exists():
        with path.open("rb") as handle:
            vectorizer: TfidfVectorizer = pickle.load(handle)
        return vectorizer
    vectorizer = new_vectorizer().fit(texts)
    write_atomically(path, pickle.dumps(vectorizer))
    return vectorizer


def cached_words(run_dir: Path, vectorizer: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix:
    """The TF-IDF rows of ``texts``, read from the run dir's cache or computed and stored there."""
    path = run_dir / FOLDER / f"{texts_key(texts)}.npz"
    if path.exists():
        matrix = sp.load_npz(path).tocsr()
        if matrix.shape[0] == len(texts):
            return matrix
    matrix = vectorizer.transform(texts).tocsr()
    with tempfile.NamedTemporaryFile(dir=_folder(path), suffix=".npz", delete=False) as handle:
        sp.save_npz(handle, matrix)
    Path(handle.name).replace(path)
    return matrix


def texts_key(texts: list[str]) -> str:
    """Digest of the exact texts, in order; length prefixes keep ["ab", "c"] and ["a", "bc"] apart."""
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()[:32]


def write_atomically(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=_folder(path), delete=False) as handle:
        handle.write(data)
    Path(handle.name).replace(path)


def _folder(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.parent
