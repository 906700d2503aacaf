"""Sentence embeddings with sentence-transformers, computed once per model and text list."""

from functools import lru_cache
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

from common.files import atomic_file, text_digest
from trainer.backends.models import loading, model_identity, resolve_model
from trainer.backends.row_file import open_rows

ENCODE_BATCH_SIZE = 64


@lru_cache(maxsize=4)
def load_encoder(model: str, device: str) -> SentenceTransformer:
    """The sentence encoder for a spec's ``model`` on ``device`` (kept loaded for the process)."""
    with loading(model):
        return SentenceTransformer(resolve_model(model), device=device)


def encode(model: str, texts: list[str], device: str) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    encoder = load_encoder(model, device)
    vectors = encoder.encode(
        texts, batch_size=ENCODE_BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
    )
    return np.asarray(vectors, dtype=np.float32)


def cache_key(model: str, texts: list[str]) -> str:
    """Digest of the model's identity and the exact texts, in order."""
    return text_digest(texts, salt=model_identity(model))


def cache_path(run_dir: Path, model: str, texts: list[str]) -> Path:
    return run_dir / "embeddings" / f"{cache_key(model, texts)[:32]}.npy"


def cached_embeddings(run_dir: Path, model: str, texts: list[str], device: str) -> np.ndarray:
    """Embeddings of ``texts``, from the run dir's cache or computed and stored there atomically.

    The cache is mapped read-only rather than read (:func:`open_rows`): worker processes share one
    copy in the page cache instead of each holding its own, and a query that scores a subsample of a
    big pool reads just the subsample's rows.
    """
    path = cache_path(run_dir, model, texts)
    if path.exists():
        vectors = open_rows(path)
        if vectors.shape[0] == len(texts):
            return vectors
    write_atomically(path, encode(model, texts, device))
    return open_rows(path)


def write_atomically(path: Path, array: np.ndarray) -> None:
    """Save ``array`` so that readers see either no file or the complete one."""
    with atomic_file(path) as handle:
        np.save(handle, array)
