"""`heavy-budget`: what SetFit's budgets cost in accuracy and save in time.

For each label count, the same random labelled texts train SetFit (the background model) twice in
one process: bounded by its step and time budgets (the default) and unbounded (every oversampled
pair, as SetFit does by itself), up to ``--unbounded-up-to`` labels; the unbounded run grows with the square
of the labels. Both are scored on the test split; the pool's scoring time is timed for the bounded
one, since a background training ends with it.
"""

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from bench.output import console, show, write_json
from common.corpus import Corpus, read_corpus
from common.spec import DEFAULT_MODEL, DatasetSource
from trainer.backends import BackendOptions
from trainer.backends.devices import resolve_device
from trainer.backends.setfit import SetFitBackend, pair_steps


def run(
    dataset: str = typer.Option(..., "--dataset", help="Labelled data with a test split (TREC folder, …)."),
    labels: str = typer.Option("100,500", "--labels", help="Comma-separated label counts."),
    unbounded_up_to: int = typer.Option(100, "--unbounded-up-to", help="Train unbounded up to this many."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    json_file: Path = typer.Option(None, "--json", help="Write the results here."),
) -> None:
    """SetFit bounded by its budgets against unbounded, on the same labels: accuracy and time."""
    corpus = read_corpus(DatasetSource(path=dataset))
    resolved = resolve_device(device)
    rows = []
    for count in (int(part) for part in labels.split(",")):
        chosen = np.random.default_rng(seed).choice(len(corpus.train_texts), size=count, replace=False)
        for bounded in (True, False):
            if bounded or count <= unbounded_up_to:
                rows.append(trained(corpus, [int(i) for i in chosen], bounded, resolved, seed))
    compared = ratios(rows)
    result = {"dataset": dataset, "model": DEFAULT_MODEL, "device": resolved, "seed": seed}
    result |= {"runs": rows, "ratios": compared}
    show(
        f"SetFit on {dataset}: bounded against every pair (seed {seed})",
        ["labels", "bounded", "steps", "train s", "score pool s", "accuracy"],
        [[r["labels"], r["bounded"], r["steps"], r["train_s"], r["score_s"], r["accuracy"]] for r in rows],
    )
    for ratio in compared:
        console.print(
            f"{ratio['labels']} labels: bounded/unbounded time {ratio['time_ratio']:.2f}, "
            f"accuracy {ratio['accuracy_difference']:+.3f}"
        )
    write_json(json_file, result)


def trained(corpus: Corpus, chosen: list[int], bounded: bool, device: str, seed: int) -> dict[str, Any]:
    """Train SetFit on the ``chosen`` texts; its steps, times and test accuracy."""
    label_names = corpus.label_names()
    gold = corpus.gold("bench heavy-budget")
    y = np.array([label_names.index(gold[index]) for index in chosen])
    with tempfile.TemporaryDirectory(prefix="alloop-heavy-budget-") as run_dir:
        options = BackendOptions() if bounded else BackendOptions(step_budget=0, time_budget_s=0)
        backend = SetFitBackend(DEFAULT_MODEL, label_names, Path(run_dir), device, options)
        factory = backend.classifier_factory()
        factory.setfit_model_args.seed = seed
        classifier = factory.new()
        train = backend.dataset([corpus.train_texts[index] for index in chosen])
        train.y = y
        natural = pair_steps(y.tolist(), 16, 1)
        with console.status(f"SetFit on {len(chosen)} labels, {'bounded' if bounded else 'every pair'}"):
            started = time.perf_counter()
            classifier.fit(train)
            trained_at = time.perf_counter()
            if bounded:
                classifier.predict_proba(backend.dataset(corpus.train_texts))
            scored_at = time.perf_counter()
            predicted = classifier.predict(backend.dataset(corpus.test_texts))
    truth = np.array([label_names.index(label) for label in corpus.test_labels])
    return {
        "labels": len(chosen),
        "bounded": bounded,
        "steps": classifier.trained_steps,
        "pair_steps": natural,
        "train_s": trained_at - started,
        "score_s": scored_at - trained_at if bounded else None,
        "accuracy": float((np.asarray(predicted) == truth).mean()),
    }


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bounded against unbounded, where both ran on the same labels."""
    found = []
    for bounded in (row for row in rows if row["bounded"]):
        twin = next((r for r in rows if not r["bounded"] and r["labels"] == bounded["labels"]), None)
        if twin is not None:
            found.append(
                {
                    "labels": bounded["labels"],
                    "time_ratio": bounded["train_s"] / twin["train_s"],
                    "accuracy_difference": bounded["accuracy"] - twin["accuracy"],
                }
            )
    return found
