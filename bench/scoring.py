"""`scoring`: how long the transformer backend takes to score a pool, small-text's way and the fast way.

Same process, same trained model, same texts: small-text's ``predict_proba`` (every text padded to
``max_length``, fixed-size batches) against the backend's (length-sorted batches cut to their longest
text). The probabilities must agree. Tokenizing the pool is timed the same way: small-text's
``TransformersDataset.from_arrays`` (one text at a time) against one batched call, and a cache hit.
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import typer
from small_text.integrations.transformers import TransformerBasedClassification, TransformersDataset

from bench.output import console, show, write_json
from common.corpus import read_corpus
from common.spec import DEFAULT_MODEL, DatasetSource
from trainer.backends import BackendOptions
from trainer.backends.devices import resolve_device
from trainer.backends.fast_inference import use_available_cores
from trainer.backends.tokens import cached_tokens, load_tokenizer, tokenize, transformers_dataset
from trainer.backends.transformer import FastTransformerClassification, TransformerBackend

T = TypeVar("T")


def run(
    dataset: str = typer.Option(..., "--dataset", help="Data to score (TREC folder, CSV, …)."),
    pool: int = typer.Option(None, "--pool", help="Score only the first N training texts (default: all)."),
    labels: int = typer.Option(60, "--labels", help="Labelled texts the model is fine-tuned on first."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    json_file: Path = typer.Option(None, "--json", help="Write the results here."),
) -> None:
    """Pool scoring time of small-text's predict_proba against the fast path, and their agreement."""
    corpus = read_corpus(DatasetSource(path=dataset))
    texts = corpus.train_texts[:pool] if pool else corpus.train_texts
    label_names = corpus.label_names()
    resolved = resolve_device(device)
    use_available_cores()
    with tempfile.TemporaryDirectory(prefix="alloop-scoring-") as run_dir:
        backend = TransformerBackend(
            DEFAULT_MODEL, label_names, Path(run_dir), resolved, BackendOptions(num_epochs=1)
        )
        tokenizing = time_tokenizing(backend, texts)
        gold = corpus.gold("bench scoring")
        classifier = trained_classifier(backend, corpus.train_texts, gold, labels)
        scored = backend.dataset(texts)
        default_first_s, (default_s, default_cpu_s, default) = timed_twice(
            lambda: TransformerBasedClassification.predict_proba(classifier, scored)
        )
        fast_first_s, (fast_s, fast_cpu_s, fast) = timed_twice(lambda: classifier.predict_proba(scored))
    result = {
        "dataset": dataset,
        "pool": len(texts),
        "model": DEFAULT_MODEL,
        "device": resolved,
        "threads": torch.get_num_threads(),
        "max_length": backend.max_length,
        "default_s": default_s,
        "fast_s": fast_s,
        "default_first_s": default_first_s,
        "fast_first_s": fast_first_s,
        "speedup": default_s / fast_s,
        "default_cpu_s": default_cpu_s,
        "fast_cpu_s": fast_cpu_s,
        "default_texts_per_s": len(texts) / default_s,
        "fast_texts_per_s": len(texts) / fast_s,
        "max_abs_diff": float(np.abs(default - fast).max()),
        "argmax_agreement": float((default.argmax(axis=1) == fast.argmax(axis=1)).mean()),
        "tokens": token_counts(scored),
        "tokenize_s": tokenizing,
    }
    show_result(result)
    write_json(json_file, result)


def timed(call: Callable[[], T]) -> tuple[float, float, T]:
    """Wall-clock seconds, CPU seconds of this process (all threads; robust to a busy machine), result."""
    started, cpu = time.perf_counter(), time.process_time()
    value = call()
    return time.perf_counter() - started, time.process_time() - cpu, value


def timed_twice(call: Callable[[], T]) -> tuple[float, tuple[float, float, T]]:
    """The first call's seconds, then :func:`timed` of a second call.

    A first call pays one-time costs (on CUDA, loading the kernels of its precision and shapes);
    the second is what a worker scoring batch after batch sees.
    """
    first_s, _, _ = timed(call)
    return first_s, timed(call)


def time_tokenizing(backend: TransformerBackend, texts: list[str]) -> dict[str, float]:
    """Seconds to tokenize ``texts``: small-text's way, one batched call, and a cache hit."""
    tokenizer = load_tokenizer(backend.model)
    unlabelled = np.zeros(len(texts), dtype=int)
    small_text_s, _, _ = timed(
        lambda: TransformersDataset.from_arrays(
            texts, unlabelled, tokenizer, target_labels=backend.target_labels, max_length=backend.max_length
        )
    )
    batched_s, _, _ = timed(lambda: tokenize(backend.model, texts, backend.max_length))
    cached_tokens(backend.run_dir, backend.model, texts, backend.max_length)
    cached_s, _, _ = timed(lambda: backend.dataset(texts, cache=True))
    return {"small_text": small_text_s, "batched": batched_s, "cached": cached_s}


def trained_classifier(
    backend: TransformerBackend, texts: list[str], gold: list[str], count: int
) -> FastTransformerClassification:
    """The backend's classifier fine-tuned for one epoch on ``count`` random labelled texts."""
    chosen = np.random.default_rng(0).choice(len(texts), size=min(count, len(texts)), replace=False)
    y = np.array([backend.label_names.index(gold[index]) for index in chosen])
    tokens = tokenize(backend.model, [texts[index] for index in chosen], backend.max_length)
    classifier = backend.classifier_factory().new()
    with console.status(f"fine-tuning on {len(chosen)} labels"):
        classifier.fit(transformers_dataset(tokens, y, backend.target_labels))
    return classifier


def token_counts(dataset: Any) -> dict[str, int]:
    """Tokens small-text runs through the model (padded) and the texts' own."""
    mask = torch.cat([row[1] for row in dataset.data])
    return {"padded": int(mask.numel()), "real": int(mask.sum())}


def show_result(result: dict[str, Any]) -> None:
    pool = result["pool"]
    rows: list[list[object]] = [
        ["small-text predict_proba", result["default_s"], pool / result["default_s"], 1.0,
         result["default_cpu_s"], result["default_first_s"]],
        ["fast path", result["fast_s"], pool / result["fast_s"], result["speedup"], result["fast_cpu_s"],
         result["fast_first_s"]],
    ]  # fmt: skip
    show(f"scoring {pool} texts ({result['device']}, {result['threads']} threads; the second call)",
         ["path", "seconds", "texts/s", "speedup", "CPU seconds", "first call s"], rows)  # fmt: skip
    tokenizing = result["tokenize_s"]
    show("tokenizing the pool", ["way", "seconds"], [[way, seconds] for way, seconds in tokenizing.items()])
    console.print(
        f"max abs probability difference {result['max_abs_diff']:.2e}, "
        f"argmax agreement {result['argmax_agreement']:.4f}; tokens {result['tokens']}"
    )
