"""The watcher's decisions, on fakeredis and a stand-in for Argilla."""

import logging
import threading

import fakeredis
import httpx
import pytest

from common import claims, events, keys
from common.argilla_adapter import BatchRecord
from common.connection import Connection
from common.errors import UserError
from common.queues import fetch_job, train_queue
from common.runs import RunRegistry, RunState
from common.spec import RunSpec
from watcher import service
from watcher.decide import progress
from watcher.service import Watcher


class FakeArgilla:
    """Answers batch_records from a dict: (run, batch) -> records."""

    def __init__(self) -> None:
        self.batches: dict[tuple[str, int], list[BatchRecord]] = {}

    def batch_records(self, spec: RunSpec, batch: int) -> list[BatchRecord]:
        return self.batches.get((spec.name, batch), [])


def record(index: int, *, completed: bool = False, discarded: bool = False) -> BatchRecord:
    return BatchRecord(
        index=index, completed=completed, discarded=discarded, label="A" if completed else None
    )


@pytest.fixture
def argilla() -> FakeArgilla:
    return FakeArgilla()


def register(redis: fakeredis.FakeRedis, name: str = "r1", batch: int = 0) -> None:
    registry = RunRegistry(redis)
    registry.register(RunSpec(name=name, dataset={"path": "x"}, labels=["A", "B"]))
    registry.set_batch(name, batch)


def completed_events(redis: fakeredis.FakeRedis, run: str = "r1") -> list[events.BatchCompleted]:
    return [e for _, e in events.read(redis, run) if isinstance(e, events.BatchCompleted)]


def test_progress_counts_each_record_once() -> None:
    batch = progress(
        [record(1, completed=True), record(1, completed=True), record(2, discarded=True), record(3)]
    )
    assert (batch.total, batch.submitted, batch.discarded, batch.pending, batch.done) == (3, 1, 1, 1, False)
    assert not progress([]).done


def test_a_complete_batch_is_enqueued_once_with_an_event(
    redis: fakeredis.FakeRedis, argilla: FakeArgilla
) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(i, completed=True) for i in range(3)]
    watcher = Watcher(argilla, redis)  # type: ignore[arg-type]
    assert watcher.poll() == [keys.train_job_id("r1", 0)]
    assert watcher.poll() == []
    assert train_queue(redis).job_ids == [keys.train_job_id("r1", 0)]
    [event] = completed_events(redis)
    assert (event.batch, event.submitted, event.discarded) == (0, 3, 0)


def test_the_job_carries_the_answers_the_watcher_read(
    redis: fakeredis.FakeRedis, argilla: FakeArgilla
) -> None:
    register(redis)
    answers = [record(0, completed=True), record(1, discarded=True)]
    argilla.batches[("r1", 0)] = answers
    [job_id] = Watcher(argilla, redis).poll()  # type: ignore[arg-type]
    job = fetch_job(job_id, redis)
    assert job.args == ["r1", 0]
    assert [BatchRecord.model_validate(answer) for answer in job.kwargs["answers"]] == answers


def test_the_job_it_queues_claims_the_machine_at_once(
    redis: fakeredis.FakeRedis, argilla: FakeArgilla
) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True), record(1)]
    watcher = Watcher(argilla, redis, machine="m1")  # type: ignore[arg-type]
    watcher.poll()
    assert not claims.claimed(redis, "m1"), "a batch still being answered lets the background train"
    argilla.batches[("r1", 0)] = [record(0, completed=True), record(1, completed=True)]
    watcher.poll()
    assert claims.claimed(redis, "m1"), "the background training stops before the job starts, not after"
    assert not claims.claimed(redis, "m2")


def test_an_incomplete_batch_waits(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True), record(1)]
    assert Watcher(argilla, redis).poll() == []  # type: ignore[arg-type]
    assert train_queue(redis).count == 0 and completed_events(redis) == []


def test_discarded_records_count_as_done(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True), record(1, discarded=True)]
    assert Watcher(argilla, redis).poll() == [keys.train_job_id("r1", 0)]  # type: ignore[arg-type]
    assert completed_events(redis)[0].discarded == 1


def test_an_all_discarded_batch_is_done_too(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, discarded=True), record(1, discarded=True)]
    assert len(Watcher(argilla, redis).poll()) == 1  # type: ignore[arg-type]


def test_two_watchers_never_cause_two_trainings(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True)]
    first, second = Watcher(argilla, redis), Watcher(argilla, redis)  # type: ignore[arg-type]
    assert len(first.poll() + second.poll() + first.poll()) == 1
    assert train_queue(redis).count == 1
    assert len(completed_events(redis)) == 1


def test_a_restarted_watcher_does_not_enqueue_again_after_the_job_ran(
    redis: fakeredis.FakeRedis, argilla: FakeArgilla
) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True)]
    Watcher(argilla, redis).poll()  # type: ignore[arg-type]
    redis.lpop(train_queue(redis).key)  # a worker took the job; its id stays known to rq
    assert Watcher(argilla, redis).poll() == []  # type: ignore[arg-type]


def test_a_batch_with_a_training_job_is_not_read_from_argilla_again(redis: fakeredis.FakeRedis) -> None:
    class Counting(FakeArgilla):
        def __init__(self) -> None:
            super().__init__()
            self.reads = 0

        def batch_records(self, spec: RunSpec, batch: int) -> list[BatchRecord]:
            self.reads += 1
            return super().batch_records(spec, batch)

    register(redis)
    counting = Counting()
    counting.batches[("r1", 0)] = [record(0, completed=True)]
    watcher = Watcher(counting, redis)  # type: ignore[arg-type]
    watcher.poll()
    redis.lpop(train_queue(redis).key)  # a worker is training on it
    assert [watcher.poll() for _ in range(3)] == [[], [], []]
    assert counting.reads == 1
    RunRegistry(redis).set_batch("r1", 1)  # logged the next batch: read again
    watcher.poll()
    assert counting.reads == 2


def test_stopped_runs_and_runs_without_a_batch_are_ignored(
    redis: fakeredis.FakeRedis, argilla: FakeArgilla
) -> None:
    register(redis, "stopped")
    register(redis, "fresh", batch=-1)
    RunRegistry(redis).set_state("stopped", RunState.stopped)
    argilla.batches[("stopped", 0)] = [record(0, completed=True)]
    assert Watcher(argilla, redis).poll() == []  # type: ignore[arg-type]


def test_the_next_batch_is_checked_once_logged(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    register(redis)
    argilla.batches[("r1", 0)] = [record(0, completed=True)]
    argilla.batches[("r1", 1)] = [record(5, completed=True)]
    watcher = Watcher(argilla, redis)  # type: ignore[arg-type]
    watcher.poll()
    RunRegistry(redis).set_batch("r1", 1)
    assert watcher.poll() == [keys.train_job_id("r1", 1)]


def test_one_broken_run_does_not_stop_the_others(redis: fakeredis.FakeRedis, argilla: FakeArgilla) -> None:
    class Flaky(FakeArgilla):
        def batch_records(self, spec: RunSpec, batch: int) -> list[BatchRecord]:
            if spec.name == "broken":
                raise RuntimeError("dataset deleted")
            return super().batch_records(spec, batch)

    flaky = Flaky()
    register(redis, "broken")
    register(redis, "fine")
    flaky.batches[("fine", 0)] = [record(0, completed=True)]
    assert Watcher(flaky, redis).poll() == [keys.train_job_id("fine", 0)]  # type: ignore[arg-type]


class BrokenArgilla(FakeArgilla):
    """Fails for the runs in ``broken`` with ``error``; answers the others from ``batches``."""

    def __init__(self, error: Exception, broken: set[str]) -> None:
        super().__init__()
        self.error = error
        self.broken = broken

    def batch_records(self, spec: RunSpec, batch: int) -> list[BatchRecord]:
        if spec.name in self.broken:
            raise self.error
        return super().batch_records(spec, batch)


def test_an_unreachable_argilla_stops_the_poll_so_that_the_loop_backs_off(redis: fakeredis.FakeRedis) -> None:
    register(redis)
    watcher = Watcher(BrokenArgilla(httpx.ConnectError("refused"), {"r1"}), redis)  # type: ignore[arg-type]
    with pytest.raises(httpx.ConnectError):
        watcher.poll()


def test_a_broken_run_is_logged_once_and_does_not_hold_up_the_others(
    redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    register(redis, "r1")
    register(redis, "r2")
    argilla = BrokenArgilla(UserError("Argilla has no dataset 'r1'; start the run again"), {"r1"})
    argilla.batches[("r2", 0)] = [record(1, completed=True)]
    watcher = Watcher(argilla, redis)  # type: ignore[arg-type]
    assert watcher.poll() == [keys.train_job_id("r2", 0)]
    watcher.poll()
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert failures == ["run r1: Argilla has no dataset 'r1'; start the run again"]


class CountingStop(threading.Event):
    """A stop that is never set but records each wait asked of it, without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0.0))
        return False


def test_a_watcher_started_before_argilla_waits_for_it_with_the_outage_backoff(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tries = iter([httpx.ConnectError("refused")] * 5 + [None])

    def adapter(connection: Connection) -> object:
        error = next(tries)
        if error is not None:
            raise error
        return "signed in"

    monkeypatch.setattr(service, "_signed_in", adapter)
    stop = CountingStop()
    connection = Connection(
        argilla_api_url="http://argilla:6900", argilla_api_key="k" * 12, redis_url="redis://r"
    )
    with caplog.at_level(logging.INFO, logger="alloop.watcher"):
        assert service.connect(connection, 1.0, stop) == "signed in"
    assert stop.waits == [2.0, 4.0, 8.0, service.MAX_BACKOFF_S, service.MAX_BACKOFF_S]
    failures = [r.getMessage() for r in caplog.records if "failed, next try" in r.getMessage()]
    assert len(failures) == 5 and all("Argilla does not answer" in line for line in failures)
    assert "connecting works again" in caplog.text


def test_a_stop_while_waiting_for_argilla_ends_the_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(connection: Connection) -> object:
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(service, "_signed_in", unreachable)
    stop = threading.Event()
    stop.set()
    connection = Connection(
        argilla_api_url="http://argilla:6900", argilla_api_key="k" * 12, redis_url="redis://r"
    )
    assert service.connect(connection, 0.25, stop) is None
