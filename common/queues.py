"""The rq queues every alloop process agrees on: their names, and jobs serialized as JSON.

Job arguments are plain JSON (a run name, a batch number, the batch's answers), never pickles, so
a process that can write to Redis cannot make a worker run code of its choosing.
"""

import re

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from common import keys

SERIALIZER = JSONSerializer


def train_queue(connection: redis.Redis) -> Queue:
    """Training jobs: the fast half, which annotators wait for."""
    return Queue(keys.TRAIN_QUEUE, connection=connection, serializer=SERIALIZER)


def heavy_queue(connection: redis.Redis) -> Queue:
    """Two-speed learning's background jobs."""
    return Queue(keys.HEAVY_QUEUE, connection=connection, serializer=SERIALIZER)


def all_queues(connection: redis.Redis) -> list[Queue]:
    """Every queue, in the order a worker serving all of them takes jobs."""
    return [train_queue(connection), heavy_queue(connection)]


def fetch_job(job_id: str, connection: redis.Redis) -> Job:
    """A job by id (raises rq's NoSuchJobError when there is none)."""
    return Job.fetch(job_id, connection=connection, serializer=SERIALIZER)


JOB_TIMEOUT_S = 6 * 3600
KEEP_S = 7 * 24 * 3600
RETRY_DELAYS_S = [2, 5, 10, 30, 60]
"""A failed or abandoned job runs again after these delays; alloop's jobs are safe to retry."""


def enqueue_once(
    queue: Queue,
    function: str,
    run: str,
    batch: int,
    *,
    job_id: str,
    description: str,
    kwargs: dict[str, object] | None = None,
) -> Job | None:
    """Queue ``function(run, batch, **kwargs)`` under ``job_id``; None when a job of that id exists.

    rq checks and saves the id atomically, so two processes enqueueing the same job, or one that
    restarted, never cause it twice. Functions are named by path: the caller need not import them.
    """
    try:
        return queue.enqueue(
            function,
            args=(run, batch),
            kwargs=kwargs or {},
            job_id=job_id,
            unique=True,
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=KEEP_S,
            failure_ttl=KEEP_S,
            retry=Retry(max=len(RETRY_DELAYS_S), interval=RETRY_DELAYS_S),
            description=description,
        )
    except DuplicateJobError:
        return None


def delete_jobs_of(connection: redis.Redis, run: str) -> int:
    """Delete every training and background job of ``run``, whatever its state; how many.

    Job ids are fixed per run and batch, so a new run of the same name would otherwise find the old
    run's finished jobs and never train.
    """
    own = re.compile(rf"^{re.escape(keys.PREFIX)}-(train|heavy)-{re.escape(run)}-\d+$")
    deleted = 0
    namespace = Job.redis_job_namespace_prefix
    for key in connection.scan_iter(match=f"{namespace}{keys.PREFIX}-*-{run}-*"):
        job_id = (key.decode() if isinstance(key, bytes) else key).removeprefix(namespace)
        if not own.match(job_id):
            continue  # run "a" must not delete the jobs of run "a-b"
        try:
            fetch_job(job_id, connection).delete()
        except NoSuchJobError:
            continue
        deleted += 1
    return deleted


QUEUES = {"train": train_queue, "heavy": heavy_queue}
"""alloop's queues by the names `alloop worker --queues` takes."""
