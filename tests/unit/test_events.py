"""Event schemas round-trip through Redis Streams, and consumer groups can read them."""

import json

import fakeredis
import pytest

from common import events, keys

SAMPLES: list[events.Event] = [
    events.RunCreated(
        run="r",
        dataset="d",
        workspace="w",
        labels=["A", "B"],
        pool_size=10,
        batch_size=2,
        backend="embeddings",
        query_strategy="BreakingTies",
    ),
    events.BatchLogged(run="r", batch=1, records=20, model_version="embeddings:m/batch-0"),
    events.BatchCompleted(run="r", batch=1, submitted=19, discarded=1, job_id="j"),
    events.ModelUpdated(
        run="r",
        batch=1,
        model_version="embeddings:m/batch-1",
        labels=39,
        accuracy=0.8,
        macro_f1=0.7,
        per_class_f1={"A": 0.9, "B": 0.5},
        timings=events.Timings(train=0.2, total=1.0),
    ),
    events.RunStopped(run="r", reason="criterion", batch=5),
    events.RunResumed(run="r", batch=6),
    events.JobFailed(run="r", batch=2, job_id="j", error="boom"),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_each_event_round_trips(event: events.Event) -> None:
    assert events.decode({b"event": events.encode(event)["event"].encode()}) == event


def test_every_event_type_is_versioned_and_distinct() -> None:
    assert len({event.type for event in SAMPLES}) == len(SAMPLES)
    assert all(event.version == events.SCHEMA_VERSION for event in SAMPLES)


def test_an_unknown_type_is_rejected() -> None:
    with pytest.raises(ValueError):
        events.decode({b"event": b'{"type": "run.exploded", "run": "r", "version": 1}'})


def test_published_events_reach_the_run_stream_and_the_all_runs_stream_in_order() -> None:
    redis = fakeredis.FakeRedis()
    for event in SAMPLES:
        events.publish(redis, event)
    events.publish(redis, events.BatchLogged(run="other", batch=0, records=1))
    assert [event for _, event in events.read(redis, "r")] == SAMPLES
    assert [event.run for _, event in events.read(redis)] == ["r"] * len(SAMPLES) + ["other"]


def test_a_consumer_group_reads_each_event_once() -> None:
    redis = fakeredis.FakeRedis()
    redis.xgroup_create(keys.ALL_EVENTS, "dashboards", id="0", mkstream=True)
    for event in SAMPLES[:3]:
        events.publish(redis, event)
    first = redis.xreadgroup("dashboards", "c1", {keys.ALL_EVENTS: ">"}, count=10)
    assert [events.decode(fields) for _, fields in first[0][1]] == SAMPLES[:3]
    assert redis.xreadgroup("dashboards", "c2", {keys.ALL_EVENTS: ">"}, count=10) == []


def test_reading_after_the_last_id_misses_nothing_published_between_reads() -> None:
    client = fakeredis.FakeRedis()
    assert events.last_id(client, "r1") == "0"
    events.publish(client, events.RunResumed(run="r1", batch=0))
    after = events.last_id(client, "r1")
    events.publish(client, events.RunResumed(run="r1", batch=1))  # before anyone reads
    assert [event.batch for _, event in events.read(client, "r1", after=after)] == [1]  # type: ignore[union-attr]


def test_a_model_updated_of_schema_2_reads_its_figures_as_the_learners() -> None:
    old = SAMPLES[3].model_dump(mode="json", exclude={"fast", "heavy", "fast_accuracy", "heavy_accuracy"})
    read = events.decode({b"event": json.dumps({**old, "version": 2}).encode()})
    assert isinstance(read, events.ModelUpdated) and read.version == 2
    assert (read.fast.accuracy, read.fast.labels, read.fast_accuracy) == (0.8, 39, 0.8)
    assert read.heavy is None and read.served_by == "fast"
