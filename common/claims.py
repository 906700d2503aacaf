"""Claims on a machine's cores: while one holds, background trainings of that machine stand still.

A training job claims its machine while it runs (:func:`claim`); the watcher announces the job it
queues (:func:`announce`), so that the background training stops before the job starts rather than
slowing its start. :mod:`trainer.yielding` stops and continues a background training by
:func:`claimed`. Claims are members of one sorted set per machine, scored by when they lapse.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis

from common import keys

HOLD_S = 60.0
"""A claim lapses this long after it was made, so a job killed mid-way stops nobody for long."""
LINGER_S = 1.0
"""A claim outlasts its job by this long: the wait ends only when Argilla has stored the logged batch
and the annotator's browser has it (about 0.1-0.2 s after the job), and that work needs the cores too."""
ANNOUNCED_S = 10.0
"""How long an announced job's claim holds before the job itself claims: rq starts a queued job in
a few hundredths of a second; without a free worker the background training goes on after this."""


def announce(client: redis.Redis, machine: str, job_id: str, hold_s: float = ANNOUNCED_S) -> None:
    """Claim ``machine`` for ``job_id``, queued and not started yet; its :func:`claim` takes it over."""
    _hold(client, keys.training_now(machine), job_id, hold_s)


@contextmanager
def claim(client: redis.Redis, machine: str, job_id: str, linger_s: float = LINGER_S) -> Iterator[None]:
    """Claim ``machine`` for a training job while the block runs, and ``linger_s`` after it."""
    key = keys.training_now(machine)
    _hold(client, key, job_id, HOLD_S)
    try:
        yield
    finally:
        with suppress(redis.RedisError):
            client.zadd(key, {job_id: time.time() + linger_s})


def claimed(client: redis.Redis, machine: str) -> bool:
    """Whether a training job of ``machine`` runs now or is about to (a claim made and not lapsed)."""
    return bool(client.zcount(keys.training_now(machine), time.time(), "+inf"))


def _hold(client: redis.Redis, key: str, job_id: str, hold_s: float) -> None:
    now = time.time()
    with client.pipeline(transaction=False) as pipe:  # one round trip, as it is on the annotator's wait
        pipe.zremrangebyscore(key, "-inf", now)  # lapsed claims, so that the set stays small
        pipe.zadd(key, {job_id: now + hold_s})
        pipe.expire(key, int(max(hold_s, HOLD_S)) + 1)
        pipe.execute()
