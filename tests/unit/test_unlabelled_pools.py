"""Pools without labels: text-only files, a seed set in a partly labelled one, label names from the spec."""

from pathlib import Path

import numpy as np
import pytest

from common.corpus import Corpus, read_corpus
from common.errors import UserError
from common.spec import DatasetSource, RunSpec
from trainer.backends.encoder import cache_path, write_atomically
from trainer.learner import Learner
from trainer.lifecycle import batch_zero

TEST_CSV = "text,label\nthe match,sport\nthe soup,food\n"


def source(folder: Path, name: str, content: str) -> DatasetSource:
    (folder / name).write_text(content, encoding="utf-8")
    (folder / "test.csv").write_text(TEST_CSV)
    return DatasetSource(path=str(folder / name), test=str(folder / "test.csv"))


def one_line_refusal(call: object) -> str:
    with pytest.raises(UserError) as caught:
        call()  # type: ignore[operator]
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_csv_with_only_a_text_column_is_an_unlabelled_pool(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.csv", "text\na goal\nbread\nthe striker\n"))
    assert corpus.train_texts == ["a goal", "bread", "the striker"]
    assert corpus.train_labels == [None, None, None]
    assert corpus.seed == [] and not corpus.has_gold
    assert corpus.run_labels(["sport", "food"]) == ["sport", "food"]


def test_label_names_are_required_when_the_pool_has_none() -> None:
    corpus = Corpus(["a goal", "bread"], [None, None], [], [])
    message = one_line_refusal(lambda: corpus.run_labels(None))
    assert "no labels to take the label names from" in message and "--labels A,B,C" in message


def test_a_txt_file_is_one_text_a_line(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.txt", "a goal\n\n  bread  \nsoup\n"))
    assert corpus.train_texts == ["a goal", "bread", "soup"]
    assert corpus.train_labels == [None, None, None]


def test_a_label_column_named_in_the_spec_must_exist(tmp_path: Path) -> None:
    pool = source(tmp_path, "pool.csv", "text\na goal\nbread\n")
    named = pool.model_copy(update={"label_column": "topic"})
    assert "has no label column 'topic'" in one_line_refusal(lambda: read_corpus(named))


def test_an_unlabelled_repeat_takes_the_label_of_its_twin(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.csv", "text,label\nbread,\nsoup,\nbread,food\n"))
    assert corpus.train_texts == ["bread", "soup"] and corpus.train_labels == ["food", None]
    assert corpus.seed == [0]


def test_a_test_split_needs_every_label(tmp_path: Path) -> None:
    (tmp_path / "pool.csv").write_text("text\na goal\nbread\n")
    (tmp_path / "test.csv").write_text("text,label\nthe match,sport\nthe soup,\n")
    data = DatasetSource(path=str(tmp_path / "pool.csv"), test=str(tmp_path / "test.csv"))
    assert "the test split has rows without a label (test.csv row 3)" in one_line_refusal(
        lambda: read_corpus(data)
    )


def test_a_seed_label_outside_the_labels_is_refused(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.csv", "text,label\na goal,sport\nbread,\nsoup,weather\n"))
    message = one_line_refusal(lambda: corpus.run_labels(["sport", "food"]))
    assert "the data has labels not in the spec's labels: weather" in message


def test_gold_labels_are_asked_for_by_name(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.csv", "text,label\na goal,sport\nbread,\n"))
    message = one_line_refusal(lambda: corpus.gold("a simulated annotator"))
    assert "a simulated annotator needs a label for every pool text, and 1 of 2 have none" in message


def test_the_seed_set_is_learned_at_init_and_batch_0_comes_from_the_strategy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    size = 200
    gold = rng.integers(2, size=size)
    names = ["food", "sport"]
    texts = [f"item {index}" for index in range(size)]
    labels: list[str | None] = [None] * size
    seed = [int(i) for i in np.flatnonzero(gold == 0)[:3]] + [int(i) for i in np.flatnonzero(gold == 1)[:3]]
    for index in seed:
        labels[index] = names[gold[index]]
    spec = RunSpec.model_validate(
        {"name": "s", "dataset": {"path": "-"}, "backend": "embeddings", "batch_size": 10}
    )
    vectors = rng.normal(size=(size, 8)) + gold[:, None]
    write_atomically(cache_path(tmp_path, spec.model, texts), vectors.astype(np.float32))
    corpus = Corpus(texts, labels, texts[:2], ["food", "sport"])
    learner = Learner.build(spec, corpus, names, tmp_path, "cpu")
    first = batch_zero(learner, corpus)
    assert learner.labelled_count == 6
    assert sorted(learner.active.indices_labeled.tolist()) == sorted(seed)
    assert len(first) == 10 and not set(first) & set(seed)
    assert learner.suggest(first)  # batch 0 can carry the seed model's suggestions


def test_gold_labels_for_a_pool_without_them_come_from_a_file(tmp_path: Path) -> None:
    corpus = read_corpus(source(tmp_path, "pool.csv", "text\na goal\nbread\n"))
    (tmp_path / "gold.csv").write_text("text,label\nbread,food\na goal,sport\nunused,food\n")
    assert corpus.gold_from(tmp_path / "gold.csv") == ["sport", "food"]
    (tmp_path / "partial.csv").write_text("text,label\nbread,food\n")
    message = one_line_refusal(lambda: corpus.gold_from(tmp_path / "partial.csv"))
    assert "partial.csv has no label for 1 of the pool's 2 texts (the first: 'a goal')" in message


def test_without_a_test_file_the_pool_is_read_alone(tmp_path: Path) -> None:
    (tmp_path / "pool.csv").write_text("text\na goal\nbread\n")
    corpus = read_corpus(DatasetSource(path=str(tmp_path / "pool.csv")))
    assert corpus.test_texts == [] and corpus.train_texts == ["a goal", "bread"]
    assert any("no test file" in note for note in corpus.notes)


def test_an_id_column_travels_with_its_texts(tmp_path: Path) -> None:
    (tmp_path / "pool.jsonl").write_text(
        '{"text": "a goal", "label": null, "source_id": "r1"}\n'
        '{"text": "bread", "label": "food", "source_id": "r2"}\n'
        '{"text": "a goal", "label": "sport", "source_id": "r3"}\n'
    )
    data = DatasetSource(path=str(tmp_path / "pool.jsonl"), id_column="source_id")
    corpus = read_corpus(data)
    assert corpus.train_texts == ["a goal", "bread"] and corpus.train_ids == ("r1", "r2")
    assert corpus.train_labels == ["sport", "food"]  # the repeat lends its label, the first row its id
