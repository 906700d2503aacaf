"""The fault suite's driver: a multi-batch run on a real stack, a fault injected into each batch,
the invariants checked after each."""

import functools
import os
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from common import events
from common.argilla_adapter import ArgillaAdapter
from common.connection import Connection
from common.corpus import read_corpus
from common.runs import RunPaths, RunRegistry
from simulator import SimulatedAnnotator
from stack import argilla_service, redis_service
from stack.paths import StackPaths
from tests.faults.invariants import RunView, violations
from tests.support.services import Services
from tests.support.stack import LocalStack
from trainer.scores import PoolScores, ScoresManifest, ScoreStore

ROOT = Path(__file__).resolve().parents[2]
RUN = "faults"
BATCH = 20
DEFAULT_FAULTS = 16
"""Each kind once: `make test` stays short; `make soak` repeats them."""
WAIT_S = 300.0
"""How long a batch may take to be learned after its fault: long enough never to cut a recovery short."""


@dataclass
class Outcome:
    fault: str
    batch: int
    seconds: float
    retry_delay_s: float | None
    violations: list[str]


@dataclass
class FaultSession:
    """One run under fault injection: the stack, the services, an annotator and the fault files."""

    stack: LocalStack
    connection: Connection
    fault_dir: Path
    services: Services
    outcomes: list[Outcome] = field(default_factory=list)

    @classmethod
    def open(cls, stack: LocalStack, env: dict[str, str], logs: Path, fault_dir: Path) -> "FaultSession":
        connection = Connection(
            argilla_api_url=env["ARGILLA_API_URL"],
            argilla_api_key=env["ARGILLA_API_KEY"],
            redis_url=env["REDIS_URL"],
        )
        env = {**env, "ALLOOP_FAULT_DIR": str(fault_dir), "PYTHONPATH": str(ROOT)}
        services = Services(env, logs, program=[sys.executable, "-m", "tests.faults.service"])
        return cls(stack, connection, fault_dir, services)

    # --- the run ---------------------------------------------------------------------------------

    def start(self) -> None:
        for name in ("watcher", "worker.1", "worker.2"):
            self.start_service(name)
        self.annotator = SimulatedAnnotator(self.connection, RUN)
        self.redis = self.connection.redis()
        spec = RunRegistry(self.redis).get(RUN).spec
        self.view = RunView(
            spec=spec,
            paths=RunPaths.of(self.stack.home, RUN),
            corpus=read_corpus(spec.dataset),
            argilla=ArgillaAdapter(self.connection),
            redis=self.redis,
            fault_dir=self.fault_dir,
        )

    @property
    def batch(self) -> int:
        return RunRegistry(self.redis).get(RUN).batch

    def label(self) -> None:
        self.annotator.label_batch(self.batch)

    def wait_learned(self, batch: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                learned = any(
                    isinstance(e, events.ModelUpdated) and e.batch == batch
                    for _, e in events.read(self.redis, RUN, count=100_000)
                )
                if learned and self.batch == batch + 1:
                    return
            except Exception:  # Redis may be restarting
                pass
            time.sleep(0.2)
        raise AssertionError(f"batch {batch} was not learned within {WAIT_S:.0f} s after its fault")

    def inject(self, name: str, fault: "Fault") -> Outcome:
        batch = self.batch
        started = time.monotonic()
        killed_at = fault(self)
        self.wait_learned(batch)
        outcome = Outcome(
            fault=name,
            batch=batch,
            seconds=time.monotonic() - started,
            retry_delay_s=self._retry_delay(batch, killed_at) if killed_at else None,
            violations=violations(self.view, batch),
        )
        self.outcomes.append(outcome)
        return outcome

    def _retry_delay(self, batch: int, killed_at: float) -> float | None:
        """Seconds from a kill to the next start of the same batch's training."""
        starts = (self.fault_dir / "learn-starts").read_text().split("\n")
        after = [
            float(line.split()[0])
            for line in starts
            if line and int(line.split()[2]) == batch and float(line.split()[0]) > killed_at
        ]
        return min(after) - killed_at if after else None

    # --- fault files and processes ---------------------------------------------------------------

    def arm(self, kind: str, point: str) -> None:
        (self.fault_dir / f"{kind}-{point}").touch()

    def wait_at(self, point: str, timeout: float = WAIT_S) -> int:
        """The pid of the process paused at ``point``, once one is."""
        at = self.fault_dir / f"at-{point}"
        deadline = time.monotonic() + timeout
        while not at.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"no process reached {point} within {timeout:.0f} s")
            time.sleep(0.05)
        pid = int(at.read_text())
        at.unlink()
        return pid

    def release(self, point: str) -> None:
        (self.fault_dir / f"paused-{point}").unlink(missing_ok=True)

    def service_of(self, pid: int) -> str:
        """The name of the service ``pid`` is, or descends from (rq's work horse is a session of its own)."""
        lineage = [pid, *(parent.pid for parent in psutil.Process(pid).parents())]
        for name, process in self.services.processes.items():
            if process.pid in lineage:
                return name
        raise AssertionError(f"pid {pid} belongs to no service started here")

    def start_service(self, name: str) -> None:
        # No worker takes the heavy queue: background scores land only when a fault lands them.
        self.services.start(name, *(["--queues", "train"] if name.startswith("worker") else []))

    def stack_paths(self) -> StackPaths:
        return StackPaths.under(self.stack.home)

    def summary(self) -> str:
        """Each fault with its batch and time, then each kind with its count, then the totals."""
        lines = [f"{len(self.outcomes)} faults injected, {self.violation_count()} invariant violations"]
        for outcome in self.outcomes:
            delay = f", retried after {outcome.retry_delay_s:.1f} s" if outcome.retry_delay_s else ""
            lines.append(
                f"  batch {outcome.batch:3d}  {outcome.fault:<56} {outcome.seconds:6.1f} s{delay}"
                + (f"  VIOLATIONS: {outcome.violations}" if outcome.violations else "")
            )
        lines.append("by kind (faults, violations):")
        for kind in dict.fromkeys(o.fault for o in self.outcomes):
            of_kind = [o for o in self.outcomes if o.fault == kind]
            lines.append(f"  {kind:<56} {len(of_kind):3d}  {sum(len(o.violations) for o in of_kind)}")
        delays = [o.retry_delay_s for o in self.outcomes if o.retry_delay_s is not None]
        if delays:
            lines.append(
                f"retry delay after SIGKILL: median {statistics.median(delays):.1f} s, "
                f"max {max(delays):.1f} s over {len(delays)} kills"
            )
        return "\n".join(lines)

    def violation_count(self) -> int:
        return sum(len(outcome.violations) for outcome in self.outcomes)


Fault = Callable[[FaultSession], float | None]
"""Injects one fault into the current batch (labelling it on the way); the kill time, if it killed."""


def _kill_paused(
    session: FaultSession, point: str, *, whole_worker: bool, meanwhile: Callable[[], None] | None = None
) -> float:
    """Kill the job paused at ``point`` (and its worker if ``whole_worker``), once ``meanwhile`` ran."""
    session.arm("pause", point)
    session.label()
    pid = session.wait_at(point)
    name = session.service_of(pid)
    if meanwhile is not None:
        meanwhile()
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    if whole_worker:
        session.services.kill(name)  # the rest of it: the worker and its scheduler
    session.release(point)
    if whole_worker:
        session.start_service(name)  # as a supervisor (or Docker's restart policy) would
    return killed_at


def kill_horse_mid_training(session: FaultSession) -> float:
    return _kill_paused(session, "teach", whole_worker=False)


def kill_worker_mid_training(session: FaultSession) -> float:
    return _kill_paused(session, "teach", whole_worker=True)


def kill_horse_after_logging(session: FaultSession) -> float:
    """After the next batch is logged, before the run moves to it."""
    return _kill_paused(session, "logged", whole_worker=False)


def kill_horse_after_commit(session: FaultSession) -> float:
    """After the checkpoint, before the next batch is logged."""
    return _kill_paused(session, "committed", whole_worker=False)


def _with_random_queries(kill: Callable[[FaultSession], float]) -> Callable[[FaultSession], float]:
    """``kill`` with a learner whose every query draws anew: a retry must not choose again."""

    def fault(session: FaultSession) -> float:
        flag = session.fault_dir / "random-query"
        flag.touch()
        batch = session.batch
        try:
            killed_at = kill(session)
            session.wait_learned(batch)
        finally:
            flag.unlink(missing_ok=True)
        return killed_at

    return fault


def _with_scores_landing(point: str) -> Callable[[FaultSession], float]:
    """A kill at ``point`` after which a better background model's scores land before the retry: a
    retry that chose again would let them choose (and pre-label) other records."""

    def fault(session: FaultSession) -> float:
        batch = session.batch
        landed = session.view.paths.heavy_scores / f"batch-{batch:05d}"
        try:
            land = functools.partial(land_scores, session, batch)
            killed_at = _kill_paused(session, point, whole_worker=False, meanwhile=land)
            session.wait_learned(batch)
        finally:
            shutil.rmtree(landed, ignore_errors=True)  # the faults after this one see the fast model alone
        return killed_at

    return fault


def land_scores(session: FaultSession, batch: int) -> None:
    """Store pool scores, as a background model that beats every fast one would: random, accuracy 1."""
    labels = len(session.view.corpus.label_names())
    proba = np.random.default_rng().dirichlet(np.ones(labels), size=len(session.view.corpus.train_texts))
    manifest = ScoresManifest(
        batch=batch, model_version=f"{RUN}-landed-{batch}", labels=0, train_s=0.0, score_s=0.0,
        accuracy=1.0, macro_f1=1.0, eval_n=len(session.view.corpus.test_texts),
    )  # fmt: skip
    ScoreStore(session.view.paths.heavy_scores).save(PoolScores(manifest, proba))


def kill_horse_mid_checkpoint(session: FaultSession) -> float:
    return _kill_paused(session, "saved", whole_worker=False)


def kill_worker_before_record(session: FaultSession) -> float:
    """After the checkpoint, the log and the run's move; before model.updated and metrics.jsonl."""
    return _kill_paused(session, "record", whole_worker=True)


def job_raises(session: FaultSession) -> None:
    batch = session.batch
    session.arm("raise", "teach")
    session.label()
    session.wait_learned(batch)
    failed = [
        e
        for _, e in events.read(session.redis, RUN, count=100_000)
        if isinstance(e, events.JobFailed) and e.batch == batch
    ]
    assert failed and failed[-1].retrying, f"no job.failed with retrying=true for batch {batch}"


def kill_watcher_mid_poll(session: FaultSession) -> None:
    session.arm("pause", "poll")
    session.label()
    pid = session.wait_at("poll")
    session.services.kill(session.service_of(pid))
    session.release("poll")
    session.services.start("watcher")


def two_watchers(session: FaultSession) -> None:
    session.services.start("watcher.2")
    log = session.services.logs / "watcher.2.log"
    deadline = time.monotonic() + WAIT_S
    while "watching every" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the second watcher did not start"
        time.sleep(0.1)
    batch = session.batch
    session.label()
    session.wait_learned(batch)
    session.services.kill("watcher.2")


def _pause_training(session: FaultSession) -> None:
    """Label the batch and hold its training job just before it learns."""
    session.arm("pause", "teach")
    session.label()
    session.wait_at("teach")


def restart_redis_mid_training(session: FaultSession) -> None:
    _pause_training(session)
    redis_service.stop(session.stack_paths())  # SIGTERM: Redis writes its append-only file and exits
    session.stack.up()
    session.release("teach")


def restart_argilla_mid_training(session: FaultSession) -> None:
    _pause_training(session)
    argilla_service.stop(session.stack_paths())
    session.stack.up()
    session.release("teach")


def argilla_away_30s(session: FaultSession) -> None:
    _pause_training(session)
    argilla_service.stop(session.stack_paths())
    session.release("teach")  # the job now fails to log the next batch, and rq retries it
    time.sleep(30)
    session.stack.up()


FAULTS: dict[str, Fault] = {
    "kill work-horse mid-training": kill_horse_mid_training,
    "kill worker mid-training": kill_worker_mid_training,
    "kill work-horse after the checkpoint, before the log": kill_horse_after_commit,
    "kill work-horse after logging, before the run moves": kill_horse_after_logging,
    "kill work-horse after the checkpoint, queries random": _with_random_queries(kill_horse_after_commit),
    "kill work-horse after logging, queries random": _with_random_queries(kill_horse_after_logging),
    "kill work-horse after the checkpoint, scores land": _with_scores_landing("committed"),
    "kill work-horse after logging, scores land": _with_scores_landing("logged"),
    "kill work-horse mid-checkpoint": kill_horse_mid_checkpoint,
    "kill worker before the figures are recorded": kill_worker_before_record,
    "job raises": job_raises,
    "kill watcher mid-poll": kill_watcher_mid_poll,
    "two watchers": two_watchers,
    "restart Redis mid-training": restart_redis_mid_training,
    "restart Argilla mid-training": restart_argilla_mid_training,
    "Argilla away 30 s": argilla_away_30s,
}


def fault_count() -> int:
    """How many faults to inject: ALLOOP_FAULTS (`make soak` sets it), else DEFAULT_FAULTS."""
    return int(os.environ.get("ALLOOP_FAULTS", DEFAULT_FAULTS))


def schedule(count: int) -> list[str]:
    """``count`` faults: every kind once, then again in the same order, the 30 s outage only once.

    ALLOOP_FAULT_KINDS (text that kinds contain, e.g. ``scores land``) narrows it to those kinds.
    """
    only = os.environ.get("ALLOOP_FAULT_KINDS", "")
    kinds = [kind for kind in FAULTS if only in kind]
    if not kinds:
        raise ValueError(f"ALLOOP_FAULT_KINDS={only!r} names no fault kind; kinds: {', '.join(FAULTS)}")
    repeatable = [kind for kind in kinds if kind != "Argilla away 30 s"] or kinds
    chosen = kinds[:count]
    while len(chosen) < count:
        chosen += repeatable[: count - len(chosen)]
    return chosen
