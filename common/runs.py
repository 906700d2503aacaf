"""The run registry in Redis, and each run's folder on disk."""

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

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


class UnknownRun(UserError):
    pass


class RunRegistry:
    """Runs as Redis hashes (``spec``, ``state``, ``batch``) plus a set of names."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def register(self, spec: RunSpec, *, replace: bool = False) -> bool:
        """Record a new run with state active and no batch; False if it exists and ``replace`` is off."""
        key = keys.run(spec.name)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "spec", spec.model_dump_json())
            pipe.sadd(keys.RUNS, spec.name)
            created, _ = pipe.execute()
        if not created and not replace:
            return False
        self.redis.hset(key, mapping={"spec": spec.model_dump_json(), "state": RunState.active, "batch": -1})
        return True

    def get(self, name: str) -> Run:
        fields = self.redis.hgetall(keys.run(name))
        if b"spec" not in fields:
            raise UnknownRun(f"no run named {name!r}; see `alloop status` for the runs there are")
        return Run(
            spec=RunSpec.model_validate_json(fields[b"spec"]),
            state=RunState(fields.get(b"state", b"active").decode()),
            batch=int(fields.get(b"batch", -1)),
        )

    def names(self) -> list[str]:
        return sorted(name.decode() for name in self.redis.smembers(keys.RUNS))

    def all(self) -> list[Run]:
        return [self.get(name) for name in self.names()]

    def active(self) -> list[Run]:
        return [run for run in self.all() if run.state == RunState.active]

    def set_state(self, name: str, state: RunState) -> None:
        self.get(name)
        self.redis.hset(keys.run(name), "state", state)

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
    def cache(self) -> Path:
        return self.root / "cache"
