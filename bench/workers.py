"""`workers`: training throughput of the whole loop with K runs and M worker processes.

K simulated annotators (threads) label their own run's batches as fast as Argilla takes them;
M forking workers train. Batches per minute counts model updates across all runs.
"""

import os
import shutil
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import typer

from bench.live import LiveStack, cpu_seconds, live_stack
from bench.output import console, show, write_json
from common import events
from common.runs import RunPaths
from stack.process import terminate


def run(
    dataset: str = typer.Option(..., "--dataset", help="Data every run labels (TREC folder, CSV, …)."),
    runs: int = typer.Option(4, "--runs", help="Runs labelled at once (K)."),
    workers: str = typer.Option("1,2", "--workers", help="Worker counts to compare (M), comma-separated."),
    batches: int = typer.Option(5, "--batches", help="Batches each run labels per measurement."),
    json_file: Path = typer.Option(None, "--json", help="Write the results here."),
) -> None:
    """Batches per minute with K runs as the number of workers M grows."""
    counts = [int(part) for part in workers.split(",")]
    results: list[dict[str, Any]] = []
    with live_stack() as stack:
        watcher = stack.start_service("watcher", "--interval", "0.5")
        first_run = f"w{counts[0]}-r0"
        for count in counts:
            names = [f"w{count}-r{index}" for index in range(runs)]
            with console.status(f"creating {runs} runs for {count} worker(s)…"):
                for name in names:
                    share_embeddings(stack, first_run, name)
                    stack.new_run(name, dataset, stopping_criterion="none")
            pids = [stack.start_service("worker", "--queues", "train") for _ in range(count)]
            stack.wait_for_workers(count)
            parts = {**stack.stack_pids(), "watcher": watcher, "annotators": os.getpid()}
            parts |= {f"worker-{index}": pid for index, pid in enumerate(pids)}
            before = {name: cpu_seconds(pid) for name, pid in parts.items()}
            seconds = label_all(stack, names, batches)
            busy = {name: (cpu_seconds(pid) - before[name]) / seconds for name, pid in parts.items()}
            results.append(
                {
                    "workers": count,
                    "runs": runs,
                    "batches_per_min": runs * batches * 60 / seconds,
                    "cores": busy,
                }
                | phases(stack.connection.redis(), names)
            )
            for pid in pids:
                terminate(pid)
    one = results[0]["batches_per_min"] / counts[0]
    rows = [
        [
            r["workers"],
            r["runs"],
            r["batches_per_min"],
            r["batches_per_min"] / (one * r["workers"]),
            r["labelling_s"],
            r["turnaround_s"],
            r["job_s"],
            sum(r["cores"].values()),
            ", ".join(f"{name} {cores:.2f}" for name, cores in r["cores"].items()),
        ]
        for r in results
    ]
    columns = ["workers", "runs", "batches/min", "vs M x one", "labelling s", "turnaround s", "job s"]
    columns += ["busy cores", "cores by process"]
    show(f"throughput ({os.cpu_count()} cores)", columns, rows)
    write_json(json_file, {"results": results})


def share_embeddings(stack: LiveStack, first: str, name: str) -> None:
    """Give a new run the first run's pool embeddings (same model and texts), so none waits on encoding."""
    source = RunPaths.of(stack.settings.home, first).cache
    if name != first and source.exists():
        shutil.copytree(source, RunPaths.of(stack.settings.home, name).cache, dirs_exist_ok=True)


def label_all(stack: LiveStack, names: list[str], batches: int) -> float:
    """Seconds until every run has learned ``batches`` batches, each labelled by its own annotator."""
    from simulator import SimulatedAnnotator

    annotators = [SimulatedAnnotator(stack.connection, name) for name in names]
    client = stack.connection.redis()
    started = time.monotonic()
    threads = [
        threading.Thread(target=annotator.run, args=(batches,), daemon=True) for annotator in annotators
    ]
    for thread in threads:
        thread.start()
    for name in names:
        wait_for_model(client, name, batches - 1)
    return time.monotonic() - started


def phases(client: object, names: list[str]) -> dict[str, float]:
    """Mean seconds per batch: labelling (logged to completed), turnaround (completed to the next
    logged) and the training job itself, from the runs' events."""
    labelling, turnaround, job = [], [], []
    for name in names:
        found = [event for _, event in events.read(client, name)]  # type: ignore[arg-type]
        logged = {e.batch: e.at for e in found if isinstance(e, events.BatchLogged)}
        completed = {e.batch: e.at for e in found if isinstance(e, events.BatchCompleted)}
        job += [e.timings.total for e in found if isinstance(e, events.ModelUpdated)]
        for batch, at in completed.items():
            labelling.append((at - logged[batch]).total_seconds())
            if batch + 1 in logged:
                turnaround.append((logged[batch + 1] - at).total_seconds())
    return {
        "labelling_s": statistics.mean(labelling),
        "turnaround_s": statistics.mean(turnaround),
        "job_s": statistics.mean(job),
    }


def wait_for_model(client: object, run: str, batch: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, event in events.read(client, run):  # type: ignore[arg-type]
            if isinstance(event, events.JobFailed):
                raise RuntimeError(f"run {run}: a job failed: {event.error}")
            if isinstance(event, events.ModelUpdated) and event.batch == batch:
                return
        time.sleep(0.1)
    raise TimeoutError(f"run {run} did not learn batch {batch} within {timeout} s")
