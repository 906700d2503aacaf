"""A background training on CPU is stopped while a training job of its machine runs."""

import subprocess
import threading
import time
from collections.abc import Iterator

import fakeredis
import pytest

from common import claims, keys
from tests.support.processes import state, wait_for
from trainer import yielding


@pytest.fixture
def background() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for a background training."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_a_claim_of_its_machine_stops_it_and_its_end_continues_it(
    redis: fakeredis.FakeRedis, background: subprocess.Popen[bytes]
) -> None:
    done = threading.Event()
    pauser = threading.Thread(
        target=yielding.pause_while_claimed, args=(background.pid, redis, "m1", done.is_set)
    )
    pauser.start()
    try:
        wait_for(background.pid, "S")
        with claims.claim(redis, "m2", "another machine's job"):
            time.sleep(0.2)
            assert state(background.pid) == "S", "a job elsewhere stops nothing"
        with claims.claim(redis, "m1", "job-a"):
            wait_for(background.pid, "T")
            with claims.claim(redis, "m1", "job-b"):
                pass
            time.sleep(0.1)
            assert state(background.pid) == "T", "stopped while any job of the machine runs"
        wait_for(background.pid, "S")
        with claims.claim(redis, "m1", "job-c"):
            wait_for(background.pid, "T")
            done.set()
            pauser.join(timeout=5)
        assert state(background.pid) == "S", "a pauser that ends leaves it running"
    finally:
        done.set()
        pauser.join(timeout=5)


def test_a_lapsed_claim_or_a_long_pause_lets_it_run(
    redis: fakeredis.FakeRedis, background: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    redis.zadd("alloop:training-now:m1", {"killed job": time.time() - 1})
    assert not claims.claimed(redis, "m1"), "the claim of a job killed mid-way lapses"
    monkeypatch.setattr(yielding, "MAX_PAUSE_S", 0.3)
    monkeypatch.setattr(yielding, "RESUME_S", 5.0)
    done = threading.Event()
    pauser = threading.Thread(
        target=yielding.pause_while_claimed, args=(background.pid, redis, "m1", done.is_set)
    )
    with claims.claim(redis, "m1", "a long job"):
        pauser.start()
        try:
            wait_for(background.pid, "T")
            wait_for(background.pid, "S")  # past MAX_PAUSE_S it runs a while
        finally:
            done.set()
            pauser.join(timeout=5)


def test_a_claim_outlasts_its_job_and_lapsed_claims_are_swept(redis: fakeredis.FakeRedis) -> None:
    key = keys.training_now("m1")
    with claims.claim(redis, "m1", "job-a", linger_s=60):
        pass
    assert claims.claimed(redis, "m1"), "Argilla stores the logged batch after the job: it keeps the cores"
    with claims.claim(redis, "m1", "job-b", linger_s=0):
        pass
    redis.zadd(key, {"killed job": time.time() - 1})
    with claims.claim(redis, "m1", "job-c"):
        assert {member.decode() for member in redis.zrange(key, 0, -1)} == {"job-a", "job-c"}


def test_a_queued_job_holds_its_machine_until_its_own_claim_ends(redis: fakeredis.FakeRedis) -> None:
    claims.announce(redis, "m1", "job-a")
    assert claims.claimed(redis, "m1"), "queued: the background training stops before the job starts"
    with claims.claim(redis, "m1", "job-a", linger_s=0):
        pass
    assert not claims.claimed(redis, "m1"), "the job's claim took the announcement over and ended it"
    claims.announce(redis, "m1", "job-b", hold_s=0)
    assert not claims.claimed(redis, "m1"), "a job no worker starts holds the machine only hold_s"
