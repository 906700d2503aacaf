"""`latency`: how long annotators wait between finishing batch k and seeing batch k+1.

Everything real: the embedded Argilla, Redis, a watcher, a forking worker, and the simulated
annotator submitting through Argilla's HTTP API. The clock starts when the last response of batch
k has been accepted and stops when batch k+1's records are all visible through the SDK.
"""

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import redis
import typer
from rich.progress import Progress
from rq import Worker
from rq.job import Job
from rq.worker import WorkerStatus

from bench.live import LiveStack, live_stack
from bench.output import console, show, write_json
from common import events
from common.argilla_adapter import ArgillaAdapter
from common.queues import SERIALIZER, heavy_queue
from common.runs import RunRegistry, RunState
from common.spec import RunSpec, load_spec
from stack.process import terminate
from trainer.context import corpus_of

STEPS = ("detect", "pickup", "setup", "restore", "fetch", "train", "evaluate", "query", "checkpoint", "log")
"""detect: answered to queued; pickup: queued to rq starting the job; setup: the job until its restore
(settings, lock, registry, Argilla sign-in); log: the log and until the SDK sees every record."""


@dataclass(frozen=True)
class Wait:
    """One batch's wait, in seconds, with its parts (they add up to ``total``)."""

    batch: int
    total: float
    parts: dict[str, float]
    select: float = 0.0
    """``auto``'s cross-validation, after the log: not part of the wait, unless the next batch is
    answered before it ends (then the next job's pickup waits for it)."""
    heavy_busy: bool = False
    """Whether a background model was training on the same machine when the batch was answered."""


def run(
    dataset: str = typer.Option(..., "--dataset", help="Data of the run (TREC folder, CSV, …)."),
    iterations: int = typer.Option(10, "--iterations", help="Batches to time."),
    backend: str = typer.Option("auto", "--backend", help="The run's classifier backend."),
    interval: float = typer.Option(None, "--interval", help="Watcher poll seconds (default: settings')."),
    baseline_iterations: int = typer.Option(
        0,
        "--baseline-iterations",
        help="Also time this many batches of the tutorial's setup (transformer, 3 s poll) for a ratio.",
    ),
    heavy_backend: str = typer.Option(
        "none",
        "--heavy-backend",
        help="Time a two-speed run, this background model training on a heavy worker of the same "
        "machine, against the same batches of one-speed runs before and after it (setfit; none: one "
        "speed only).",
    ),
    json_file: Path = typer.Option(None, "--json", help="Write the results here."),
) -> None:
    """Time from a batch's last answer to the next batch visible, through the real stack."""
    heavy = None if heavy_backend == "none" else heavy_backend
    with live_stack() as stack:
        idle = measure(stack, "one-speed", dataset, iterations, backend, interval) if heavy else []
        floor = argilla_floor(stack, dataset, iterations)  # before a background model trains for good
        waits = measure(stack, "latency", dataset, iterations, backend, interval, heavy)
        # Again after it: a later run meets a fuller Argilla, so one before and one after bracket it.
        after = measure(stack, "one-speed-after", dataset, iterations, backend, interval) if heavy else []
        baseline = (
            measure(stack, "baseline", dataset, baseline_iterations, "transformer", 3.0)
            if baseline_iterations
            else []
        )
    rows = [[w.batch, w.total, *(w.parts[step] for step in STEPS), w.select, w.heavy_busy] for w in waits]
    columns = ["batch", "wait s", *STEPS, "select (after log)", "heavy busy"]
    show(f"latency per batch ({backend}{f' + {heavy}' if heavy else ''})", columns, rows)
    result = summarize(waits)
    setup = f"alloop, {heavy} training beside it" if heavy else "alloop"
    summary = [[setup, backend, result["p50_s"], result["p95_s"], result["max_s"], 1.0]]
    compared = {"one_speed": idle, "one_speed_after": after, "baseline": baseline}
    names = {
        "one_speed": ("alloop, no background model", backend),
        "one_speed_after": ("alloop, no background model, after", backend),
        "baseline": ("tutorial setup", "transformer"),
    }
    result["argilla_floor"] = percentiles(floor)
    summary.append(row(("Argilla alone: read, log, read", "—"), result["argilla_floor"], result))
    for key, measured in compared.items():
        if measured:
            result[key] = summarize(measured)
            summary.append(row(names[key], result[key], result))
    if heavy:
        result["heavy_backend"] = heavy
        result["heavy_busy_waits"] = sum(w.heavy_busy for w in waits)
    show("annotator wait (s)", ["setup", "backend", "p50", "p95", "max", "p50 / alloop's"], summary)
    write_json(json_file, result)


def row(name: tuple[str, str], figures: dict[str, Any], alloop: dict[str, Any]) -> list[object]:
    """A summary row: its percentiles and its p50 against the measured setup's."""
    return [*name, figures["p50_s"], figures["p95_s"], figures["max_s"], figures["p50_s"] / alloop["p50_s"]]


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_s": float(np.percentile(seconds, 50)),
        "p95_s": float(np.percentile(seconds, 95)),
        "max_s": max(seconds),
    }


def summarize(waits: list[Wait]) -> dict[str, Any]:
    totals = [wait.total for wait in waits]
    return {
        **percentiles(totals),
        "breakdown": {step: statistics.mean(w.parts[step] for w in waits) for step in STEPS},
        "select_after_log_s": statistics.mean(w.select for w in waits),
        "waits_s": totals,
    }


def measure(
    stack: LiveStack,
    name: str,
    dataset: str,
    iterations: int,
    backend: str,
    interval: float | None,
    heavy: str | None = None,
) -> list[Wait]:
    """Start a run with its own watcher and worker (and, for a ``heavy`` background model, a heavy
    worker beside them); label ``iterations`` batches and time each wait."""
    from simulator import SimulatedAnnotator

    with console.status(f"creating run {name} (embeds the pool the first time)…"):
        spec = stack.new_run(name, dataset, backend=backend, stopping_criterion="none", heavy_backend=heavy)
    annotator = SimulatedAnnotator(stack.connection, name)
    argilla = ArgillaAdapter(stack.connection)
    client = stack.connection.redis()
    waits = []
    with services(stack, name, interval, heavy), Progress(console=console) as progress:
        task = progress.add_task(f"{name}: timing batches", total=iterations)
        for batch in range(iterations):
            annotator.wait_for_batch(batch, timeout=900)
            after = events.last_id(client, name)
            annotator.label_batch(batch)
            answered = time.time()
            busy = heavy_busy(client)
            visible = wait_visible(argilla, client, spec, batch + 1, after)
            waits.append(replace(breakdown(client, name, batch, answered, visible), heavy_busy=busy))
            progress.advance(task)
    return waits


@contextmanager
def services(stack: LiveStack, run: str, interval: float | None, heavy: str | None) -> Iterator[None]:
    """A watcher and a train worker (and a heavy worker for a two-speed run) for the block; then
    they stop and so does ``run``, so that no run is timed beside an earlier one's watcher polling
    Argilla and taking its webhooks, or its workers."""
    pids = [
        stack.start_service("watcher", *(["--interval", str(interval)] if interval else [])),
        stack.start_service("worker", "--queues", "train"),
    ]
    stack.wait_for_workers(1)
    if heavy:
        pids.append(stack.start_service("worker", "--queues", "heavy"))
        stack.wait_for_workers(1, queue_of="heavy")
    try:
        yield
    finally:
        for pid in reversed(pids):
            terminate(pid)
        RunRegistry(stack.connection.redis()).set_state(run, RunState.stopped)


def heavy_busy(client: redis.Redis) -> bool:
    """Whether a worker of the heavy queue is training at this moment."""
    return any(worker.get_state() == WorkerStatus.BUSY for worker in Worker.all(queue=heavy_queue(client)))


def wait_visible(
    argilla: ArgillaAdapter, client: redis.Redis, spec: RunSpec, batch: int, after: str, timeout: float = 900
) -> float:
    """The time at which an SDK query returns every record of ``batch``.

    It queries once ``batch.logged`` is on the run's stream (and again while records are missing):
    searching Argilla all along would slow the very write it waits for.
    """
    deadline = time.monotonic() + timeout
    logged = False
    while not logged and time.monotonic() < deadline:
        entries = list(events.read(client, spec.name, after=after, block_ms=100))
        after = entries[-1][0] if entries else after
        logged = any(isinstance(e, events.BatchLogged) and e.batch == batch for _, e in entries)
    while time.monotonic() < deadline:
        if len(argilla.batch_records(spec, batch)) >= spec.batch_size:
            return time.time()
        time.sleep(0.05)
    raise TimeoutError(f"batch {batch} of {spec.name} did not appear within {timeout} s")


def argilla_floor(stack: LiveStack, dataset: str, iterations: int) -> list[float]:
    """What Argilla alone takes of one wait, on a dataset of its own in the same stack: reading a
    batch (the watcher's poll), logging the next with suggestions, and reading that one back."""
    spec = load_spec(None, {"name": "floor", "dataset.path": dataset, "workspace": "bench"})
    corpus = corpus_of(spec)
    labels = corpus.label_names()
    argilla = ArgillaAdapter(stack.connection)
    argilla.create_dataset(spec, labels)
    texts, size = corpus.train_texts, spec.batch_size
    suggestions = [(labels[0], 0.5)] * size

    def log(batch: int) -> None:
        indices = list(range(batch * size, (batch + 1) * size))
        argilla.log_batch(spec, batch, indices, [texts[i] for i in indices], suggestions, agent="floor")

    log(0)
    seconds = []
    for batch in range(1, iterations + 1):
        started = time.perf_counter()
        argilla.batch_records(spec, batch - 1)
        log(batch)
        if len(argilla.batch_records(spec, batch)) < size:
            raise RuntimeError(f"Argilla did not return batch {batch} of {spec.name} once logged")
        seconds.append(time.perf_counter() - started)
    return seconds


def breakdown(client: redis.Redis, run: str, batch: int, answered: float, visible: float) -> Wait:
    """Split one wait with the run's events: when the watcher saw it, what the job spent on each step."""
    completed = logged = updated = None
    deadline = time.monotonic() + 120
    while updated is None and time.monotonic() < deadline:  # model.updated follows the logging
        for _, event in events.read(client, run):
            if isinstance(event, events.BatchCompleted) and event.batch == batch:
                completed = event
            elif isinstance(event, events.BatchLogged) and event.batch == batch + 1:
                logged = event
            elif isinstance(event, events.ModelUpdated) and event.batch == batch:
                updated = event
        time.sleep(0.05)
    if completed is None or logged is None or updated is None:
        raise RuntimeError(f"run {run}: the events of batch {batch} are missing")
    timings = updated.timings
    steps = {step: getattr(timings, step) for step in STEPS[3:-1]}
    # batch.logged is published right after the log step, so the job's steps began that long before it.
    stepping = _seconds(logged.at) - sum(steps.values()) - timings.log
    job = Job.fetch(completed.job_id, connection=client, serializer=SERIALIZER)
    picked = _seconds(job.started_at) if job.started_at else stepping
    parts = {
        "detect": _seconds(completed.at) - answered,
        "pickup": picked - _seconds(completed.at),
        "setup": stepping - picked,
        **steps,
    }
    parts["log"] = visible - answered - sum(parts.values())  # logging until the SDK sees every record
    return Wait(batch, visible - answered, parts, timings.select)


def _seconds(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()  # rq's times are naive UTC
