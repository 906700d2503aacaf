"""Parts that keep work from being lost: the lease on a run, the reaper of jobs whose worker died."""

import json
import os
import pickle
import socket
import subprocess
import threading
import time
import zlib

import fakeredis
import pytest
from rq import SimpleWorker
from rq.exceptions import DeserializationError
from rq.job import JobStatus
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from common.queues import SERIALIZER, delete_jobs_of, fetch_job, train_queue
from trainer.lease import LeaseNotAcquired, lease
from watcher.enqueue import enqueue_training
from watcher.reaper import LostJobs, reap


def test_a_lease_outlives_its_ttl_while_held_and_excludes_others(redis: fakeredis.FakeRedis) -> None:
    with lease(redis, "lock:r", wait_s=1, ttl_s=0.3):
        time.sleep(1.0)  # three times the ttl: only renewal keeps it
        assert redis.exists("lock:r")
        with pytest.raises(LeaseNotAcquired), lease(redis, "lock:r", wait_s=0.2, ttl_s=0.3):
            pass
    assert not redis.exists("lock:r")


def test_a_lease_whose_holder_died_frees_itself(redis: fakeredis.FakeRedis) -> None:
    redis.lock("lock:r", timeout=0.3).acquire()  # taken by a process that was then SIGKILLed
    started = time.monotonic()
    with lease(redis, "lock:r", wait_s=5, ttl_s=0.3):
        assert time.monotonic() - started < 5


def started_by_worker(redis: fakeredis.FakeRedis) -> tuple[SimpleWorker, str]:
    queue = train_queue(redis)
    job = enqueue_training(queue, "r1", 0)
    assert job is not None
    worker = SimpleWorker([queue], connection=redis, serializer=SERIALIZER)
    worker.register_birth()
    dequeued = queue.dequeue_any([queue], None, connection=redis, serializer=SERIALIZER)
    assert dequeued is not None
    worker.prepare_execution(dequeued[0])  # what a worker does right before forking the job
    worker.prepare_job_execution(dequeued[0])  # and what the forked job does first
    return worker, job.id


@pytest.mark.parametrize("death", ["registration expired", "death registered"])
def test_the_job_of_a_dead_worker_is_retried(redis: fakeredis.FakeRedis, death: str) -> None:
    worker, job_id = started_by_worker(redis)
    assert fetch_job(job_id, redis).get_status() == JobStatus.STARTED
    assert reap([train_queue(redis)]) == []  # its worker is alive: nothing to do
    if death == "registration expired":  # what a SIGKILLed worker leaves once its TTL is over
        redis.delete(worker.key)
    else:
        worker.register_death()
    assert reap([train_queue(redis)]) == [job_id]
    job = fetch_job(job_id, redis)
    assert job.get_status() in (JobStatus.SCHEDULED, JobStatus.QUEUED)
    assert job.retries_left is not None and job.retries_left < 5
    assert len(train_queue(redis).started_job_registry) == 0


def test_a_job_is_retried_only_once_by_two_reapers(redis: fakeredis.FakeRedis) -> None:
    worker, job_id = started_by_worker(redis)
    redis.delete(worker.key)
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(reap([train_queue(redis)]))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(found) for found in results) in ([0, 1], [1, 1])
    assert fetch_job(job_id, redis).retries_left == 4


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_lease_whose_holder_died_on_this_host_is_taken_over_at_once(redis: fakeredis.FakeRedis) -> None:
    redis.set("lock:r", f"{socket.gethostname()}:{dead_pid()}:nonce", ex=3600)
    with lease(redis, "lock:r", wait_s=0.5, ttl_s=3600):  # no wait for the ttl
        assert redis.get("lock:r").decode().startswith(f"{socket.gethostname()}:{os.getpid()}:")


def test_a_lease_held_by_a_live_process_or_another_host_is_waited_for(redis: fakeredis.FakeRedis) -> None:
    for holder in (f"{socket.gethostname()}:{os.getpid()}:nonce", f"elsewhere:{dead_pid()}:nonce"):
        redis.set("lock:r", holder, ex=3600)
        with pytest.raises(LeaseNotAcquired), lease(redis, "lock:r", wait_s=0.3):
            pass
        assert redis.get("lock:r").decode() == holder


@pytest.mark.parametrize("alive", [True, False])
def test_the_reaper_frees_the_scheduler_lock_of_a_dead_worker_only(
    redis: fakeredis.FakeRedis, alive: bool
) -> None:
    queue = train_queue(redis)
    lock = RQScheduler.get_locking_key(queue.name)
    redis.set(lock, "sched-1", ex=61)
    pid = os.getpid() if alive else dead_pid()
    redis.hset(SCHEDULER_KEY_TEMPLATE % "sched-1", mapping={"hostname": socket.gethostname(), "pid": pid})
    reap([queue])
    assert redis.exists(lock) == alive


def test_jobs_are_stored_as_json_and_a_pickled_job_is_refused(redis: fakeredis.FakeRedis) -> None:
    job = enqueue_training(train_queue(redis), "r1", 3)
    assert job is not None
    stored = redis.hget(job.key, "data")
    assert json.loads(zlib.decompress(stored)) == ["trainer.job.train_batch", None, ["r1", 3], {}]
    # A pickle planted in Redis is not run: the JSON serializer cannot read it.
    redis.hset(job.key, "data", zlib.compress(pickle.dumps(("os.system", None, ("true",), {}))))
    with pytest.raises(DeserializationError):
        fetch_job(job.id, redis).func_name  # noqa: B018


def test_a_queued_job_that_no_queue_holds_is_queued_again(redis: fakeredis.FakeRedis) -> None:
    queue = train_queue(redis)
    job = enqueue_training(queue, "r1", 0)
    assert job is not None
    lost = LostJobs(after_s=0)
    assert not lost.rescue(queue, job.id)  # in its queue: nothing to do
    redis.lpop(queue.key)  # what BLPOP does for a worker whose connection is closing
    assert not lost.rescue(queue, job.id)  # missing once: a live worker may be just taking it
    assert lost.rescue(queue, job.id)
    assert queue.job_ids == [job.id]


def test_a_job_a_worker_took_is_not_rescued(redis: fakeredis.FakeRedis) -> None:
    _worker, job_id = started_by_worker(redis)
    lost = LostJobs(after_s=0)
    assert not lost.rescue(train_queue(redis), job_id)
    assert not lost.rescue(train_queue(redis), job_id)
    assert train_queue(redis).job_ids == []


def test_a_job_left_in_the_intermediate_list_is_queued_again(redis: fakeredis.FakeRedis) -> None:
    queue = train_queue(redis)
    job = enqueue_training(queue, "r1", 0)
    assert job is not None
    redis.lmove(queue.key, queue.intermediate_queue_key)  # BLMOVE of a worker on one queue, then killed
    lost = LostJobs(after_s=0)
    assert not lost.rescue(queue, job.id)
    assert lost.rescue(queue, job.id)
    assert queue.job_ids == [job.id]
    assert redis.lrange(queue.intermediate_queue_key, 0, -1) == []


def test_forgetting_a_run_deletes_its_jobs_and_no_other_runs(redis: fakeredis.FakeRedis) -> None:
    queue = train_queue(redis)
    mine = [enqueue_training(queue, "a", batch) for batch in (0, 1)]
    other = enqueue_training(queue, "a-b", 0)
    assert all(mine) and other is not None
    assert delete_jobs_of(redis, "a") == 2
    assert queue.job_ids == [other.id]
    assert enqueue_training(queue, "a", 0) is not None, "a new run of that name can train batch 0"
