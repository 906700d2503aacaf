"""Every Redis key and queue name alloop uses, in one place."""

PREFIX = "alloop"

RUNS = f"{PREFIX}:runs"
"""Set of registered run names."""

ALL_EVENTS = f"{PREFIX}:events"
"""Stream of the events of every run."""

TRAIN_QUEUE = f"{PREFIX}-train"
"""The rq queue of training jobs: the fast half, which annotators wait for."""

HEAVY_QUEUE = f"{PREFIX}-heavy"
"""The rq queue of two-speed learning's background jobs; workers take it after the train queue."""


def run(name: str) -> str:
    """Hash with a run's spec, state and latest logged batch."""
    return f"{PREFIX}:run:{name}"


def run_events(name: str) -> str:
    """Stream of one run's events."""
    return f"{PREFIX}:events:{name}"


def run_lock(name: str) -> str:
    """Lock held while a job of this run trains: jobs of one run never run at once."""
    return f"{PREFIX}:lock:{name}"


def train_job_id(name: str, batch: int) -> str:
    """The deterministic rq job id of training run ``name`` on batch ``batch``."""
    return f"{PREFIX}-train-{name}-{batch}"


def heavy_job_id(name: str, batch: int) -> str:
    """The deterministic rq job id of training run ``name``'s background model after ``batch``."""
    return f"{PREFIX}-heavy-{name}-{batch}"


def heavy_lock(name: str) -> str:
    """Lock held while a run's background model trains: one at a time, each on the newest labels."""
    return f"{PREFIX}:heavy-lock:{name}"


def training_now(machine: str) -> str:
    """Sorted set of the training jobs running on ``machine`` (scored by when their claim lapses);
    background trainings on its CPU pause while it holds one."""
    return f"{PREFIX}:training-now:{machine}"
