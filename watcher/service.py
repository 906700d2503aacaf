"""The watcher service: poll Argilla for every active run, enqueue training when a batch is done."""

import logging
import threading
import time

import httpx
import redis

from common import events, keys
from common.argilla_adapter import ArgillaAdapter
from common.errors import describe
from common.queues import all_queues, train_queue
from common.runs import Run, RunRegistry
from watcher.decide import progress
from watcher.enqueue import enqueue_training
from watcher.reaper import LostJobs, reap

log = logging.getLogger("alloop.watcher")

REAP_EVERY_S = 5.0
"""How often the watcher looks for jobs whose worker died."""
MAX_BACKOFF_S = 10.0
"""Longest wait between polls while Argilla or Redis does not answer (doubling from the interval)."""
REPEAT_LOG_S = 60.0
"""A run's same error is logged again only after this long."""

UNREACHABLE = (httpx.TransportError, redis.ConnectionError, redis.TimeoutError, OSError)


class Watcher:
    """Stateless: everything it decides on is read from Argilla and Redis at each poll."""

    def __init__(self, argilla: ArgillaAdapter, connection: redis.Redis) -> None:
        self.argilla = argilla
        self.redis = connection
        self.registry = RunRegistry(connection)
        self.queue = train_queue(connection)
        self._logged: dict[tuple[str, str], float] = {}
        self.lost = LostJobs()

    def poll(self) -> list[str]:
        """Check the current batch of each active run once; the ids of the jobs enqueued."""
        enqueued = []
        for run in self.registry.active():
            try:
                job_id = self._check(run)
            except UNREACHABLE:
                raise  # every run would fail alike: the caller backs off
            except Exception as error:  # one broken run (dataset deleted, say) must not stop the others
                self._log_once(run.name, describe(error))
                continue
            if job_id:
                enqueued.append(job_id)
        return enqueued

    def _check(self, run: Run) -> str | None:
        if run.batch < 0:
            return None
        records = self.argilla.batch_records(run.spec, run.batch)
        batch = progress(records)
        if batch.total == 0:  # logging writes the records before it moves the run to the batch
            self._log_once(
                run.name,
                f"batch {run.batch} has no records in Argilla (deleted by hand?); "
                f"`alloop resume --run {run.name}` logs it again",
            )
        if not batch.done:
            return None
        job = enqueue_training(self.queue, run.name, run.batch, records)
        if job is None:  # queued, running or done already; or lost by a worker that died taking it
            self.lost.rescue(self.queue, keys.train_job_id(run.name, run.batch))
            return None
        log.info(
            "run %s: batch %d done (%d submitted, %d discarded); queued %s",
            run.name, run.batch, batch.submitted, batch.discarded, job.id,
        )  # fmt: skip
        events.publish(
            self.redis,
            events.BatchCompleted(
                run=run.name,
                batch=run.batch,
                submitted=batch.submitted,
                discarded=batch.discarded,
                job_id=job.id,
            ),
        )
        return job.id

    def _log_once(self, run: str, message: str) -> None:
        now = time.monotonic()
        if now - self._logged.get((run, message), -REPEAT_LOG_S) >= REPEAT_LOG_S:
            self._logged[(run, message)] = now
            log.error("run %s: %s", run, message)

    def run_forever(
        self, interval: float, stop: threading.Event, wake: threading.Event | None = None
    ) -> None:
        """Poll every ``interval`` seconds, or as soon as ``wake`` is set (by a webhook hint or a stop).

        While Argilla or Redis is away, the wait doubles up to MAX_BACKOFF_S.
        """
        wake = wake or stop
        log.info("watching every %.1f s", interval)
        reaped_at = 0.0
        wait = interval
        while not stop.is_set():
            try:
                self.poll()
                if time.monotonic() - reaped_at >= REAP_EVERY_S:
                    reap(all_queues(self.redis))
                    reaped_at = time.monotonic()
            except (*UNREACHABLE, redis.RedisError) as error:
                wait = min(wait * 2, MAX_BACKOFF_S)
                log.warning("poll failed, next try in %.1f s: %s", wait, describe(error))
            else:
                if wait != interval:
                    log.info("poll works again")
                wait = interval
            if wake.wait(wait) and wake is not stop:
                wake.clear()
        log.info("watcher stopped")
