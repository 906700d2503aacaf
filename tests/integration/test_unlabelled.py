"""A user's own data on the real stack: a pool CSV with a text column only and no test file (figures
rest on the evaluation sample), one with a few rows labelled (the seed set) and a labelled test file,
both with the label names given to `alloop init`; and a pool read from an Argilla dataset of the
user's, some of it answered there.

The test holds the gold labels and answers through the SDK, as annotators in the UI would.
"""

import csv
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import argilla as rg
import pytest
import redis

from common import events
from tests.support.data import TREC, TREC_FILES
from tests.support.services import Services, alloop, wait_for_model
from tests.support.stack import alloop_executable

RUN = "unlab"
BARE = "unlab-bare"
"""The run on texts alone: no label anywhere, no test file."""
EVAL_SIZE = 20
SOURCE = "user-questions"
FROM = "unlab-src"
SOURCE_TEXTS = 120
WORKSPACE = "unlabelled"
BATCH = 10
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
SEEDS_PER_LABEL = 2

pytestmark = pytest.mark.timeout(900)


def trec_rows(name: str, count: int) -> list[tuple[str, str]]:
    lines = (TREC / name).read_text(encoding="latin-1").splitlines()[:count]
    return [(line.partition(" ")[2].strip(), line.split(":", 1)[0]) for line in lines]


@dataclass(frozen=True)
class Data:
    folder: Path
    gold: dict[str, str]
    """Every pool text's label, known to the test only."""
    seeds: frozenset[str]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    """pool.csv (texts, a seed set of them labelled) and a labelled test.csv."""
    folder = tmp_path_factory.mktemp("unlabelled-data")
    pool = dict(trec_rows(TREC_FILES[0], 300))
    seeds: dict[str, str] = {}
    for label in LABELS:
        seeds |= {text: label for text in [t for t, g in pool.items() if g == label][:SEEDS_PER_LABEL]}
    with (folder / "pool.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows([text, seeds.get(text, "")] for text in pool)
    with (folder / "texts.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text",), *[(text,) for text in pool]])
    with (folder / "test.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *trec_rows(TREC_FILES[1], 100)])
    return Data(folder, pool, frozenset(seeds))


@pytest.fixture(scope="module")
def bare(env: dict[str, str], data: Data, services: Services) -> str:
    created = alloop(
        env,
        "init", "--name", BARE, "--dataset", str(data.folder / "texts.csv"), "--labels", ",".join(LABELS),
        "--batch-size", str(BATCH), "--eval-size", str(EVAL_SIZE), "--stopping", "none",
        "--workspace", WORKSPACE,
    )  # fmt: skip
    return created.stdout + created.stderr


@pytest.fixture(scope="module")
def run(env: dict[str, str], data: Data, services: Services) -> str:
    folder = data.folder
    created = alloop(
        env,
        "init", "--name", RUN, "--dataset", str(folder / "pool.csv"), "--test", str(folder / "test.csv"),
        "--labels", ",".join(LABELS), "--batch-size", str(BATCH), "--stopping", "none",
        "--workspace", WORKSPACE,
    )  # fmt: skip
    return created.stdout + created.stderr


def records(client: rg.Argilla, batch: int | None = None, run: str = RUN) -> list[rg.Record]:
    dataset = client.datasets(name=run, workspace=WORKSPACE)
    assert dataset is not None
    query = None if batch is None else rg.Query(filter=rg.Filter([("metadata.batch_id", "==", batch)]))
    return list(dataset.records(query=query, with_suggestions=True, with_responses=True))


def answer(client: rg.Argilla, batch: int, gold: dict[str, str], run: str = RUN) -> None:
    chosen = records(client, batch, run)
    assert len(chosen) == BATCH
    for record in chosen:
        label = gold[record.fields["text"]]
        record.responses.add(rg.Response("label", label, user_id=client.me.id, status="submitted"))
    dataset = client.datasets(name=run, workspace=WORKSPACE)
    assert dataset is not None
    dataset.records.log(chosen)


def test_the_seed_set_is_learned_at_init_and_never_asked(run: str, client: rg.Argilla, data: Data) -> None:
    seeds = data.seeds
    assert f"{len(seeds)} labelled text(s) of the pool are the seed set" in " ".join(run.split())
    first = records(client, 0)
    assert len(first) == BATCH and not {r.fields["text"] for r in first} & seeds
    # Batch 0 is the strategy's choice, made by the seed model, whose suggestions it carries.
    assert all(r.suggestions["label"] is not None for r in first)


def test_an_unlabelled_pool_runs_three_batches_on_the_annotators_answers(
    run: str, client: rg.Argilla, data: Data, redis_client: redis.Redis
) -> None:
    seeds = data.seeds
    for batch in range(3):
        answer(client, batch, data.gold)
        updated = wait_for_model(redis_client, RUN, batch)
        assert updated.labels == len(seeds) + (batch + 1) * BATCH
        assert updated.accuracy is not None and updated.accuracy > 0  # on the labelled test file
    asked = {record.fields["text"] for record in records(client)}
    assert len(asked) == 4 * BATCH and not asked & seeds
    created = [e for _, e in events.read(redis_client, RUN) if isinstance(e, events.RunCreated)]
    assert created[0].labels == LABELS


def test_the_export_holds_the_seed_set_marked_as_such(
    run: str, env: dict[str, str], data: Data, redis_client: redis.Redis, tmp_path: Path
) -> None:
    wait_for_model(redis_client, RUN, 0)  # at least batch 0 answered (the test above answers three)
    out = tmp_path / "labels.csv"
    printed = alloop(env, "export", "--run", RUN, "--format", "csv", "--out", str(out)).stdout
    assert f"and {len(data.seeds)} seed text(s)" in " ".join(printed.split())
    with out.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    seeds = [row for row in exported if row["status"] == "seed"]
    assert {row["text"] for row in seeds} == data.seeds
    assert all(row["label"] == data.gold[row["text"]] and row["batch"] == "" for row in seeds)
    answered = [row for row in exported if row["status"] == "submitted"]
    assert answered and all(row["label"] == data.gold[row["text"]] for row in answered)


def test_texts_alone_run_three_batches_and_each_update_estimates_on_the_eval_sample(
    bare: str, client: rg.Argilla, data: Data, redis_client: redis.Redis, env: dict[str, str], tmp_path: Path
) -> None:
    assert "evaluation sample: 20 of them, 2 in each batch" in " ".join(bare.split())
    created = [e for _, e in events.read(redis_client, BARE) if isinstance(e, events.RunCreated)]
    assert created[0].evaluated_on == "eval-sample" and created[0].eval_size == EVAL_SIZE
    for batch in range(3):
        answer(client, batch, data.gold, BARE)
        updated = wait_for_model(redis_client, BARE, batch)
        assert updated.version == events.SCHEMA_VERSION
        assert updated.evaluated_on == "eval-sample" and updated.eval_n == 2 * (batch + 1)
        assert updated.labels == (batch + 1) * (BATCH - 2)  # the sample's answers are never learned
        assert updated.accuracy is not None and updated.accuracy_low is not None
        assert updated.accuracy_high is not None
        assert updated.accuracy_low <= updated.accuracy <= updated.accuracy_high
    status = alloop(env, "status", "--json").stdout
    row = next(row for row in json.loads(status)["runs"] if row["run"] == BARE)
    assert row["evaluated_on"] == "eval-sample" and row["eval_n"] == 6
    report = alloop(env, "report", "--run", BARE, "--format", "csv").stdout.splitlines()
    assert report[0].startswith("batch,labels,evaluated_on,eval_n,accuracy,accuracy_low,accuracy_high")
    assert [line.split(",")[3] for line in report[1:]] == ["2", "4", "6"]
    plot = tmp_path / "curve.png"
    alloop(env, "report", "--run", BARE, "--output", str(plot))
    assert plot.read_bytes().startswith(b"\x89PNG")


@dataclass(frozen=True)
class Source:
    ids: dict[str, str]
    """Each text's record id in the source dataset."""
    answered: frozenset[str]


@pytest.fixture(scope="module")
def source(client: rg.Argilla, data: Data) -> Source:
    """The user's Argilla dataset: a text field ``question``, a label question ``topic``, some answers."""
    workspace = client.workspaces(WORKSPACE) or rg.Workspace(name=WORKSPACE, client=client).create()
    settings = rg.Settings(
        fields=[rg.TextField(name="question")], questions=[rg.LabelQuestion(name="topic", labels=LABELS)]
    )
    dataset = rg.Dataset(name=SOURCE, workspace=workspace, settings=settings, client=client).create()
    texts = list(data.gold)[:SOURCE_TEXTS]
    answered = {text for text in texts if text in data.seeds}
    dataset.records.log(
        [
            rg.Record(
                id=f"q-{number}",
                fields={"question": text},
                responses=[rg.Response("topic", data.gold[text], user_id=client.me.id, status="submitted")]
                if text in answered
                else [],
            )
            for number, text in enumerate(texts)
        ]
    )
    return Source({text: f"q-{number}" for number, text in enumerate(texts)}, frozenset(answered))


def source_state(client: rg.Argilla) -> list[tuple[str, str, int]]:
    dataset = client.datasets(name=SOURCE, workspace=WORKSPACE)
    assert dataset is not None
    return sorted(
        (str(record.id), str(record.fields["question"]), len(record.responses))
        for record in dataset.records(with_responses=True)
    )


def test_a_pool_from_an_argilla_dataset_learns_its_answers_and_links_back(
    source: Source,
    client: rg.Argilla,
    data: Data,
    redis_client: redis.Redis,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    before = source_state(client)
    alloop(
        env,
        "init", "--name", FROM, "--from-argilla", SOURCE, "--workspace", WORKSPACE,
        "--batch-size", str(BATCH), "--eval-size", str(EVAL_SIZE), "--stopping", "none",
    )  # fmt: skip
    created = [e for _, e in events.read(redis_client, FROM) if isinstance(e, events.RunCreated)]
    assert created[0].labels == LABELS and created[0].pool_size == SOURCE_TEXTS
    first = records(client, 0, FROM)
    assert len(first) == BATCH and not {r.fields["text"] for r in first} & source.answered
    answer(client, 0, data.gold, FROM)
    updated = wait_for_model(redis_client, FROM, 0)
    assert updated.labels == len(source.answered) + BATCH - 2  # the answers there, then batch 0
    assert source_state(client) == before  # the source is only read
    out = tmp_path / "labels.csv"
    alloop(env, "export", "--run", FROM, "--format", "csv", "--out", str(out))
    with out.open(newline="", encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert {row["text"] for row in exported if row["status"] == "seed"} == source.answered
    assert len([row for row in exported if row["status"] == "submitted"]) == BATCH
    assert all(row["source_id"] == source.ids[row["text"]] for row in exported)
    sampled = [row for row in exported if row["eval_sample"] == "True"]
    assert len(sampled) == 2 and all(row["status"] == "submitted" for row in sampled)  # batch 0's two


def test_the_simulator_answers_a_pool_without_labels_only_from_a_gold_file(
    bare: str, env: dict[str, str], data: Data, redis_client: redis.Redis, tmp_path: Path
) -> None:
    wait_for_model(redis_client, BARE, 2)  # the three batches above are learned
    refused = subprocess.run(
        [alloop_executable(), "simulate", "--run", BARE, "--batches", "1"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and "give it --gold FILE" in refused.stderr
    gold = tmp_path / "gold.csv"
    with gold.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *data.gold.items()])
    alloop(env, "simulate", "--run", BARE, "--batches", "1", "--gold", str(gold))
    assert wait_for_model(redis_client, BARE, 3).eval_n == 8
