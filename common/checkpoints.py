"""Checkpoints of a run's learner on disk: one folder per batch, complete or absent."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from common.files import staged_folder

INITIAL = -1
"""The batch number of the learner's state before any label: it chose batch 0."""

MANIFEST = "manifest.json"
_NAME = re.compile(r"^batch-(\d{5})$")


class Manifest(BaseModel):
    """What a checkpoint holds: the learner after learning ``batch``, and the batch it chose next."""

    batch: int
    model_version: str
    labels: int
    next_batch: list[int] = Field(description="Pool indices of the batch queried after this state.")
    metrics: dict[str, object] = Field(default_factory=dict)
    scores_batch: int | None = Field(
        default=None, description="Set when the background model's scores of this batch chose next_batch."
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class CheckpointStore:
    """Checkpoint folders ``initial`` and ``batch-NNNNN`` under one run's ``checkpoints/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, batch: int) -> Path:
        return self.folder / ("initial" if batch == INITIAL else f"batch-{batch:05d}")

    def exists(self, batch: int) -> bool:
        return (self.path(batch) / MANIFEST).exists()

    def save(self, manifest: Manifest, write_learner: Callable[[Path], None]) -> Path:
        """Write the learner and manifest to a temporary folder, then rename it into place.

        A checkpoint that already exists is kept: a retried job finds the same state.
        """
        final = self.path(manifest.batch)
        if self.exists(manifest.batch):
            return final
        with staged_folder(final) as staging:
            write_learner(staging / "learner")
            (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        return final

    def manifest(self, batch: int) -> Manifest:
        return Manifest.model_validate_json((self.path(batch) / MANIFEST).read_text())

    def batches(self) -> list[int]:
        """Batches with a complete checkpoint, in order (the initial state not included)."""
        if not self.folder.exists():
            return []
        found = (_NAME.match(child.name) for child in self.folder.iterdir())
        return sorted(int(match.group(1)) for match in found if match and self._complete(int(match.group(1))))

    def latest(self) -> int | None:
        """The newest complete checkpoint's batch, INITIAL for only the initial state, None for nothing."""
        batches = self.batches()
        if batches:
            return batches[-1]
        return INITIAL if self._complete(INITIAL) else None

    def _complete(self, batch: int) -> bool:
        try:
            self.manifest(batch)
        except (OSError, ValidationError):
            return False
        return True
