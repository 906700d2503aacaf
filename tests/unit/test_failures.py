"""The one failure reporter: every job's failure is published masked, saying truly whether rq retries."""

import fakeredis
import pytest
from rq import Retry, SimpleWorker, get_current_job

from common import events
from common.connection import Connection
from common.errors import UserError
from common.queues import train_queue
from trainer.failures import report_failure

KEY = "argilla-key-0123456789"


def failing_job(kind: str) -> None:
    """A job that fails as ``kind`` says, mentioning the API key, and reports it."""
    error = UserError(f"an answer is wrong (key {KEY})") if kind == "user" else RuntimeError(f"boom {KEY}")
    connection = Connection(
        argilla_api_url="http://argilla:6900", argilla_api_key=KEY, redis_url="redis://r/0"
    )
    job = get_current_job()
    assert job is not None
    report_failure(job.connection, connection, "r", 2, job.id, error)
    raise error


@pytest.mark.parametrize(("kind", "retrying"), [("runtime", True), ("user", False)])
def test_a_failure_is_published_masked_and_says_whether_it_is_retried(kind: str, retrying: bool) -> None:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    queue = train_queue(client)
    queue.enqueue(f"{__name__}.failing_job", kind, retry=Retry(max=2), job_id=f"job-{kind}")
    SimpleWorker([queue], connection=client, serializer=queue.serializer).work(burst=True, max_jobs=1)
    [failed] = [event for _, event in events.read(client, "r") if isinstance(event, events.JobFailed)]
    assert failed.retrying is retrying and failed.job_id == f"job-{kind}" and failed.batch == 2
    assert KEY not in failed.error and "***" in failed.error
