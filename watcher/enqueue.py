"""Enqueueing the training job of a finished batch: exactly once per (run, batch)."""

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

from common import keys

TRAIN_JOB = "trainer.job.train_batch"
"""Named by path, so the watcher never imports the trainer's learning stack."""

JOB_TIMEOUT_S = 6 * 3600
KEEP_S = 7 * 24 * 3600
RETRY_DELAYS_S = [2, 5, 10, 30, 60]
"""A failed or abandoned job runs again after these delays; retries are safe (see trainer.job)."""


def enqueue_training(queue: Queue, run: str, batch: int) -> Job | None:
    """Queue training on ``batch`` of ``run``; None when a job for it exists (queued, running or done).

    The job id is deterministic and rq checks and saves it atomically, so two watchers, or one that
    restarted, never cause two trainings.
    """
    try:
        return queue.enqueue(
            TRAIN_JOB,
            run,
            batch,
            job_id=keys.train_job_id(run, batch),
            unique=True,
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=KEEP_S,
            failure_ttl=KEEP_S,
            retry=Retry(max=len(RETRY_DELAYS_S), interval=RETRY_DELAYS_S),
            description=f"train {run} on batch {batch}",
        )
    except DuplicateJobError:
        return None
