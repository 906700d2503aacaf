"""`alloop export` and `alloop export-model`: take a run's labels and its trained model away."""

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from common.argilla_adapter import ArgillaAdapter
from common.checkpoints import INITIAL, CheckpointStore
from common.connection import resolve_connection
from common.export import export_labels, parse_format
from common.files import check_target
from common.runs import RunPaths, RunRegistry
from common.settings import Settings, get_settings
from common.spec import ModelChoice

console = Console()


def export(
    run: str = typer.Option(..., "--run", help="Run name."),
    format_: str = typer.Option(..., "--format", help="csv, parquet, or hf (a `datasets` folder)."),
    out: Path = typer.Option(..., "--out", help="File (csv, parquet) or folder (hf) to write."),
    force: bool = typer.Option(False, "--force", help="Replace what is at --out."),
) -> None:
    """Write the run's answered records: text, label, annotator, batch, and the suggestion shown."""
    fmt = parse_format(format_)
    check_target(out, force)
    settings = get_settings()
    connection = resolve_connection(settings)
    spec = RunRegistry(connection.redis()).get(run).spec
    adapter = ArgillaAdapter(connection)
    columns = [
        SpinnerColumn(),
        TextColumn("reading records from Argilla: {task.completed}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=None)
        summary = export_labels(
            adapter, spec, fmt, out, force, lambda: progress.advance(task), _eval_sample(settings, run)
        )
    batches = f"batches {summary.batches[0]}-{summary.batches[-1]}" if summary.batches else "no batch"
    seeds = f" and {summary.seeds} seed text(s)" if summary.seeds else ""
    if summary.eval_sample:
        seeds += f", {summary.eval_sample} of them the evaluation sample (column eval_sample)"
    console.print(
        f"wrote {summary.submitted} labelled and {summary.discarded} discarded record(s){seeds} of run "
        f"[bold]{run}[/] ({batches}) to {summary.path} ({fmt.value})",
        highlight=False,
    )


def _eval_sample(settings: Settings, run: str) -> list[int]:
    """The run's evaluation sample, from its initial checkpoint."""
    try:
        return CheckpointStore(RunPaths.of(settings.home, run).checkpoints).manifest(INITIAL).eval_sample
    except OSError:  # the run's folder is on another machine (its ALLOOP_HOME): rows go unmarked
        return []


def export_model(
    run: str = typer.Option(..., "--run", help="Run name."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model to."),
    batch: int = typer.Option(
        None,
        "--batch",
        help="The model after this batch (default: the newest); for heavy, its labels' last batch.",
    ),
    model: ModelChoice = typer.Option(
        ModelChoice.serving,
        "--model",
        help="serving: the model that chooses the next batch and suggests its labels; fast: the run's "
        "learner; heavy: the background model (two-speed runs).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace what is at --out."),
) -> None:
    """Write the run's trained model as a folder that transformers, sentence-transformers or SetFit loads."""
    from trainer.export import export_model as write_model  # the learning stack loads only here

    settings = get_settings()
    check_target(out, force)
    with console.status(f"Loading run {run}'s model and writing it to {out}…"):
        exported = write_model(settings.home, run, out, batch, force, settings.device, model)
    role = "background" if exported.which == "heavy" else "fast"
    serves = "serving" if exported.serving else "not serving"
    console.print(
        f"wrote the {role} ({serves}) {exported.backend} model of run [bold]{run}[/] "
        f"after batch {exported.batch} "
        f"({exported.model_version}; labels {', '.join(exported.labels)}) to {exported.path}; "
        f"it loads with {exported.loads_with} (see alloop.json)",
        highlight=False,
    )
