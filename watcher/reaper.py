"""Jobs whose worker died. A SIGKILLed worker leaves its job "started" for good; the reaper marks it
abandoned, and rq's own registry cleanup then retries it (or fails it once its retries are spent).

Retries run through rq's scheduler, which one worker at a time holds a lock for. A dead worker's
scheduler lock would hold every retry back for a minute; the reaper frees it so that a live worker
takes the scheduler over at its next maintenance.
"""

import logging
import time

import redis
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from common.processes import dead_on_this_host, take_back

log = logging.getLogger("alloop.watcher")


def reap(queues: list[Queue]) -> list[str]:
    """Retry or fail the started jobs of ``queues`` whose worker is gone; their ids."""
    reaped = []
    for queue in queues:
        registry = queue.started_job_registry
        abandoned = [
            (job_id, execution_id)
            for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False)
            if not _worker_alive(_worker_name(job_id, execution_id, queue.connection), queue.connection)
        ]
        for job_id, execution_id in abandoned:
            # An expiry in the past is what rq's cleanup treats as an abandoned job.
            queue.connection.zadd(registry.key, {f"{job_id}:{execution_id}": 0}, xx=True)
            log.warning("job %s lost its worker; rq retries it if it has retries left", job_id)
            reaped.append(job_id)
        if abandoned:
            registry.cleanup()
        _free_scheduler_lock(queue)
    return reaped


def _free_scheduler_lock(queue: Queue) -> None:
    key = RQScheduler.get_locking_key(queue.name)
    holder = queue.connection.get(key)
    if holder is None:
        return
    name = holder.decode() if isinstance(holder, bytes) else str(holder)
    found = queue.connection.hmget(SCHEDULER_KEY_TEMPLATE % name, ["hostname", "pid"])
    hostname, pid = (value.decode() if isinstance(value, bytes) else value for value in found)
    abandoned = bool(pid and pid.isdigit() and dead_on_this_host(hostname, int(pid)))
    if abandoned and take_back(queue.connection, key, holder):
        log.warning("freed queue %s's scheduler lock: its process is gone", queue.name)


def _worker_name(job_id: str, execution_id: str, connection: redis.Redis) -> str:
    try:
        return Execution.fetch(execution_id, job_id, connection).worker_name
    except Exception:  # the execution's record expired with its worker
        return ""


def _worker_alive(name: str, connection: redis.Redis) -> bool:
    """Registered, and on this host also still a running process (a killed one stays registered a while)."""
    if not name:
        return False
    key = Worker.redis_worker_namespace_prefix + name
    worker = Worker.find_by_key(key, connection=connection)
    if worker is None or connection.hexists(key, "death"):
        return False
    return not dead_on_this_host(worker.hostname, worker.pid)


LOST_AFTER_S = 5.0
"""A queued job that no queue holds for this long was handed to a dead worker's connection."""


class LostJobs:
    """Training jobs marked queued that their queue no longer holds.

    A worker SIGKILLed an instant before Redis hands it a job leaves that job taken but never
    started: in no list at all (BLPOP, a worker on several queues) or in rq's intermediate list
    (BLMOVE, a worker on one). Such a job is put back in its queue once it has been seen missing
    twice, LOST_AFTER_S apart (a live worker marks a job it took as started within milliseconds).
    """

    def __init__(self, after_s: float = LOST_AFTER_S) -> None:
        self.after_s = after_s
        self.missing_since: dict[str, float] = {}

    def rescue(self, queue: Queue, job_id: str) -> bool:
        """Put ``job_id`` back in ``queue`` if it is lost; True when it was."""
        if not self._lost(queue, job_id):
            self.missing_since.pop(job_id, None)
            return False
        first = self.missing_since.get(job_id)
        if first is None:  # seen missing twice, after_s apart, before it counts as lost
            self.missing_since[job_id] = time.monotonic()
            return False
        if time.monotonic() - first < self.after_s:
            return False
        with queue.connection.pipeline(transaction=True) as pipe:
            pipe.lrem(queue.intermediate_queue_key, 0, job_id)
            queue.push_job_id(job_id, pipeline=pipe)
            pipe.execute()
        del self.missing_since[job_id]
        log.warning("job %s was queued but in no queue (its worker died taking it); queued again", job_id)
        return True

    @staticmethod
    def _lost(queue: Queue, job_id: str) -> bool:
        # Still queued but out of the queue: taken and never started. A worker on one queue takes
        # with BLMOVE into rq's intermediate list, whose own cleanup would wait a minute or more.
        # Called at every poll while a batch trains: read the status alone, not the whole job.
        try:
            status = Job(job_id, connection=queue.connection).get_status(refresh=True)
        except InvalidJobOperation:  # deleted meanwhile
            return False
        return status == JobStatus.QUEUED and queue.connection.lpos(queue.key, job_id) is None
