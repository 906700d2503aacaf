"""The generic per-batch folder store: names, completeness, whole writes, and leftovers of a kill."""

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from common.batch_folders import INITIAL, MANIFEST, BatchFolders, folder_name, parse_name


class Note(BaseModel):
    batch: int
    text: str


def folders(tmp_path: Path) -> BatchFolders[Note]:
    return BatchFolders(tmp_path / "store", Note)


def writing(batch: int, text: str) -> Callable[[Path], Note]:
    def fill(staging: Path) -> Note:
        (staging / "data.txt").write_text(text)
        return Note(batch=batch, text=text)

    return fill


@pytest.mark.parametrize("batch", [INITIAL, 0, 7, 99999, 123456])
def test_a_folder_name_parses_back_to_its_batch(batch: int) -> None:
    assert parse_name(folder_name(batch)) == batch


def test_the_names_on_disk_are_initial_and_five_digit_batches() -> None:
    assert folder_name(INITIAL) == "initial"
    assert folder_name(3) == "batch-00003"


NOT_BATCHES = ["batch-7", "batch-000012", "batch-00001.selections", ".batch-00001.x1", "batch-", "initial.x"]


@pytest.mark.parametrize("name", NOT_BATCHES)
def test_names_no_batch_has_are_not_parsed(name: str) -> None:
    assert parse_name(name) is None


def test_batches_are_the_complete_ones_in_order_and_latest_falls_back_to_initial(tmp_path: Path) -> None:
    store = folders(tmp_path)
    assert store.batches() == [] and store.latest() is None
    store.write(INITIAL, writing(INITIAL, "seed"))
    assert store.batches() == [] and store.latest() == INITIAL
    for batch in (2, 0, 10):
        store.write(batch, writing(batch, f"b{batch}"))
    assert store.batches() == [0, 2, 10] and store.latest() == 10
    assert (store.path(2) / "data.txt").read_text() == "b2"
    assert store.manifest(10) == Note(batch=10, text="b10")


def test_a_folder_without_a_valid_manifest_is_not_complete(tmp_path: Path) -> None:
    store = folders(tmp_path)
    store.write(0, writing(0, "ok"))
    store.path(1).mkdir()  # no manifest at all
    store.path(2).mkdir()
    (store.path(2) / MANIFEST).write_text('{"batch": 2}')  # parses as JSON, not as a Note
    assert not store.complete(1) and not store.complete(2)
    assert store.manifest_or_none(2) is None
    with pytest.raises(ValidationError):
        store.manifest(2)
    assert store.batches() == [0] and store.latest() == 0


def test_the_newest_is_found_from_the_newest_folder_back(tmp_path: Path) -> None:
    store = folders(tmp_path)
    for batch in (0, 1, 2):
        store.write(batch, writing(batch, f"b{batch}"))
    store.path(3).mkdir()  # a newer folder not complete yet
    (store.path(0) / MANIFEST).write_text("damaged")
    assert store.newest() == store.latest() == 2, "an incomplete newer folder is passed over"
    (store.path(2) / MANIFEST).unlink()
    (store.path(1) / MANIFEST).unlink()
    assert store.newest() is None and store.latest() is None and store.batches() == []
    store.write(INITIAL, writing(INITIAL, "seed"))
    assert store.newest() is None and store.latest() == INITIAL


def test_a_write_sweeps_what_a_killed_writer_of_that_batch_left(tmp_path: Path) -> None:
    store = folders(tmp_path)
    left = store.folder / ".batch-00004.k1ll3d"
    left.mkdir(parents=True)
    (left / "data.txt").write_text("half")
    other = store.folder / ".batch-00005.writing"  # another batch's: not this writer's to remove
    other.mkdir()
    store.write(4, writing(4, "retried"))
    assert not left.exists() and other.exists()
    assert sorted(child.name for child in store.folder.iterdir()) == [".batch-00005.writing", "batch-00004"]
    assert store.manifest(4).text == "retried"


def test_an_existing_folder_is_kept_and_its_writer_not_called(tmp_path: Path) -> None:
    store = folders(tmp_path)
    store.write(3, writing(3, "first"))

    def must_not_run(staging: Path) -> Note:
        raise AssertionError("a complete folder was written again")

    assert store.write(3, must_not_run) == store.path(3)
    assert (store.path(3) / "data.txt").read_text() == "first"


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = folders(tmp_path)

    def crash(staging: Path) -> Note:
        (staging / "data.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.write(0, crash)
    assert list(store.folder.iterdir()) == [] and store.latest() is None
