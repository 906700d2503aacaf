"""Accuracy against labels: one configuration against random sampling and Argilla's small-text tutorial.

Every curve is the trainer's own headless loop (``trainer.headless.run_headless``) with the gold
labels as the annotator. The tutorial baseline is small-text's defaults as Argilla's tutorial uses
them: the ``transformer`` backend (full fine-tuning, 10 epochs) with the MiniLM, BreakingTies, a
random batch 0 of 20 and batches of 20. It is slow on CPU: on 2 busy cores each round took 45-165 s
of training and 10-39 s of scoring TREC's 5.4k texts, 27 minutes for one seed to 260 labels; so it
has its own seed count and label limit, and ``--baseline-from`` reuses an earlier run's curve.
The JSON is rewritten after every round, so an interrupted run keeps what it measured. On a busy
machine run with ``OMP_NUM_THREADS=1``: two BLAS threads fighting for the cores slowed logistic
regression here by far more than they ever gain on a few hundred labels.
"""

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.output import console, show, write_json
from common.corpus import Corpus, read_corpus
from common.files import atomic_write_text
from common.spec import Backend, DatasetSource, InitialBatch, RunSpec
from trainer.headless import Round, TwoSpeedRound, run_headless, run_two_speed

TUTORIAL_BACKEND = Backend.transformer
TUTORIAL_STRATEGY = "BreakingTies"
TUTORIAL_BATCH_SIZE = 20


DEFAULT_SHARE: float = RunSpec.model_fields["heavy_share"].default


@dataclass(frozen=True)
class Config:
    """One curve to measure: who it is in the comparison and what the loop runs with."""

    role: str  # chosen | random | tutorial | a compared backend's name
    backend: Backend
    strategy: str
    batch_size: int
    initial_batch: InitialBatch
    seeds: int
    max_labels: int
    eval_size: int = 0
    """An evaluation sample of this size (``--eval-sample``): drawn, asked and estimated as a run
    without a test split would, while the test split still gives the truth."""
    heavy_backend: Backend | None = None
    seconds_per_label: float | None = None
    """Two-speed learning (``--seconds-per-label``): ``heavy_backend`` trains in the background
    against an annotator who takes this long a text, on a simulated clock."""
    heavy_share: float | None = None
    """``RunSpec.heavy_share`` of two-speed runs (``--heavy-share``); None: the default's."""
    neighbours: bool = True
    """Neighbour averaging (``RunSpec.neighbours``)."""

    @property
    def name(self) -> str:
        return f"{self.role}: {self.backend.value}/{self.strategy}"

    @property
    def iterations(self) -> int:
        return max(self.max_labels // self.batch_size - 1, 0)


def curve(
    config: Config,
    seed: int,
    source: DatasetSource,
    corpus: Corpus,
    cache: Path,
    device: str,
    on_round: Callable[[Round], None] | None = None,
) -> dict[str, Any]:
    """One seed of one configuration, as a JSON result."""
    spec = RunSpec(
        name="bench",
        dataset=source,
        backend=config.backend,
        query_strategy=config.strategy,
        batch_size=config.batch_size,
        initial_batch=config.initial_batch,
        stopping_criterion=None,
        eval_size=config.eval_size,
        heavy_backend=config.heavy_backend,
        neighbours=config.neighbours,
        seed=seed,
        heavy_share=DEFAULT_SHARE if config.heavy_share is None else config.heavy_share,
    )
    # One run dir per backend, shared by seeds and roles, so the pool's features are computed once.
    folder = cache / config.backend.value
    if config.seconds_per_label is not None:
        pace = config.seconds_per_label
        rounds: Sequence[Round] = run_two_speed(
            spec, corpus, config.iterations, folder, pace, device, on_round
        )
    else:
        rounds = run_headless(spec, corpus, config.iterations, folder, device, on_round, config.eval_size > 0)
    return result(config, seed, rounds)


def result(config: Config, seed: int, rounds: Sequence[Round]) -> dict[str, Any]:
    return (
        {
            "role": config.role,
            "backend": config.backend.value,
            "strategy": config.strategy,
            "initial_batch": config.initial_batch.value,
            "batch_size": config.batch_size,
            "seed": seed,
            "labels": [item.labels for item in rounds],
            "accuracy": [item.accuracy for item in rounds],
            "macro_f1": [item.macro_f1 for item in rounds],
            "update_s": [item.update_s for item in rounds],
            "query_s": [item.query_s for item in rounds],
        }
        | (estimates(rounds) if config.eval_size else {})
        | two_speed(config, rounds)
    )


def two_speed(config: Config, rounds: Sequence[Round]) -> dict[str, Any]:
    """Each model's accuracy, which one served, how many batches the background one lagged, and
    the simulated clock; ``accuracy`` is then the serving model's."""
    if config.seconds_per_label is None:
        return {}
    found = [item for item in rounds if isinstance(item, TwoSpeedRound)]
    return {
        "heavy_backend": config.heavy_backend.value if config.heavy_backend else None,
        "seconds_per_label": config.seconds_per_label,
        "heavy_share": config.heavy_share,
        "fast_accuracy": [item.fast.accuracy for item in found],
        "heavy_accuracy": [item.heavy.accuracy if item.heavy else None for item in found],
        "heavy_labels": [item.heavy.labels if item.heavy else None for item in found],
        "served_by": [item.served_by for item in found],
        "lag": [item.lag for item in found],
        "clock_s": [item.clock_s for item in found],
        "heavy_train_s": [item.heavy_s[0] if item.heavy_s else None for item in found],
        "heavy_score_s": [item.heavy_s[1] if item.heavy_s else None for item in found],
        "heavy_fast_weight": [item.heavy_fast_weight for item in found],
    }


def estimates(rounds: Sequence[Round]) -> dict[str, list[Any]]:
    """What the evaluation sample estimated each round, and the records annotators labelled."""
    found = [item.estimate for item in rounds if item.estimate is not None]
    return {
        "annotated": [item.labels + (item.estimate.eval_n if item.estimate else 0) for item in rounds],
        "eval_n": [item.eval_n for item in found],
        "estimate": [item.accuracy for item in found],
        "estimate_low": [item.accuracy_low for item in found],
        "estimate_high": [item.accuracy_high for item in found],
    }


def estimate_quality(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """How far the sample's estimates are from the test accuracy, over every round of every seed
    with an estimate: mean absolute error, and the share of 95 % intervals that hold the truth."""
    errors: list[float] = []
    held: list[bool] = []
    for item in results:
        for truth, value, low, high in zip(
            item["accuracy"], item["estimate"], item["estimate_low"], item["estimate_high"], strict=True
        ):
            if value is not None:
                errors.append(abs(value - truth))
                held.append(low <= truth <= high)
    return {"mae": mean(errors), "coverage": mean([float(h) for h in held]), "rounds": float(len(errors))}


def cost_rows(configs: Sequence[Config], results: Sequence[dict[str, Any]]) -> list[list[object]]:
    """Per sampled configuration: the estimate's quality, and test accuracy against the records
    annotators labelled, beside the same configuration without a sample at equal effort."""
    rows: list[list[object]] = []
    for config in configs:
        if not config.eval_size:
            continue
        own = [r for r in results if r["role"] == config.role]
        quality = estimate_quality(own)
        by_effort = mean_curve([{**r, "labels": r["annotated"]} for r in own])
        unsampled = mean_curve([r for r in results if r["role"] == "chosen"])
        common = sorted(set(by_effort) & set(unsampled))
        at = common[-1] if common else None
        rows.append(
            [
                config.name,
                quality["mae"],
                quality["coverage"],
                int(quality["rounds"]),
                max((n for r in own for n in r["eval_n"]), default=0),
                at if at is not None else "-",
                unsampled.get(at, "-") if at is not None else "-",
                by_effort.get(at, "-") if at is not None else "-",
            ]
        )
    return rows


def mean_curve(results: Sequence[dict[str, Any]]) -> dict[int, float]:
    """Mean accuracy per label count, over the results (seeds) that reached it."""
    by_labels: dict[int, list[float]] = {}
    for item in results:
        for labels, accuracy in zip(item["labels"], item["accuracy"], strict=True):
            by_labels.setdefault(labels, []).append(accuracy)
    return {labels: float(np.mean(values)) for labels, values in sorted(by_labels.items())}


def columns_for(label_counts: Sequence[int], batch_size: int) -> list[int]:
    """Label counts worth a column: every other batch up to 13 batches, then each 100, and the last."""
    last = max(label_counts, default=0)
    return [
        labels
        for labels in sorted(set(label_counts))
        if (labels <= 13 * batch_size and (labels // batch_size) % 2 == 1)
        or labels % 100 == 0
        or labels == last
    ]


def report(configs: Sequence[Config], results: Sequence[dict[str, Any]], batch_size: int) -> None:
    """Mean accuracy per configuration, the chosen one's ratios to the baselines, and timings."""
    # At equal effort: a sampled run's labels count the evaluation sample's answers too.
    curves = {
        config.role: mean_curve(
            [{**r, "labels": r.get("annotated", r["labels"])} for r in results if r["role"] == config.role]
        )
        for config in configs
    }
    points = columns_for([labels for curve_ in curves.values() for labels in curve_], batch_size)
    rows: list[list[object]] = []
    for config in configs:
        rows.append([config.name, config.seeds, *(curves[config.role].get(p, "-") for p in points)])
    for config in configs:
        if config.seconds_per_label is not None:  # what the background model adds to the fast one
            rows.append(ratio_row(curves, config.role, "chosen", points))
    for config in configs:
        if config.role != "chosen" and config.seconds_per_label is None:
            rows.append(ratio_row(curves, "chosen", config.role, points))
    show("mean test accuracy by records labelled", ["configuration", "seeds", *map(str, points)], rows)
    timing_rows: list[list[object]] = []
    for config in configs:
        own = [r for r in results if r["role"] == config.role]
        update = [s for r in own for s in r["update_s"]]
        query = [s for r in own for s in r["query_s"][1:]]  # batch 0 needs no model
        timing_rows.append(
            [config.name, mean(update), max(update, default=0.0), mean(query), max(query, default=0.0)]
        )
    show(
        "seconds per round",
        ["configuration", "update mean", "update max", "query mean", "query max"],
        timing_rows,
    )
    sampled = cost_rows(configs, results)
    if sampled:
        show(
            "evaluation sample: estimate against the test split, and its cost",
            ["configuration", "MAE", "95 % coverage", "rounds", "sample labels", "annotated",
             "test acc. without sample", "test acc. with sample"],
            sampled,
        )  # fmt: skip


def ratio_row(
    curves: dict[str, dict[int, float]], role: str, baseline: str, points: list[int]
) -> list[object]:
    """``role``'s mean accuracy over ``baseline``'s at each of ``points``."""
    own, other = curves.get(role, {}), curves.get(baseline, {})
    return [f"{role} / {baseline}", "", *(ratio(own.get(p), other.get(p)) for p in points)]


def ratio(value: float | None, baseline: float | None) -> object:
    return value / baseline if value is not None and baseline else "-"


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def read_baseline(path: Path) -> list[dict[str, Any]]:
    """The tutorial results of an earlier ``--json`` output, marked with where they come from."""
    earlier = json.loads(path.read_text())["results"]
    return [{**item, "from": str(path)} for item in earlier if item.get("role") == "tutorial"]


def run(
    dataset: Annotated[
        str, typer.Option(help="TREC folder, label folders, or a CSV/JSONL/Parquet train file.")
    ],
    backend: Annotated[
        Backend, typer.Option(help="Backend of the configuration under test (default: the CPU default).")
    ] = Backend.auto,
    compare: Annotated[
        list[Backend] | None,
        typer.Option(help="Also measure these backends with the same strategy and seeds (repeatable)."),
    ] = None,
    strategy: Annotated[str, typer.Option(help="small-text query strategy under test.")] = "BreakingTies",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds of the configuration and of random.")] = 3,
    first_seed: Annotated[
        int,
        typer.Option(min=0, help="The first seed: seeds run from it on (to add seeds to an earlier run)."),
    ] = 0,
    max_labels: Annotated[int, typer.Option(min=1, help="Labels at the end of each curve.")] = 500,
    batch_size: Annotated[int, typer.Option(min=1)] = 20,
    initial_batch: Annotated[InitialBatch, typer.Option(help="How batch 0 is chosen.")] = InitialBatch.random,
    test: Annotated[str | None, typer.Option(help="Test file, for a CSV/JSONL/Parquet dataset.")] = None,
    text_column: Annotated[str, typer.Option()] = "text",
    label_column: Annotated[str | None, typer.Option()] = None,
    random: Annotated[bool, typer.Option("--random/--no-random", help="Compare with RandomSampling.")] = True,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Compare with the tutorial (slow on CPU).")
    ] = True,
    baseline_seeds: Annotated[int, typer.Option(min=1, help="Seeds of the tutorial baseline.")] = 1,
    baseline_max_labels: Annotated[int, typer.Option(min=1, help="Labels at the end of its curve.")] = 260,
    baseline_from: Annotated[
        Path | None, typer.Option(help="Take the tutorial's results from an earlier --json file instead.")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Keep pool features here between invocations; default: a temp dir.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    eval_sample: Annotated[
        int,
        typer.Option(
            min=0,
            help="Also run the configuration with an evaluation sample of this size: how close its "
            "estimate comes to the test accuracy, and what it costs in labels.",
        ),
    ] = 0,
    seconds_per_label: Annotated[
        list[float] | None,
        typer.Option(
            help="Also run two-speed learning (--heavy-backend in the background) against an annotator "
            "taking this many seconds a text, on a simulated clock (repeatable)."
        ),
    ] = None,
    heavy_backend: Annotated[
        Backend, typer.Option(help="The background model of two-speed runs.")
    ] = Backend.setfit,
    heavy_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of each batch the background model's scores choose in two-speed "
            "runs (default: the run default's).",
        ),
    ] = None,
    without_neighbours: Annotated[
        bool,
        typer.Option(
            "--without-neighbours",
            help="Also measure the configuration under test without neighbour averaging.",
        ),
    ] = False,
) -> None:
    """Learning curves of one configuration, random sampling and the small-text tutorial."""
    source = DatasetSource(path=dataset, test=test, text_column=text_column, label_column=label_column)
    corpus = read_corpus(source)
    chosen = Config(
        "chosen", backend, strategy, batch_size, initial_batch, seeds, max_labels, heavy_share=heavy_share
    )
    configs = compared_configs(
        chosen, compare or [], eval_sample, seconds_per_label or [], heavy_backend, random, without_neighbours
    )
    tutorial = Config(
        "tutorial",
        TUTORIAL_BACKEND,
        TUTORIAL_STRATEGY,
        TUTORIAL_BATCH_SIZE,
        InitialBatch.random,
        baseline_seeds,
        baseline_max_labels,
    )
    earlier = read_baseline(baseline_from) if baseline and baseline_from is not None else []
    if baseline:
        configs.append(tutorial)
    measured = [c for c in configs if not (c.role == "tutorial" and earlier)]
    header = {"dataset": dataset, "pool": len(corpus.train_texts), "test": len(corpus.test_texts)}

    def save(results: list[dict[str, Any]]) -> None:
        if json_path is not None:
            atomic_write_text(json_path, json.dumps(header | {"results": results}, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="al-curve-") as scratch:
        results = measure(
            measured, source, corpus, cache_dir or Path(scratch), device, earlier, save, first_seed
        )
    report(configs, results, batch_size)
    write_json(json_path, header | {"results": results})


def compared_configs(
    chosen: Config,
    compare: Sequence[Backend],
    eval_sample: int,
    paces: Sequence[float],
    heavy_backend: Backend,
    random: bool,
    without_neighbours: bool = False,
) -> list[Config]:
    """The configuration under test and the curves it is compared with, in the order they run."""
    configs = [chosen]
    if without_neighbours:
        configs.append(replace(chosen, role="no neighbours", neighbours=False))
    configs += [
        replace(chosen, role=other.value, backend=other) for other in compare if other != chosen.backend
    ]
    if eval_sample:
        configs.append(replace(chosen, role="eval-sample", eval_size=eval_sample))
    configs += [
        replace(
            chosen, role=f"two-speed {pace:g} s/label", heavy_backend=heavy_backend, seconds_per_label=pace
        )
        for pace in paces
    ]
    if random and chosen.strategy != "RandomSampling":
        configs.append(replace(chosen, role="random", strategy="RandomSampling"))
    return configs


def measure(
    configs: Sequence[Config],
    source: DatasetSource,
    corpus: Corpus,
    cache: Path,
    device: str,
    earlier: list[dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    first_seed: int = 0,
) -> list[dict[str, Any]]:
    """Every seed of every configuration after ``earlier``, seeds counted from ``first_seed``, with a
    progress bar per configuration.

    ``save`` gets the results after every round, the unfinished curve included, so an interrupted
    run keeps what it measured.
    """
    results = list(earlier)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        tasks = {c: progress.add_task(c.name, total=c.seeds * (c.iterations + 1)) for c in configs}
        for config in configs:
            for seed in range(first_seed, first_seed + config.seeds):
                rounds: list[Round] = []

                def advance(
                    done: Round, config: Config = config, seed: int = seed, rounds: list[Round] = rounds
                ) -> None:
                    rounds.append(done)
                    progress.advance(tasks[config])
                    save([*results, result(config, seed, rounds)])

                results.append(curve(config, seed, source, corpus, cache, device, advance))
    return results
