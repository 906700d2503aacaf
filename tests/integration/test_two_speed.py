"""Two-speed learning end to end: the fast learner serves, a background SetFit model takes over
when better, and it is the model the run's headline figures and `alloop export-model` give."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import argilla as rg
import pandas as pd
import pytest
import redis

from common import events
from common.corpus import read_corpus
from common.spec import DatasetSource
from tests.support.data import TREC
from tests.support.services import Services, alloop
from tests.support.stack import LocalStack

RUN = "duo"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def small_trec(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """400 pool and 150 test questions, so the background model trains and scores in seconds."""
    corpus = read_corpus(DatasetSource(path=str(TREC)))
    folder = tmp_path_factory.mktemp("small-trec")
    train, test = folder / "train.csv", folder / "test.csv"
    pd.DataFrame({"text": corpus.train_texts[:400], "label": corpus.train_labels[:400]}).to_csv(train)
    pd.DataFrame({"text": corpus.test_texts[:150], "label": corpus.test_labels[:150]}).to_csv(test)
    return train, test


@pytest.fixture(scope="module")
def history(
    stack: LocalStack,
    connection: dict[str, str],
    small_trec: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[events.Event]]:
    """Batch 0 labelled, the background model's scores stored, then batch 1 labelled and learned."""
    env = {**stack.env, **connection, "ALLOOP_POLL_INTERVAL": "0.5"}
    services = Services(env, tmp_path_factory.mktemp("two-speed-logs"))
    services.start("watcher")
    services.start("worker", "--queues", "train")
    services.start("worker.heavy", "--queues", "heavy")
    client = redis.Redis.from_url(connection["REDIS_URL"])
    train, test = small_trec
    try:
        alloop(env, "init", "--name", RUN, "--dataset", str(train), "--test", str(test),
               "--heavy-backend", "setfit", "--workspace", "e2e", "--stopping", "none")  # fmt: skip
        alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
        # The background model trains on batch 0 meanwhile; batch 1's job then weighs its scores.
        wait_for(client, lambda found: any(isinstance(e, events.HeavyUpdated) for e in found), timeout=600)
        alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
        seen = wait_for(client, lambda found: model_of(found, 1) is not None)
        yield seen
    finally:
        services.stop_all()


def model_of(found: list[events.Event], batch: int) -> events.ModelUpdated | None:
    return next((e for e in found if isinstance(e, events.ModelUpdated) and e.batch == batch), None)


def wait_for(client: redis.Redis, done: object, timeout: float = 300) -> list[events.Event]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [event for _, event in events.read(client, RUN)]
        failed = [event for event in found if isinstance(event, events.JobFailed)]
        assert not failed, f"a job failed: {failed[0].error}"
        if done(found):  # type: ignore[operator]
            return found
        time.sleep(0.5)
    pytest.fail("the run did not get there in time")


def test_the_background_model_reports_and_is_weighed(history: list[events.Event]) -> None:
    heavy = [event for event in history if isinstance(event, events.HeavyUpdated)]
    assert heavy, "the background model never reported"
    assert [event.batch for event in heavy] == sorted({event.batch for event in heavy})
    # Alone, or averaged with the fast model where that scored better on the held-out labels.
    assert all(event.model_version.startswith(("setfit:", "setfit.blend:")) for event in heavy)
    weighed = [e for e in history if isinstance(e, events.ModelUpdated) and e.heavy_accuracy is not None]
    assert weighed, "no training job saw the background model's scores"
    for event in weighed:
        expected = "heavy" if event.heavy_accuracy > event.fast_accuracy else "fast"  # type: ignore[operator]
        assert event.served_by == expected, event
        # The headline is the serving model's: the one that chose the next batch and suggests its labels.
        serving = event.heavy if expected == "heavy" else event.fast
        assert serving is not None and (event.accuracy, event.model_version) == (
            serving.accuracy,
            serving.model_version,
        )
        assert event.labels == event.fast.labels >= (event.heavy_labels or 0)


def test_each_batch_is_pre_labelled_by_the_model_that_chose_it(
    history: list[events.Event], client: rg.Argilla
) -> None:
    logged = {e.batch: e for e in history if isinstance(e, events.BatchLogged) and e.batch > 0}
    records = client.datasets(name=RUN, workspace="e2e").records(with_suggestions=True)
    agents: dict[int, set[str]] = {}
    for record in records:
        if record.metadata["batch_id"] > 0:
            agents.setdefault(record.metadata["batch_id"], set()).add(record.suggestions["label"].agent)
    for batch, event in logged.items():
        assert agents[batch] == {event.model_version}
        prefixes = ("setfit:", "setfit.blend:") if event.served_by == "heavy" else ("auto.",)
        assert event.model_version is not None and event.model_version.startswith(prefixes)


def test_the_background_model_overtakes_and_is_exported(
    history: list[events.Event], stack: LocalStack, connection: dict[str, str], tmp_path: Path
) -> None:
    from setfit import SetFitModel

    # SetFit on 20 TREC questions is far ahead of the fast learner (0.75 against 0.58 at 40 labels
    # on the full pool, 0.1 to 0.2 apart at every count measured): it serves batch 2.
    updated = model_of(history, 1)
    assert updated is not None and updated.served_by == "heavy" and updated.heavy is not None
    assert updated.accuracy == updated.heavy_accuracy and updated.model_version == updated.heavy.model_version
    env = {**stack.env, **connection}
    status = json.loads(alloop(env, "status", "--json").stdout)
    row = next(row for row in status["runs"] if row["run"] == RUN)
    assert row["served_by"] == "heavy" and row["accuracy"] == updated.accuracy
    out = tmp_path / "model"
    printed = " ".join(alloop(env, "export-model", "--run", RUN, "--out", str(out)).stdout.split())
    assert "background (serving) setfit model" in printed
    info = json.loads((out / "alloop.json").read_text())
    assert (info["which"], info["serving"], info["model_version"]) == ("heavy", True, updated.model_version)
    assert info["metrics"]["accuracy"] == updated.accuracy
    # Averaged with the fast model where that did better: both are there, each in its own form.
    blended = info["fast_weight"] > 0
    assert blended == updated.model_version.startswith("setfit.blend:")
    assert (out / "fast").is_dir() == blended
    model = SetFitModel.from_pretrained(str(out / "heavy" if blended else out), device="cpu")
    assert set(model.predict(["How far is the moon ?", "Who wrote Hamlet ?"])) <= set(info["labels"])
    fast = tmp_path / "fast"
    alloop(env, "export-model", "--run", RUN, "--out", str(fast), "--model", "fast")
    assert json.loads((fast / "alloop.json").read_text())["metrics"]["accuracy"] == updated.fast_accuracy
