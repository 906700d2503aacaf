"""Fault hooks inside alloop's own service processes, steered by files in ``ALLOOP_FAULT_DIR``.

The fault suite starts the watcher and workers through :mod:`tests.faults.service`, which installs
these hooks before the CLI runs; production code carries no trace of them. At each hook point a
process checks two files:

- ``raise-POINT``: the first process to reach POINT removes it and raises :class:`InjectedFault`;
- ``pause-POINT``: the first process to reach POINT renames it to ``paused-POINT``, writes its pid
  to ``at-POINT`` and waits until ``paused-POINT`` is removed (or until it is killed).

While ``random-query`` exists, every query draws its batch with fresh randomness, so a retry that
chose again would choose other records: what a non-deterministic learner (GPU fine-tuning, scores
landing in between) does.

Every training also leaves its pid in ``training/`` while it runs; one that finds another live
training of the run there writes a line to ``violations``.
"""

import functools
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

POINTS = {
    "worker": ("teach", "saved", "committed", "logged", "record"),
    "watcher": ("poll",),
}


class InjectedFault(RuntimeError):
    """Raised on purpose by the fault suite."""


def fault_dir() -> Path:
    return Path(os.environ["ALLOOP_FAULT_DIR"])


def reach(point: str) -> None:
    """What a hooked process does at ``point``: raise, pause, or go on."""
    folder = fault_dir()
    try:
        (folder / f"raise-{point}").unlink()
    except FileNotFoundError:
        pass
    else:
        raise InjectedFault(f"fault injected at {point}")
    paused = folder / f"paused-{point}"
    try:
        os.rename(folder / f"pause-{point}", paused)
    except FileNotFoundError:
        return
    (folder / f".at-{point}").write_text(str(os.getpid()))
    os.rename(folder / f".at-{point}", folder / f"at-{point}")
    while paused.exists():
        time.sleep(0.05)


def _before(function: Callable[..., Any], point: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        reach(point)
        return function(*args, **kwargs)

    return hooked


def _after(function: Callable[..., Any], point: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        reach(point)
        return result

    return hooked


def _watched(learn: Callable[..., Any]) -> Callable[..., Any]:
    """Training.learn, recording itself so that two trainings of a run at once are seen."""

    @functools.wraps(learn)
    def hooked(self: Any, batch: int, *args: Any) -> Any:
        folder = fault_dir() / "training" / self.run.name
        folder.mkdir(parents=True, exist_ok=True)
        mine = folder / str(os.getpid())
        mine.write_text(str(batch))
        with (fault_dir() / "learn-starts").open("a") as starts:
            starts.write(f"{time.time():.3f} {self.run.name} {batch} {os.getpid()}\n")
        others = [p for p in folder.iterdir() if p != mine and psutil.pid_exists(int(p.name))]
        if others:
            with (fault_dir() / "violations").open("a") as violations:
                violations.write(
                    f"two trainings of run {self.run.name} at once: pid {os.getpid()} on batch {batch} "
                    f"while pid(s) {', '.join(p.name for p in others)} trained\n"
                )
        try:
            return learn(self, batch, *args)
        finally:
            mine.unlink(missing_ok=True)

    return hooked


def _fresh_random(query: Callable[..., Any]) -> Callable[..., Any]:
    """Learner.query, drawing its batch anew from the unlabelled texts while ``random-query`` exists."""

    @functools.wraps(query)
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        chosen = query(self, *args, **kwargs)
        if not chosen or not (fault_dir() / "random-query").exists():
            return chosen
        self.state.awaiting = random.SystemRandom().sample([int(i) for i in self.unlabelled()], len(chosen))
        return self.awaiting

    return hooked


def install(role: str) -> None:
    """Hook the parts of ``role`` (worker or watcher) at their fault points."""
    from common.argilla_adapter import ArgillaAdapter

    if role == "watcher":
        ArgillaAdapter.batch_records = _before(ArgillaAdapter.batch_records, "poll")  # type: ignore[method-assign]
        return
    from common.checkpoints import CheckpointStore
    from trainer.job import Training
    from trainer.learner import Learner

    Learner.teach = _before(Learner.teach, "teach")  # type: ignore[method-assign]
    ArgillaAdapter.log_batch = _after(ArgillaAdapter.log_batch, "logged")  # type: ignore[method-assign]
    Learner.save = _after(Learner.save, "saved")  # type: ignore[method-assign]
    Learner.query = _fresh_random(Learner.query)  # type: ignore[method-assign]
    CheckpointStore.save = _after(CheckpointStore.save, "committed")  # type: ignore[method-assign]
    Training._record = _before(Training._record, "record")  # type: ignore[method-assign]
    Training.learn = _watched(Training.learn)  # type: ignore[method-assign]
