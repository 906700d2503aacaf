"""Test data from the shared folder: TREC-6, whole or cut down so that a run starts in seconds; the
repository's root; the gold labels a learner awaits."""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from common.corpus import Corpus

if TYPE_CHECKING:
    from common.spec import RunSpec
    from trainer.learner import Learner

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root."""
TREC = ROOT.parent / "shared" / "data" / "trec6"
TREC_FILES = ("train_5500.label", "TREC_10.label")


def small_trec(folder: Path, train: int = 300, test: int = 100) -> Path:
    """A TREC folder in ``folder`` with the first ``train`` training and ``test`` test questions."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in zip(TREC_FILES, (train, test), strict=True):
        text = (TREC / name).read_text(encoding="latin-1").splitlines(keepends=True)[:lines]
        (folder / name).write_text("".join(text), encoding="latin-1")
    return folder


VARIANTS = ("", " today", " again", " they said")


def topic_corpus(topics: dict[str, list[str]], variants: Sequence[str] = VARIANTS, test: int = 9) -> Corpus:
    """A tiny corpus: each sentence of each topic with each variant appended, variant by variant;
    the first ``test`` texts with " now" appended form the test split."""
    pairs = [(s + variant, label) for variant in variants for label, said in topics.items() for s in said]
    texts, labels = [text for text, _ in pairs], [label for _, label in pairs]
    return Corpus(texts, labels, [text + " now" for text in texts[:test]], labels[:test])


def clustered_pool(
    folder: Path, model: str, size: int = 200, classes: int = 2
) -> tuple[list[str], list[int]]:
    """Texts ``item N`` whose cached embeddings (in ``folder``, for ``model``) cluster by a random
    class: the embeddings backend learns them in milliseconds, without an encoder."""
    from trainer.backends.encoder import cache_path, write_atomically

    rng = np.random.default_rng(0)
    gold = rng.integers(classes, size=size)
    texts = [f"item {index}" for index in range(size)]
    centres = rng.normal(scale=3.0, size=(classes, 8))
    vectors = rng.normal(size=(size, 8)) + centres[gold]
    write_atomically(cache_path(folder, model, texts), vectors.astype(np.float32))
    return texts, [int(label) for label in gold]


def learner_on_texts_alone(folder: Path, spec: "RunSpec", names: list[str]) -> tuple["Learner", list[str]]:
    """A learner on a :func:`clustered_pool` without labels or test split, and the pool's gold labels."""
    from trainer.learner import Learner

    texts, gold = clustered_pool(folder, spec.model, classes=len(names))
    corpus = Corpus(texts, [None] * len(texts), [], [])
    return Learner.build(spec, corpus, names, folder, "cpu"), [names[label] for label in gold]


def gold(learner: "Learner") -> list[str | None]:
    """The gold labels of the batch ``learner`` awaits, from its own corpus, in the order it expects them."""
    return [learner.corpus.train_labels[index] for index in learner.awaiting]
