"""A run whose data file changes under it stops with one clear message instead of learning wrong texts."""

from pathlib import Path

import pytest
import redis

from common import events
from common.queues import train_queue
from tests.support.data import small_trec
from tests.support.services import alloop
from tests.support.stack import LocalStack
from watcher.enqueue import enqueue_training

RUN = "changed-data"


def test_a_job_refuses_a_dataset_changed_since_the_run_started(
    stack: LocalStack, connection: dict[str, str], tmp_path: Path
) -> None:
    env = {**stack.env, **connection}
    data = small_trec(tmp_path / "trec6")
    alloop(env, "init", "--name", RUN, "--dataset", str(data), "--workspace", RUN, "--batch-size", "10")
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "60")
    train = data / "train_5500.label"
    train.write_bytes(b"".join(train.read_bytes().splitlines(keepends=True)[:-1]))  # one question fewer

    client = redis.Redis.from_url(connection["REDIS_URL"])
    assert enqueue_training(train_queue(client), RUN, 0) is not None
    alloop(env, "worker", "--burst", "--queues", "train")

    failures = [e for _, e in events.read(client, RUN) if isinstance(e, events.JobFailed)]
    assert len(failures) == 1, "the job ran once: a changed dataset is not retried"
    assert "changed since the run started" in failures[0].error
    assert "put the original data back" in failures[0].error
    assert not failures[0].retrying
    assert not any(isinstance(e, events.ModelUpdated) for _, e in events.read(client, RUN))


@pytest.fixture(autouse=True)
def _no_other_run_queued(connection: dict[str, str]) -> None:
    """The burst worker must find only this test's job (other tests' runs use their own workers)."""
    assert train_queue(redis.Redis.from_url(connection["REDIS_URL"])).count == 0
