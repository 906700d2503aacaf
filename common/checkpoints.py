"""Checkpoints of a run's learner on disk: one folder per batch, complete or absent."""

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from common.batch_folders import INITIAL as INITIAL  # where callers have always imported it from
from common.batch_folders import BatchFolders
from common.events import AutoStop

LEARNER = "learner"


class CheckpointCorrupt(RuntimeError):
    """A checkpoint's files differ from the checksums written with them."""


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by its path relative to ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                found[path.relative_to(folder).as_posix()] = hashlib.file_digest(handle, "sha256").hexdigest()
    return found


def verified(folder: Path, expected: dict[str, str], fix: str) -> Path:
    """``folder``, once every file under it matches ``expected`` (``digests`` written with it); else
    CheckpointCorrupt naming the files that differ and ``fix``."""
    if not expected:
        raise CheckpointCorrupt(f"{folder.parent} lists no file checksums; it cannot be trusted")
    found = digests(folder)
    if found != expected:
        changed = sorted(set(found) ^ set(expected) | {f for f in found if found[f] != expected.get(f)})
        raise CheckpointCorrupt(
            f"{folder.parent} does not match its manifest ({', '.join(changed[:5])}); {fix}"
        )
    return folder


class Manifest(BaseModel):
    """What a checkpoint holds: the learner after learning ``batch``, and the batch it chose next."""

    batch: int
    model_version: str
    labels: int
    next_batch: list[int] = Field(description="Pool indices of the batch queried after this state.")
    metrics: dict[str, object] = Field(default_factory=dict)
    stopped: AutoStop | None = Field(
        default=None, description="Why the run stopped after this batch; next_batch is then not logged."
    )
    scores_batch: int | None = Field(
        default=None, description="Set when the background model's scores of this batch chose next_batch."
    )
    suggestions: list[tuple[str, float]] | None = Field(
        default=None,
        description="The label and score suggested for each text of next_batch, by model_version; none "
        "before any label.",
    )
    corpus: str | None = Field(
        default=None, description="SHA-256 of the pool and test split whose indices this run uses."
    )
    eval_sample: list[int] = Field(
        default_factory=list,
        description="Pool indices of the run's evaluation sample (in the initial checkpoint's manifest).",
    )
    files: dict[str, str] = Field(
        default_factory=dict, description="SHA-256 of every file of the learner, by path in its folder."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class CheckpointStore(BatchFolders[Manifest]):
    """Checkpoint folders ``initial`` and ``batch-NNNNN`` under one run's ``checkpoints/``."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, Manifest)

    def save(self, manifest: Manifest, write_learner: Callable[[Path], None]) -> Path:
        """Write checkpoint ``manifest.batch`` whole: the learner, then the manifest with its checksums.

        A checkpoint that already exists is kept: a retried job finds the same state.
        """

        def fill(staging: Path) -> Manifest:
            write_learner(staging / LEARNER)
            return manifest.model_copy(update={"files": digests(staging / LEARNER)})

        return self.write(manifest.batch, fill)

    def learner(self, batch: int) -> Path:
        """The learner folder of checkpoint ``batch``, after checking every file against the manifest.

        Learners are pickles underneath: only what this store wrote, unchanged since, is loaded.
        """
        return verified(
            self.path(batch) / LEARNER,
            self.manifest(batch).files,
            "restore it from a backup or delete it and every later one to redo those batches",
        )

    def note_path(self, batch: int, name: str) -> Path:
        """A file written after checkpoint ``batch``, beside it (outside its checksums): what a job
        works out once the next batch is logged, and can work out again if a crash loses it."""
        return self.folder / f"{self.path(batch).name}.{name}"
