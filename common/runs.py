"""The run registry in Redis, and each run's folder on disk."""

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis

from common import keys
from common.errors import UserError
from common.spec import RunSpec


class RunState(StrEnum):
    active = "active"
    paused = "paused"
    stopped = "stopped"


@dataclass(frozen=True)
class Run:
    """A registered run: its spec, its state, and the latest batch logged to Argilla."""

    spec: RunSpec
    state: RunState
    batch: int

    @property
    def name(self) -> str:
        return self.spec.name


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class UnknownRun(UserError):
    pass


class RunRegistry:
    """Runs as Redis hashes (``spec``, ``state``, ``batch``) plus a set of names."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def register(self, spec: RunSpec) -> bool:
        """Record a new run, active and with no batch yet; False (and nothing changed) if it exists."""
        key = keys.run(spec.name)
        if not self.redis.hsetnx(key, "spec", spec.model_dump_json()):
            return False
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": RunState.active.value, "batch": -1})
            pipe.sadd(keys.RUNS, spec.name)
            pipe.execute()
        return True

    def exists(self, name: str) -> bool:
        return bool(self.redis.hexists(keys.run(name), "spec"))

    def get(self, name: str) -> Run:
        fields = self.redis.hgetall(keys.run(name))
        if b"spec" not in fields:
            raise UnknownRun(f"no run named {name!r}; see `alloop status` for the runs there are")
        return Run(
            spec=RunSpec.model_validate_json(fields[b"spec"]),
            state=RunState(_text(fields.get(b"state", b"active"))),
            batch=int(fields.get(b"batch", -1)),
        )

    def names(self) -> list[str]:
        return sorted(_text(name) for name in self.redis.smembers(keys.RUNS))

    def all(self) -> list[Run]:
        return [self.get(name) for name in self.names()]

    def active(self) -> list[Run]:
        return [run for run in self.all() if run.state == RunState.active]

    def set_state(self, name: str, state: RunState) -> None:
        self.get(name)
        self.redis.hset(keys.run(name), "state", state.value)

    def delete(self, name: str) -> None:
        """Forget the run, its event stream and its locks (its jobs: ``queues.delete_jobs_of``)."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.run(name), keys.run_events(name), keys.run_lock(name), keys.heavy_lock(name))
            pipe.srem(keys.RUNS, name)
            pipe.execute()

    def set_batch(self, name: str, batch: int) -> None:
        self.redis.hset(keys.run(name), "batch", batch)


@dataclass(frozen=True)
class RunPaths:
    """Files of one run under ``$ALLOOP_HOME/runs/NAME``."""

    root: Path

    @classmethod
    def of(cls, home: Path, name: str) -> "RunPaths":
        return cls(home / "runs" / name)

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def heavy_scores(self) -> Path:
        """Pool scores of the background model, when the run learns at two speeds."""
        return self.root / "heavy"

    @property
    def cache(self) -> Path:
        return self.root / "cache"


def read_metrics(paths: RunPaths) -> list[dict[str, Any]]:
    """The run's ``model.updated`` records from metrics.jsonl, oldest first.

    A line a crash cut short is skipped: the job that wrote it is retried and writes it again.
    """
    if not paths.metrics.exists():
        return []
    rows = []
    for line in paths.metrics.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "batch" in row:
            rows.append(row)
    return rows
