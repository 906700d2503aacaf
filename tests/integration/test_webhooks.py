"""Argilla's webhooks wake the watcher: a finished batch is seen without waiting for the next poll.

The watcher here polls once an hour, after its first poll at start: only a webhook can make it see
batch 0 finished within this test's lifetime.
"""

import os
import signal
import time
from pathlib import Path

import argilla as rg
import pytest
import redis

from common import events
from tests.support.services import Services, alloop
from tests.support.stack import LocalStack

RUN = "hinted"

pytestmark = pytest.mark.timeout(600)


def wait_for_line(log: Path, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{log.name} never said {text!r}:\n{log.read_text()}"
        time.sleep(0.1)


def test_a_webhook_makes_the_watcher_see_a_finished_batch_before_its_next_poll(
    stack: LocalStack, connection: dict[str, str], client: rg.Argilla, tmp_path: Path, small_trec: Path
) -> None:
    env = {**stack.env, **connection}
    alloop(env, "init", "--name", RUN, "--dataset", str(small_trec), "--batch-size", "5", "--workspace", RUN)
    services = Services(env, tmp_path)
    services.start("watcher", "--interval", "3600", "--webhook-port", "0")
    try:
        log = tmp_path / "watcher.log"
        wait_for_line(log, "receiving Argilla's webhooks at")
        wait_for_line(log, "watching every 3600.0 s")
        time.sleep(1)  # past the first poll, which found batch 0 unlabelled
        assert "batch 0 done" not in log.read_text()

        alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "60")
        client_redis = redis.Redis.from_url(connection["REDIS_URL"])
        deadline = time.monotonic() + 120
        completed: list[events.BatchCompleted] = []
        while not completed and time.monotonic() < deadline:
            completed = [e for _, e in events.read(client_redis, RUN) if isinstance(e, events.BatchCompleted)]
            time.sleep(0.2)
        assert completed and completed[0].batch == 0, "the watcher did not hear of the finished batch"

        hooks = [hook for hook in client.webhooks if "alloop watcher" in (hook.description or "")]
        assert len(hooks) == 1, "the watcher subscribes once"
        process = services.processes.pop("watcher")
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not [hook for hook in client.webhooks if "alloop watcher" in (hook.description or "")], (
            "a watcher that stops removes its subscription"
        )
    finally:
        services.stop_all()
