"""The one failure reporter of every job: what failed, masked, and whether rq tries it again."""

import logging

import redis
from rq import get_current_job

from common import events
from common.connection import Connection
from common.errors import UserError, describe
from common.secrets import redact

log = logging.getLogger("alloop.trainer")


def report_failure(
    client: redis.Redis,
    connection: Connection,
    run: str,
    batch: int,
    job_id: str,
    error: Exception,
    once_fixed: str = "`alloop resume --run {run}` queues it again",
) -> None:
    """Log and publish ``job.failed``, secrets masked; a UserError is not retried, since only its
    fix can help. ``once_fixed`` says what brings the job back after a failure for good."""
    job = get_current_job()
    if job is not None and isinstance(error, UserError):
        job.retries_left = 0
    retrying = job is not None and job.should_retry
    message = redact(describe(error), connection.secrets())
    try:
        events.publish(
            client,
            events.JobFailed(run=run, batch=batch, job_id=job_id, error=message[:2000], retrying=retrying),
        )
    except redis.RedisError:
        log.warning("run %s: could not publish job.failed (Redis does not answer)", run)
    if retrying:
        log.warning("run %s: job %s failed, rq retries it: %s", run, job_id, message)
    else:
        log.error(
            "run %s: job %s failed for good: %s; once fixed, %s",
            run, job_id, message, once_fixed.format(run=run),
        )  # fmt: skip
