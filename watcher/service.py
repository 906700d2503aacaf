"""The watcher service: poll Argilla for every active run, enqueue training when a batch is done."""

import logging
import threading
import time

import httpx
import redis
from rq.job import Job

from common import claims, events, keys
from common.argilla_adapter import ArgillaAdapter
from common.connection import Connection, check_redis
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


class Backoff:
    """The wait before the next try: ``interval`` while things work, doubling up to MAX_BACKOFF_S
    while Argilla or Redis does not answer, with a log line for each failure and the recovery."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.wait = interval

    def failed(self, what: str, error: BaseException) -> float:
        self.wait = min(self.wait * 2, MAX_BACKOFF_S)
        log.warning("%s failed, next try in %.1f s: %s", what, self.wait, describe(error))
        return self.wait

    def worked(self, what: str) -> float:
        if self.wait != self.interval:
            log.info("%s works again", what)
        self.wait = self.interval
        return self.wait


def connect(connection: Connection, interval: float, stop: threading.Event) -> ArgillaAdapter | None:
    """Argilla, signed in, as soon as Redis and Argilla answer (None if ``stop`` is set first): a
    watcher started before them, as on a first ``docker compose up``, waits as it does in an
    outage. Wrong credentials or options are raised at once: waiting would not fix them."""
    backoff = Backoff(interval)
    while True:
        try:
            adapter = _signed_in(connection)
        except UNREACHABLE as error:
            if stop.wait(backoff.failed("connecting", error)):
                return None
            continue
        backoff.worked("connecting")
        log.info("signed in to Argilla at %s", connection.argilla_api_url)
        return adapter


def _signed_in(connection: Connection) -> ArgillaAdapter:
    try:
        with connection.redis() as client:
            client.ping()
    except (redis.AuthenticationError, TypeError):
        check_redis(connection.redis_url)  # raises the error that names the fix
        raise
    return ArgillaAdapter(connection)


class Watcher:
    """Stateless: everything it decides on is read from Argilla and Redis at each poll."""

    def __init__(self, argilla: ArgillaAdapter, connection: redis.Redis, machine: str | None = None) -> None:
        """``machine``: where the training jobs it queues run; a background training there stops as
        soon as one is queued (None: tell nobody)."""
        self.argilla = argilla
        self.redis = connection
        self.machine = machine
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
        job_id = keys.train_job_id(run.name, run.batch)
        if Job.exists(job_id, connection=self.redis):
            # Queued, training or trained: the batch is done, and reading it again would only load
            # Argilla while the job that annotators wait for runs (a webhook wakes the watcher for
            # each of the batch's answers).
            self.lost.rescue(self.queue, job_id)
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
        if self.machine is not None:
            claims.announce(self.redis, self.machine, job_id)
        job = enqueue_training(self.queue, run.name, run.batch, records)
        if job is None:  # another watcher queued it since
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
        backoff = Backoff(interval)
        while not stop.is_set():
            try:
                self.poll()
                if time.monotonic() - reaped_at >= REAP_EVERY_S:
                    reap(all_queues(self.redis))
                    reaped_at = time.monotonic()
            except (*UNREACHABLE, redis.RedisError) as error:
                wait = backoff.failed("poll", error)
            else:
                wait = backoff.worked("poll")
            if wake.wait(wait) and wake is not stop:
                wake.clear()
        log.info("watcher stopped")
