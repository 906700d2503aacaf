"""A user's own data on the real stack: a pool CSV with a text column only, a few rows of it
labelled (the seed set), a labelled test file, and the label names given to `alloop init`.

The test holds the gold labels and answers through the SDK, as annotators in the UI would.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import argilla as rg
import pytest
import redis

from common import events
from tests.support.data import TREC, TREC_FILES
from tests.support.services import Services, alloop, wait_for_model

RUN = "unlab"
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
    with (folder / "test.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *trec_rows(TREC_FILES[1], 100)])
    return Data(folder, pool, frozenset(seeds))


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


def records(client: rg.Argilla, batch: int | None = None) -> list[rg.Record]:
    dataset = client.datasets(name=RUN, workspace=WORKSPACE)
    assert dataset is not None
    query = None if batch is None else rg.Query(filter=rg.Filter([("metadata.batch_id", "==", batch)]))
    return list(dataset.records(query=query, with_suggestions=True, with_responses=True))


def answer(client: rg.Argilla, batch: int, gold: dict[str, str]) -> None:
    chosen = records(client, batch)
    assert len(chosen) == BATCH
    for record in chosen:
        label = gold[record.fields["text"]]
        record.responses.add(rg.Response("label", label, user_id=client.me.id, status="submitted"))
    dataset = client.datasets(name=RUN, workspace=WORKSPACE)
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
        assert updated.accuracy > 0  # on the labelled test file
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
