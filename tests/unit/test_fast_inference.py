"""The transformer backend's fast scoring path agrees with small-text's and keeps the caller's order."""

from pathlib import Path

import numpy as np
import pytest
from small_text.integrations.transformers import TransformerBasedClassification, TransformersDataset

from common.spec import DEFAULT_MODEL
from trainer.backends import BackendOptions
from trainer.backends.fast_inference import length_sorted_batches
from trainer.backends.tokens import cached_tokens, load_tokenizer, tokenize, tokens_path
from trainer.backends.transformer import FastTransformerClassification, TransformerBackend

MAX_LENGTH = 16
LABELS = ["a", "b", "c"]
# Varied lengths, the longest cut at MAX_LENGTH, in an order that is not sorted by length.
TEXTS = [
    "what is the capital city of france and why did it become the capital of that country",
    "who?",
    "how many legs does a spider have",
    "name a famous painter",
    "when",
    "which river flows through the middle of the old town of prague",
    "why is the sky blue",
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> TransformerBackend:
    run_dir = tmp_path_factory.mktemp("transformer")
    return TransformerBackend(DEFAULT_MODEL, LABELS, run_dir, "cpu", BackendOptions(max_length=MAX_LENGTH))


@pytest.fixture(scope="module")
def classifier(backend: TransformerBackend) -> FastTransformerClassification:
    """An untrained classifier: its head is random, but fixed, which is all the comparison needs."""
    classifier = backend.classifier_factory().new()
    classifier.initialize()
    return classifier


def test_probabilities_equal_small_texts_in_the_original_order(
    backend: TransformerBackend, classifier: FastTransformerClassification
) -> None:
    dataset = backend.dataset(TEXTS)
    default = TransformerBasedClassification.predict_proba(classifier, dataset)
    fast = classifier.predict_proba(dataset)
    assert fast.shape == (len(TEXTS), len(LABELS))
    np.testing.assert_allclose(fast, default, atol=1e-5)
    predictions, proba = classifier.predict(dataset[np.array([3, 0])], return_proba=True)
    np.testing.assert_allclose(proba, default[[3, 0]], atol=1e-5)
    assert predictions.tolist() == default[[3, 0]].argmax(axis=1).tolist()


def test_embeddings_do_not_depend_on_padding_or_batch_order(
    backend: TransformerBackend, classifier: FastTransformerClassification
) -> None:
    vectors, proba = classifier.embed(backend.dataset(TEXTS), return_proba=True)
    assert vectors.shape == (len(TEXTS), classifier.model.config.hidden_size)
    for index, text in enumerate(TEXTS):
        alone = classifier.embed(backend.dataset([text]))
        np.testing.assert_allclose(vectors[index], alone[0], atol=1e-4)
    np.testing.assert_allclose(proba, classifier.predict_proba(backend.dataset(TEXTS)), atol=1e-6)
    # A text that fills max_length has no padding, so small-text's own mean is the same.
    full = backend.dataset(TEXTS[:1])
    np.testing.assert_allclose(
        classifier.embed(full), TransformerBasedClassification.embed(classifier, full), atol=1e-4
    )


def test_batches_cover_every_row_once_within_the_token_budget() -> None:
    lengths = np.array([5, 30, 2, 2, 17, 64, 9, 30, 1])
    batches = length_sorted_batches(lengths, max_tokens=64, max_rows=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3 and len(batch) * lengths[batch].max() <= 64
    assert np.all(np.diff(lengths[np.concatenate(batches)]) >= 0)


def test_batched_tokenizing_matches_small_texts_and_is_cached(backend: TransformerBackend) -> None:
    tokens = tokenize(DEFAULT_MODEL, TEXTS, MAX_LENGTH)
    reference = TransformersDataset.from_arrays(
        TEXTS, np.zeros(len(TEXTS), dtype=int), load_tokenizer(DEFAULT_MODEL), np.arange(3), MAX_LENGTH
    )
    for row, (ids, mask, _) in enumerate(reference.data):
        assert tokens[0, row].tolist() == ids[0].tolist() and tokens[1, row].tolist() == mask[0].tolist()
    path: Path = tokens_path(backend.run_dir, DEFAULT_MODEL, TEXTS, MAX_LENGTH)
    assert not path.exists()
    backend.dataset(TEXTS, cache=True)
    assert path.exists()
    np.testing.assert_array_equal(cached_tokens(backend.run_dir, DEFAULT_MODEL, TEXTS, MAX_LENGTH), tokens)
