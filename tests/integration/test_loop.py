"""The active-learning loop end to end: real Argilla, real Redis, a watcher and a forking rq worker."""

import json

import argilla as rg
import pytest
import redis

from common import events, keys
from common.checkpoints import CheckpointStore
from common.corpus import read_corpus
from common.runs import RunPaths
from common.spec import DatasetSource
from tests.support.data import TREC
from tests.support.services import Services, alloop, wait_for_model
from tests.support.stack import LocalStack

RUN = "e2e"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def three_batches(env: dict[str, str], services: Services, redis_client: redis.Redis) -> None:
    alloop(env, "init", "--name", RUN, "--dataset", str(TREC), "--batch-size", "20", "--workspace", "e2e")
    alloop(env, "simulate", "--run", RUN, "--batches", "3", "--timeout", "300")
    wait_for_model(redis_client, RUN, 2)


def batches(client: rg.Argilla) -> dict[int, list[rg.Record]]:
    dataset = client.datasets(name=RUN, workspace="e2e")
    found: dict[int, list[rg.Record]] = {}
    for record in dataset.records(with_suggestions=True):
        found.setdefault(record.metadata["batch_id"], []).append(record)
    return found


def test_batches_hold_distinct_records_with_suggestions_after_batch_0(
    three_batches: None, client: rg.Argilla
) -> None:
    found = batches(client)
    assert sorted(found) == [0, 1, 2, 3]
    assert all(len(records) == 20 for records in found.values())
    ids = [record.id for records in found.values() for record in records]
    assert len(set(ids)) == len(ids) == 80, "a record was queried twice"
    assert all(not record.suggestions for record in found[0])
    for batch in (1, 2, 3):
        for record in found[batch]:
            suggestion = record.suggestions["label"]
            assert suggestion.value in {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
            assert 0 < suggestion.score <= 1
            assert suggestion.agent.endswith(f"/batch-{batch - 1}")


def test_events_arrive_in_order(three_batches: None, redis_client: redis.Redis) -> None:
    kinds = [(event.type, getattr(event, "batch", None)) for _, event in events.read(redis_client, RUN)]
    assert kinds[:2] == [("run.created", None), ("batch.logged", 0)]
    position = {kind: kinds.index(kind) for kind in kinds}
    assert len(position) == len(kinds), f"an event came twice: {kinds}"
    for batch in range(3):
        chain = [
            ("batch.logged", batch),
            ("batch.completed", batch),
            ("batch.logged", batch + 1),
            ("model.updated", batch),
        ]
        assert [position[kind] for kind in chain] == sorted(position[kind] for kind in chain), chain


def test_one_checkpoint_per_batch_and_metrics_match_a_recomputation(
    three_batches: None, stack: LocalStack, redis_client: redis.Redis
) -> None:
    from trainer.learner import Learner

    paths = RunPaths.of(stack.home, RUN)
    store = CheckpointStore(paths.checkpoints)
    assert store.batches()[:3] == [0, 1, 2]
    updates = {e.batch: e for _, e in events.read(redis_client, RUN) if isinstance(e, events.ModelUpdated)}
    corpus = read_corpus(DatasetSource(path=str(TREC)))
    for batch in (0, 1, 2):
        learner = Learner.load(store.learner(batch), corpus, paths.cache, "cpu")
        metrics = learner.evaluate()
        assert metrics.accuracy == pytest.approx(updates[batch].accuracy, abs=1e-12)
        assert metrics.labels == updates[batch].labels == 20 * (batch + 1)
    lines = paths.metrics.read_text().splitlines()
    assert len(lines) >= 3


def test_each_neighbours_weight_chosen_after_a_log_serves_the_next_update(
    three_batches: None, stack: LocalStack, redis_client: redis.Redis
) -> None:
    """The weight cross-validated after checkpoint k's log is noted beside it, and it is what the
    model of checkpoint k+1 averaged with, as its event says."""
    from trainer.job import AVERAGING, AVERAGING_JSON
    from trainer.learner import Learner

    paths = RunPaths.of(stack.home, RUN)
    store = CheckpointStore(paths.checkpoints)
    updates = {e.batch: e for _, e in events.read(redis_client, RUN) if isinstance(e, events.ModelUpdated)}
    corpus = read_corpus(DatasetSource(path=str(TREC)))
    for batch in (1, 2):
        noted, _ = AVERAGING_JSON.validate_json(store.note_path(batch - 1, AVERAGING).read_bytes())
        learner = Learner.load(store.learner(batch), corpus, paths.cache, "cpu")
        assert learner.state.averaging == noted
        choice = updates[batch].choice
        assert choice is not None and choice.neighbours_weight == learner.averaging.weight


def test_the_run_continues_after_the_watcher_and_worker_are_killed(
    three_batches: None,
    env: dict[str, str],
    services: Services,
    redis_client: redis.Redis,
    client: rg.Argilla,
) -> None:
    services.kill("watcher")
    services.kill("worker")
    services.start("watcher")
    services.start("worker")
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    update = wait_for_model(redis_client, RUN, 3)
    assert update.labels == 80
    assert sorted(batches(client)) == [0, 1, 2, 3, 4]
    status = alloop(env, "status", "--json").stdout
    assert f'"run": "{RUN}"' in status


def test_report_writes_a_png_and_csv(three_batches: None, env: dict[str, str], stack: LocalStack) -> None:
    csv = alloop(env, "report", "--run", RUN, "--format", "csv").stdout.splitlines()
    assert csv[0] == (
        "batch,labels,evaluated_on,eval_n,accuracy,accuracy_low,accuracy_high,macro_f1,macro_f1_low,macro_f1_high,"
        "served_by,fast_accuracy,heavy_accuracy,heavy_labels"
    )
    assert csv[1].startswith("0,20,test,")  # the test split's every label
    accuracy = csv[1].split(",")[4]
    assert csv[1].endswith(f",fast,{accuracy},,")  # one model, which serves: its own figures are the headline
    alloop(env, "report", "--run", RUN)
    png = RunPaths.of(stack.home, RUN).root / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def status_of_run(env: dict[str, str]) -> dict[str, object]:
    """This module's run in `alloop status --json` (other modules' runs share the stack)."""
    runs = json.loads(alloop(env, "status", "--json").stdout)["runs"]
    [found] = [run for run in runs if run["run"] == RUN]
    return dict(found)


def test_stop_and_resume_keep_the_labels(
    three_batches: None, env: dict[str, str], services: Services, redis_client: redis.Redis
) -> None:
    batch = status_of_run(env)["batch"]
    alloop(env, "stop", "--run", RUN)
    assert status_of_run(env)["state"] == "stopped"
    alloop(env, "resume", "--run", RUN)
    assert status_of_run(env)["state"] == "active"
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    assert wait_for_model(redis_client, RUN, batch).batch == batch
    kinds = [(e.type, getattr(e, "reason", None)) for _, e in events.read(redis_client, RUN)]
    assert ("run.stopped", "user") in kinds and ("run.resumed", None) in kinds


def test_a_consumer_group_on_the_real_stream_reads_every_event_once(
    three_batches: None, redis_client: redis.Redis
) -> None:
    stream = keys.run_events(RUN)
    redis_client.xgroup_create(stream, "dashboard", id="0")
    seen = []
    while replies := redis_client.xreadgroup("dashboard", "screen-1", {stream: ">"}, count=50):
        for entry_id, fields in replies[0][1]:
            seen.append(events.decode(fields))
            redis_client.xack(stream, "dashboard", entry_id)
    assert seen == [event for _, event in events.read(redis_client, RUN)]
    assert redis_client.xpending(stream, "dashboard")["pending"] == 0


def test_events_print_as_json_lines(three_batches: None, env: dict[str, str]) -> None:
    lines = alloop(env, "events", "--run", RUN, "--json").stdout.splitlines()
    assert json.loads(lines[0])["type"] == "run.created"
    assert all(json.loads(line)["version"] == events.SCHEMA_VERSION for line in lines)


def test_no_secret_reaches_logs_events_or_run_files(
    three_batches: None,
    services: Services,
    stack: LocalStack,
    connection: dict[str, str],
    redis_client: redis.Redis,
) -> None:
    secret = connection["ARGILLA_API_KEY"]
    places = {str(path): path.read_text(errors="replace") for path in services.logs.glob("*.log")}
    run_dir = RunPaths.of(stack.home, RUN).root
    for path in [
        run_dir / "metrics.jsonl",
        *run_dir.glob("checkpoints/*/manifest.json"),
        *run_dir.glob("*.json"),
    ]:
        places[str(path)] = path.read_text()
    places["events"] = "\n".join(event.model_dump_json() for _, event in events.read(redis_client))
    assert len(places) > 3
    leaked = [place for place, text in places.items() if secret in text]
    assert not leaked, f"the Argilla API key appears in {leaked}"
