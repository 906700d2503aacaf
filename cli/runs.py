"""Commands about runs: init, stop, resume, status, report, events, simulate."""

import csv
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rq import Worker

from common import events, logs
from common.connection import Connection, resolve_connection
from common.corpus import Corpus
from common.errors import UserError
from common.queues import train_queue
from common.runs import Run, RunPaths, RunRegistry, read_metrics
from common.settings import get_settings
from common.spec import RunSpec, load_spec
from trainer import eval_sample

console = Console()


def init(
    spec_file: Path = typer.Argument(None, help="YAML run spec; flags below override its values."),
    name: str = typer.Option(None, "--name", help="Run name."),
    dataset: str = typer.Option(
        None, "--dataset", help="TREC folder, CSV/JSONL/Parquet train file, or hf:NAME[:CONFIG]."
    ),
    test: str = typer.Option(None, "--test", help="Test file, for CSV/JSONL/Parquet data."),
    from_argilla: str = typer.Option(
        None,
        "--from-argilla",
        help="Read the pool from this Argilla dataset (in --workspace): its texts, its label question's "
        "labels, its submitted answers as the seed set. It is left untouched.",
    ),
    text_column: str = typer.Option(None, "--text-column"),
    label_column: str = typer.Option(None, "--label-column"),
    labels: str = typer.Option(
        None, "--labels", help="Comma-separated label names (default: from the data)."
    ),
    backend: str = typer.Option(
        None, "--backend", help="auto (default on CPU) | embeddings | hybrid | transformer | setfit"
    ),
    model: str = typer.Option(None, "--model", help="Model name or path."),
    strategy: str = typer.Option(None, "--strategy", help="small-text query strategy, e.g. BreakingTies."),
    batch_size: int = typer.Option(None, "--batch-size"),
    heavy_backend: str = typer.Option(
        None,
        "--heavy-backend",
        help="Background model of two-speed learning: setfit (ALLOOP_HEAVY_BACKEND), transformer, none.",
    ),
    subsample: int = typer.Option(None, "--subsample", help="Score at most this many pool items per query."),
    initial: str = typer.Option(None, "--initial", help="random | balanced | cold-start"),
    stopping: str = typer.Option(
        None, "--stopping", help="small-text stopping criterion, e.g. KappaAverage."
    ),
    workspace: str = typer.Option(None, "--workspace"),
    argilla_dataset: str = typer.Option(None, "--argilla-dataset"),
    min_submitted: int = typer.Option(None, "--min-submitted"),
    eval_size: int = typer.Option(
        None, "--eval-size", help="Without --test: texts in the evaluation sample (default 100; 0: none)."
    ),
    seed: int = typer.Option(None, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run if it exists."),
    replace: bool = typer.Option(
        False, "--replace", help="Delete an existing run of that name first (labels lost)."
    ),
) -> None:
    """Create a run: its Argilla dataset, its registry entry, and batch 0 for annotators."""
    overrides = {
        "name": name,
        "dataset.path": dataset,
        "dataset.test": test,
        "dataset.text_column": text_column,
        "dataset.label_column": label_column,
        "labels": labels.split(",") if labels else None,
        "backend": backend,
        "model": model,
        "query_strategy": strategy,
        "batch_size": batch_size,
        "heavy_backend": heavy_backend,
        "query_subsample": subsample,
        "initial_batch": initial,
        "stopping_criterion": stopping,
        "workspace": workspace,
        "argilla_dataset": argilla_dataset,
        "min_submitted": min_submitted,
        "eval_size": eval_size,
        "seed": seed,
    }
    if from_argilla is not None:
        if dataset is not None:
            raise UserError("give the pool as --dataset or as --from-argilla, not both")
        overrides["dataset.path"] = f"argilla:{from_argilla}"  # replaced by the snapshot's path
    if resume and replace:
        raise UserError("--resume and --replace exclude each other; pass one")
    settings = get_settings()
    spec = load_spec(spec_file, overrides, settings.heavy_backend)
    connection = resolve_connection(settings)
    from trainer import lifecycle  # the learning stack loads only here

    on_exists = lifecycle.OnExists.refuse
    if resume or replace:
        on_exists = lifecycle.OnExists.resume if resume else lifecycle.OnExists.replace
    with console.status("Creating run…") as status:
        started = lifecycle.create(
            settings,
            connection,
            spec,
            on_exists=on_exists,
            argilla_source=from_argilla,
            progress=status.update,
        )
    if started.corpus is None:
        console.print(f"run [bold]{spec.name}[/] resumed at batch {started.batch}")
        return
    print_created(started.spec, started.corpus, connection)


def print_created(spec: RunSpec, corpus: Corpus, connection: Connection) -> None:
    """What a new run's creator is told: the data's notes, the evaluation sample, where batch 0 is."""
    for note in corpus.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if eval_sample.wants_sample(spec, corpus):
        console.print(
            f"evaluation sample: {spec.eval_size} of them, {spec.eval_share} in each batch until all are "
            "labelled; never learned, they estimate the model's accuracy"
        )
    console.print(
        f"run [bold]{spec.name}[/] created: {len(corpus.train_texts)} texts to choose from; batch 0 is in "
        f"Argilla dataset [bold]{spec.dataset_name}[/] (workspace {spec.workspace}) at "
        f"{connection.argilla_api_url}"
    )


def stop(run: str = typer.Option(..., "--run", help="Run name.")) -> None:
    """End or pause a run: the watcher ignores it; queued work is kept. `alloop resume` takes it up again."""
    from trainer import lifecycle

    batch = lifecycle.stop(resolve_connection(get_settings()), run)
    console.print(f"run [bold]{run}[/] stopped at batch {batch}")


def resume(run: str = typer.Option(..., "--run", help="Run name.")) -> None:
    """Take a stopped run up again (also one its stopping criterion ended)."""
    settings = get_settings()
    from trainer import lifecycle

    batch = lifecycle.resume(settings, resolve_connection(settings), run)
    console.print(f"run [bold]{run}[/] resumed at batch {batch}")


def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every run with its batch, labels, last accuracy and state; queue depth and workers."""
    settings = get_settings()
    client = resolve_connection(settings).redis()
    queue = train_queue(client)
    table = Table(*STATUS_COLUMNS, title="alloop runs")
    rows = []
    for run in RunRegistry(client).all():
        row, cells = _status_of(run, read_metrics(RunPaths.of(settings.home, run.name)))
        rows.append(row)
        table.add_row(*cells)
    summary = {"runs": rows, "queue_depth": queue.count, "workers": Worker.count(queue=queue)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(table)
    console.print(f"queue depth: {summary['queue_depth']}   workers: {summary['workers']}")


STATUS_COLUMNS = ("run", "batch", "labelled", "last accuracy (95 %)", "rests on", "model", "state")


def _status_of(run: Run, recorded: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """A run's status as JSON and as table cells: its last figures are the serving model's."""
    last = recorded[-1] if recorded else {}
    figures = events.Evaluation.model_validate(last) if last else None
    labelled = last.get("labels", 0)
    served_by = str(last.get("served_by", "fast")) if last else "—"
    row = {
        "run": run.name,
        "batch": run.batch,
        "labelled": labelled,
        "served_by": served_by,
        **(figures.model_dump() if figures else {}),
        **{key: last.get(key) for key in ("fast_accuracy", "heavy_accuracy", "heavy_labels") if last},
        "state": run.state.value,
    }
    cells = [
        run.name,
        str(run.batch),
        str(labelled),
        figures.accuracy_text() if figures else "—",
        figures.basis if figures else "—",
        served_by,
        run.state.value,
    ]
    return row, cells


def report(
    run: str = typer.Option(..., "--run", help="Run name."),
    format_: str = typer.Option("png", "--format", help="png (a plot file) or csv (to stdout)."),
    output: Path = typer.Option(
        None, "--output", "-o", help="PNG path (default: the run folder's report.png)."
    ),
) -> None:
    """Accuracy against labels so far, from the run's metrics.jsonl (works with the services down)."""
    paths = RunPaths.of(get_settings().home, run)
    if not paths.root.exists():
        raise UserError(
            f"no run folder {paths.root}; is the run name right, and ALLOOP_HOME the same as for init?"
        )
    rows = read_metrics(paths)
    if format_ == "csv":
        writer = csv.DictWriter(sys.stdout, REPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(row.get(key)) for key in REPORT_COLUMNS})
        return
    if format_ != "png":
        raise UserError(f"unknown --format {format_!r}; use png or csv")
    if not rows:
        raise UserError(f"run {run!r} has no metrics yet: label batch 0 and let a worker train")
    from cli.plot import plot_curve

    target = output or paths.root / "report.png"
    figures = [events.Evaluation.model_validate(row) for row in rows]
    models = {  # rows before schema 3 have no fast_accuracy: their accuracy was the learner's
        "fast model (accuracy)": [row.get("fast_accuracy", row.get("accuracy")) for row in rows],
        "background model (accuracy)": [row.get("heavy_accuracy") for row in rows],
    }
    two_speed = any(value is not None for value in models["background model (accuracy)"])
    plot_curve(run, [row["labels"] for row in rows], figures, target, models if two_speed else None)
    console.print(f"wrote {target}")


REPORT_COLUMNS = [
    "batch", "labels", "evaluated_on", "eval_n", "accuracy", "accuracy_low", "accuracy_high",
    "macro_f1", "macro_f1_low", "macro_f1_high",
    "served_by", "fast_accuracy", "heavy_accuracy", "heavy_labels",
]  # fmt: skip
"""The serving model's figures, then each model's accuracy (two-speed learning)."""


def _cell(value: object) -> object:
    """A CSV cell: floats to 4 places, a missing figure empty."""
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else value


def show_events(
    run: str = typer.Option(None, "--run", help="Only this run's events."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    schema: bool = typer.Option(False, "--schema", help="Print the JSON Schema of the events and exit."),
) -> None:
    """Print the events on Redis, oldest first."""
    if schema:
        typer.echo(json.dumps(events.EVENT.json_schema(), indent=2))
        return
    client = resolve_connection(get_settings()).redis()
    after = "0"
    try:
        while True:
            batch = list(events.read(client, run, after=after, block_ms=1000 if follow else None))
            for entry_id, event in batch:
                after = entry_id
                typer.echo(event.model_dump_json()) if as_json else console.print(
                    _describe(event), highlight=False
                )
            if not batch and not follow:
                return
    except KeyboardInterrupt:
        return


def _describe(event: events.Event) -> str:
    hidden = {"version", "run", "at", "type", "per_class_f1", "timings"}
    if isinstance(event, events.Evaluation):
        hidden |= set(events.Evaluation.model_fields)  # shown as one summary instead
    details = event.model_dump(exclude=hidden)
    text = " ".join(f"{key}={value}" for key, value in details.items())
    if isinstance(event, events.Evaluation):
        text += f" {event.summary()}"
    return f"{event.at:%H:%M:%S} [bold]{event.type:<15}[/] {event.run}  {text}"


def simulate(
    run: str = typer.Option(..., "--run", help="Run name."),
    batches: int = typer.Option(1, "--batches", help="How many batches to label."),
    delay: float = typer.Option(0.0, "--delay", help="Seconds between two answers."),
    noise: float = typer.Option(0.0, "--noise", min=0.0, max=1.0, help="Share of wrong answers."),
    timeout: float = typer.Option(900, "--timeout", help="Seconds to wait for each next batch."),
    gold: Path = typer.Option(
        None, "--gold", help="CSV/JSONL/Parquet of text,label: the answers, for a pool without labels."
    ),
) -> None:
    """Label batches as a simulated annotator with the gold labels, waiting for each next batch."""
    from simulator import SimulatedAnnotator

    connection = resolve_connection(get_settings())
    logs.configure("WARNING", connection.secrets())
    annotator = SimulatedAnnotator(connection, run, noise=noise, delay=delay, gold=gold)
    columns = [
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("", total=batches)

        def advance(batch: int, answered: int) -> None:
            progress.update(task, advance=1, description=f"batch {batch}: {answered} answers")

        done = annotator.run(batches, timeout=timeout, on_batch=advance)
    console.print(f"labelled {done} batch(es) of run [bold]{run}[/]")
