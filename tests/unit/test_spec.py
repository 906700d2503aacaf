"""Run-spec validation: every mistake names its field and the fix."""

from pathlib import Path

import pytest

from common.corpus import Corpus, read_corpus
from common.errors import UserError
from common.spec import Backend, DatasetSource, RunSpec, load_spec
from tests.support.data import TREC


def test_defaults_follow_the_tutorial() -> None:
    spec = load_spec(None, {"name": "r", "dataset.path": "data"})
    assert (spec.query_strategy, spec.batch_size, spec.stopping_criterion) == (
        "BreakingTies",
        20,
        "KappaAverage",
    )
    assert spec.dataset_name == "r" and spec.backend is None and spec.min_submitted == 1


def test_yaml_file_with_flags_on_top(tmp_path: Path) -> None:
    spec_file = tmp_path / "run.yaml"
    spec_file.write_text("name: a\ndataset: data/trec\nbatch_size: 10\nbackend: setfit\n")
    spec = load_spec(spec_file, {"batch_size": 30, "seed": None})
    assert (spec.name, spec.dataset.path, spec.batch_size, spec.backend) == (
        "a",
        "data/trec",
        30,
        Backend.setfit,
    )


def test_a_new_run_learns_at_two_speeds_unless_told_otherwise(tmp_path: Path) -> None:
    base = {"name": "r", "dataset.path": "data"}
    assert load_spec(None, base, "setfit").heavy_backend == Backend.setfit
    assert load_spec(None, base | {"heavy_backend": "none"}, "setfit").heavy_backend is None
    assert (
        load_spec(None, base | {"heavy_backend": "transformer"}, "setfit").heavy_backend
        == Backend.transformer
    )
    assert load_spec(None, base, "none").heavy_backend is None  # ALLOOP_HEAVY_BACKEND=none
    # A backend that fine-tunes itself needs no background model beside it.
    assert load_spec(None, base | {"backend": "setfit"}, "setfit").heavy_backend is None
    spec_file = tmp_path / "run.yaml"
    spec_file.write_text("name: a\ndataset: data\nheavy_backend: null\n")
    assert load_spec(spec_file, {}, "setfit").heavy_backend is None  # the file's own choice stands


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"backend": "bert"},
            "backend: Input should be 'auto', 'embeddings', 'hybrid', 'transformer' or 'setfit'",
        ),
        (
            {"query_strategy": "Magic"},
            "query_strategy: unknown query strategy 'Magic'; choose one of BreakingTies",
        ),
        ({"stopping_criterion": "Never"}, "stopping_criterion: unknown stopping criterion"),
        ({"batch_size": 0}, "batch_size"),
        ({"labels": ["A"]}, "labels: give at least two label names"),
        ({"labels": ["A", "A"]}, "labels: label names must be distinct"),
        ({"name": "Bad Name"}, "name: String should match pattern"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_values_name_the_field(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(UserError, match="invalid run spec") as raised:
        load_spec(None, {"name": "r", "dataset.path": "d", **overrides})
    assert fragment in str(raised.value)


def test_a_missing_dataset_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"dataset: Field required"):
        load_spec(None, {"name": "r"})
    with pytest.raises(UserError, match="does not exist"):
        read_corpus(DatasetSource(path=str(tmp_path / "nope.csv"), test="t.csv"))


def test_broken_yaml_is_a_user_error(tmp_path: Path) -> None:
    spec_file = tmp_path / "run.yaml"
    spec_file.write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_spec(spec_file, {})


def test_csv_columns_are_checked(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("sentence,category\nhello,A\n")
    (tmp_path / "test.csv").write_text("sentence,category\nbye,B\n")
    source = DatasetSource(path=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"))
    with pytest.raises(UserError, match=r"no text column 'text'.*set `dataset\.text_column`"):
        read_corpus(source)
    fixed = source.model_copy(update={"text_column": "sentence", "label_column": "category"})
    assert read_corpus(fixed) == Corpus(["hello"], ["A"], ["bye"], ["B"])


def test_jsonl_and_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "x", "label": "P"}\n{"text": "y", "label": "Q"}\n')
    corpus = read_corpus(DatasetSource(path=str(tmp_path / "a.jsonl"), test=str(tmp_path / "a.jsonl")))
    assert corpus.label_names() == ["P", "Q"]
    (tmp_path / "a.xml").write_text("<x/>")
    with pytest.raises(UserError, match=r"use a \.csv, \.jsonl, \.parquet or \.txt \(one text a line\)"):
        read_corpus(DatasetSource(path=str(tmp_path / "a.xml"), test="t"))


def test_labels_that_do_not_match_the_data_are_refused() -> None:
    corpus = read_corpus(DatasetSource(path=str(TREC)))
    assert corpus.label_names() == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    # 5444 questions, of which 71 repeat an earlier one with the same label: kept once, with a note.
    assert len(corpus.train_texts) == 5373 and len(corpus.test_texts) == 499
    assert corpus.notes and "dropped 71 repeated text(s)" in corpus.notes[0]
    with pytest.raises(UserError, match="labels not in the spec's labels: ABBR, DESC"):
        corpus.check_labels(["ENTY", "HUM", "LOC", "NUM"])


def test_a_damaged_trec_line_is_located(tmp_path: Path) -> None:
    (tmp_path / "train_5500.label").write_text("DESC:manner How ?\nbroken line\n")
    (tmp_path / "TREC_10.label").write_text("NUM:date When ?\n")
    with pytest.raises(UserError, match=r"train_5500.label:2 is not a TREC line"):
        read_corpus(DatasetSource(path=str(tmp_path)))


def test_spec_round_trips_as_json() -> None:
    spec = RunSpec(name="r", dataset=DatasetSource(path="p"), labels=["A", "B"])
    assert RunSpec.model_validate_json(spec.model_dump_json()) == spec


def test_the_offline_demo_data_ships_in_a_wheel() -> None:
    from cli.demo import _shipped_news

    corpus = read_corpus(DatasetSource(path=str(_shipped_news())))
    assert corpus.label_names() == ["business", "entertainment", "politics", "sports", "tech"]
    assert len(corpus.train_texts) > 1500 and len(corpus.test_texts) > 400


def test_stopping_none_lets_the_user_decide_when_to_stop() -> None:
    assert (
        load_spec(None, {"name": "r", "dataset.path": "d", "stopping_criterion": "none"}).stopping_criterion
        is None
    )
