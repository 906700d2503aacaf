"""The rq queues every alloop process agrees on: their names, and jobs serialized as JSON.

Job arguments are plain JSON (a run name and a batch number), never pickles, so a process that
can write to Redis cannot make a worker run code of its choosing.
"""

import redis
from rq import Queue
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
