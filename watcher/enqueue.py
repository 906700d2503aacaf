"""Enqueueing the training job of a finished batch: exactly once per (run, batch)."""

from collections.abc import Sequence

from rq import Queue
from rq.job import Job

from common import keys
from common.argilla_adapter import BatchRecord
from common.queues import enqueue_once

TRAIN_JOB = "trainer.job.train_batch"
"""Named by path, so the watcher never imports the trainer's learning stack."""


def enqueue_training(
    queue: Queue, run: str, batch: int, answers: Sequence[BatchRecord] | None = None
) -> Job | None:
    """Queue training on ``batch`` of ``run``; None when a job for it exists (queued, running or done).

    Two watchers, or one that restarted, never cause two trainings. The ``answers`` the watcher
    read travel with the job, so it need not read them again while annotators wait; a retry of the
    job learns the very same answers.
    """
    return enqueue_once(
        queue,
        TRAIN_JOB,
        run,
        batch,
        job_id=keys.train_job_id(run, batch),
        description=f"train {run} on batch {batch}",
        kwargs=None if answers is None else {"answers": [record.model_dump() for record in answers]},
    )
