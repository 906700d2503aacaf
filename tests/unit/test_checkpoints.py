"""The checkpoint store: complete or absent, never half-written; and the run registry."""

from pathlib import Path

import fakeredis
import pytest

from common.checkpoints import INITIAL, CheckpointCorrupt, CheckpointStore, Manifest
from common.errors import UserError
from common.runs import RunPaths, RunRegistry, RunState, read_metrics
from common.spec import RunSpec


def write(content: str):  # type: ignore[no-untyped-def]
    def writer(folder: Path) -> None:
        folder.mkdir()
        (folder / "state.bin").write_text(content)

    return writer


def manifest(batch: int) -> Manifest:
    return Manifest(batch=batch, model_version=f"m@{batch}", labels=20 * (batch + 1), next_batch=[1, 2])


def test_checkpoints_are_found_in_order(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    assert store.latest() is None
    store.save(manifest(INITIAL), write("initial"))
    assert store.latest() == INITIAL and store.batches() == []
    for batch in (1, 0, 2):
        store.save(manifest(batch), write(f"b{batch}"))
    assert store.batches() == [0, 1, 2] and store.latest() == 2
    assert (store.path(1) / "learner" / "state.bin").read_text() == "b1"
    assert store.manifest(2).next_batch == [1, 2]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)

    def crash(folder: Path) -> None:
        folder.mkdir()
        (folder / "partial").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.save(manifest(0), crash)
    assert store.latest() is None
    assert list(tmp_path.iterdir()) == []


def test_a_write_cut_short_by_a_kill_is_swept_by_the_next_write_of_that_batch(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    left = tmp_path / ".batch-00000.k1ll3d"  # what a SIGKILL mid-save leaves
    (left / "learner").mkdir(parents=True)
    other = tmp_path / ".batch-00001.writing"
    other.mkdir()
    assert store.latest() is None
    store.save(manifest(0), write("retried"))
    assert not left.exists() and other.exists()
    assert (store.learner(0) / "state.bin").read_text() == "retried"


def test_an_existing_checkpoint_is_kept_on_retry(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save(manifest(0), write("first"))
    store.save(manifest(0), write("second"))
    assert (store.path(0) / "learner" / "state.bin").read_text() == "first"


def test_a_checkpoint_is_loaded_only_as_written(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save(manifest(0), write("state"))
    assert store.learner(0) == store.path(0) / "learner"
    (store.path(0) / "learner" / "state.bin").write_text("tampered")
    with pytest.raises(CheckpointCorrupt, match=r"state\.bin.*delete it"):
        store.learner(0)
    (store.path(0) / "learner" / "state.bin").write_text("state")
    (store.path(0) / "learner" / "extra.pkl").write_text("planted")
    with pytest.raises(CheckpointCorrupt, match=r"extra\.pkl"):
        store.learner(0)


def test_a_folder_without_manifest_is_not_a_checkpoint(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.path(3).mkdir(parents=True)
    (store.path(3) / "manifest.json").write_text("{broken")
    assert store.batches() == [] and store.latest() is None


def test_registry_refuses_a_second_run_of_the_same_name() -> None:
    registry = RunRegistry(fakeredis.FakeRedis())
    spec = RunSpec(name="r", dataset={"path": "x"})
    assert registry.register(spec)
    assert not registry.register(spec.model_copy(update={"batch_size": 5}))
    run = registry.get("r")
    assert (run.state, run.batch, run.spec.batch_size) == (RunState.active, -1, 20)
    registry.set_state("r", RunState.stopped)
    registry.set_batch("r", 3)
    assert registry.active() == [] and registry.get("r").batch == 3
    registry.delete("r")
    assert registry.names() == []
    with pytest.raises(UserError, match="no run named 'r'"):
        registry.get("r")


def test_metrics_skip_a_line_a_crash_cut_short(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    cut_short = '{"batch": 1, "accu'
    paths.metrics.write_text(f'{{"batch": 0}}\n{cut_short}\n{{"batch": 1, "accuracy": 0.6}}\n')
    assert [row["batch"] for row in read_metrics(paths)] == [0, 1]
    assert read_metrics(RunPaths(tmp_path / "none")) == []
