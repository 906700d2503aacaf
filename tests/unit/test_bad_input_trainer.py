"""Bad input reaching the trainer: an answer outside the run's labels, a full disk under a checkpoint."""

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.checkpoints import INITIAL, CheckpointStore, Manifest
from common.corpus import Corpus
from common.errors import UserError, describe
from common.spec import RunSpec
from tests.support.data import gold, topic_corpus
from trainer.learner import Learner

TOPICS = {
    "sport": ["the team won the match", "a goal in the final minute", "the striker scored twice"],
    "food": ["a recipe for fresh bread", "the soup needs more salt", "bake the cake for an hour"],
    "tech": ["the laptop battery died", "a new phone operating system", "the server crashed again"],
}
LABELS = sorted(TOPICS)


def corpus() -> Corpus:
    return topic_corpus(TOPICS)


@pytest.fixture
def learner(tmp_path_factory: pytest.TempPathFactory) -> Learner:
    spec = RunSpec.model_validate(
        {"name": "news", "dataset": {"path": "-"}, "batch_size": 6, "backend": "embeddings"}
    )
    built = Learner.build(spec, corpus(), LABELS, tmp_path_factory.mktemp("cache"), "cpu")
    built.first_batch()
    return built


def test_an_answer_outside_the_runs_labels_names_the_record_and_the_resume_fix(learner: Learner) -> None:
    labels = gold(learner)
    labels[2] = "weather"  # the label question was edited in Argilla, say
    awaiting = learner.awaiting
    with pytest.raises(UserError) as caught:
        learner.teach(labels)
    message = str(caught.value)
    assert f"record pool-{awaiting[2]} is labelled 'weather'" in message
    assert "not one of the run's labels food, sport, tech" in message
    assert "change those answers in Argilla" in message and "`alloop resume --run news`" in message
    assert learner.awaiting == awaiting and learner.labelled_count == 0, "nothing was learned"
    learner.teach(gold(learner))  # once the answer is fixed, the same batch is learned
    assert learner.labelled_count == 6


def disk_full(folder: Path) -> None:
    """small-text's save running out of space halfway through."""
    folder.mkdir(parents=True)
    (folder / "part.bin").write_bytes(b"x" * 1000)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "part.bin"))


def test_disk_full_while_writing_a_checkpoint_leaves_none_behind(
    learner: Learner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints")
    first = learner.awaiting
    store.save(Manifest(batch=INITIAL, model_version="m", labels=0, next_batch=first), learner.save)
    learner.teach(gold(learner))
    monkeypatch.setattr(learner.active, "save", lambda folder, **_: disk_full(folder))
    with pytest.raises(OSError) as caught:
        store.save(Manifest(batch=0, model_version="m", labels=6, next_batch=[]), learner.save)
    assert store.latest() == INITIAL
    assert sorted(path.name for path in store.folder.iterdir()) == ["initial"], "a partial checkpoint stayed"
    assert describe(caught.value).startswith("No space left on device (")
    assert describe(caught.value).endswith("part.bin): free disk space there")


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB tmpfs: writes past it fail with ENOSPC, as on a full disk."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here: the disk-full test with a real filesystem needs one")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({mounted.stderr.strip()}); needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_real_full_filesystem_under_the_checkpoints(learner: Learner, small_filesystem: Path) -> None:
    store = CheckpointStore(small_filesystem / "checkpoints")
    store.save(
        Manifest(batch=INITIAL, model_version="m", labels=0, next_batch=learner.awaiting), learner.save
    )
    learner.teach(gold(learner))
    filler = small_filesystem / "filler"
    with filler.open("wb", buffering=0) as handle, pytest.raises(OSError):  # up to the last block
        while True:
            handle.write(b"\0" * 4096)
    with pytest.raises(Exception) as caught:  # small-text wraps the OSError in its own exception
        store.save(Manifest(batch=0, model_version="m", labels=6, next_batch=[]), learner.save)
    cause = caught.value.__cause__ if not isinstance(caught.value, OSError) else caught.value
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC
    assert store.latest() == INITIAL
    assert [path.name for path in store.folder.iterdir()] == ["initial"], "a partial checkpoint stayed"
    assert "No space left on device" in describe(caught.value)
    assert describe(caught.value).endswith("free disk space there")
    filler.unlink()  # space freed: the same save now succeeds, complete and verified
    store.save(Manifest(batch=0, model_version="m", labels=6, next_batch=[]), learner.save)
    assert store.latest() == 0 and store.learner(0).is_dir()
