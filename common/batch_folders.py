"""Per-batch folders under one parent (``initial``, ``batch-NNNNN``), each complete or absent.

A folder is staged beside its place and renamed into it whole; its ``manifest.json``, written last,
marks it complete once it parses as the store's manifest model.
"""

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from common.files import staged_folder

INITIAL = -1
"""The batch number of the learner's state before any label: it chose batch 0."""

MANIFEST = "manifest.json"
_INITIAL_NAME = "initial"
_BATCH_NAME = re.compile(r"^batch-([0-9]+)$")

M = TypeVar("M", bound=BaseModel)


def folder_name(batch: int) -> str:
    """The folder name of ``batch``: ``initial`` for INITIAL, else ``batch-`` and at least five digits."""
    return _INITIAL_NAME if batch == INITIAL else f"batch-{batch:05d}"


def parse_name(name: str) -> int | None:
    """The batch whose folder is named ``name``; None for any other name (staging folders, notes)."""
    if name == _INITIAL_NAME:
        return INITIAL
    match = _BATCH_NAME.match(name)
    if match is None:
        return None
    batch = int(match.group(1))
    return batch if folder_name(batch) == name else None  # "batch-7" is no name folder_name writes


class BatchFolders(Generic[M]):
    """One folder per batch under ``folder``, complete once its manifest parses as ``model``."""

    def __init__(self, folder: Path, model: type[M]) -> None:
        self.folder = folder
        self.model = model

    def path(self, batch: int) -> Path:
        return self.folder / folder_name(batch)

    def exists(self, batch: int) -> bool:
        """Whether batch's manifest is in place; folders appear only whole, so this one was written."""
        return (self.path(batch) / MANIFEST).exists()

    def manifest(self, batch: int) -> M:
        """Batch's manifest; raises OSError when it is absent, ValidationError when it does not parse."""
        return self.model.model_validate_json((self.path(batch) / MANIFEST).read_text())

    def manifest_or_none(self, batch: int) -> M | None:
        """Batch's manifest, or None when the folder is not complete."""
        try:
            return self.manifest(batch)
        except (OSError, ValidationError):
            return None

    def complete(self, batch: int) -> bool:
        return self.manifest_or_none(batch) is not None

    def batches(self) -> list[int]:
        """Batches with a complete folder, in order (the initial one not included)."""
        return [batch for batch in self._named() if self.complete(batch)]

    def newest(self) -> int | None:
        """The newest batch with a complete folder (not the initial one), or None.

        Reads manifests from the newest folder back only until one is complete: every training job
        asks, and a run has hundreds of folders.
        """
        return next((batch for batch in reversed(self._named()) if self.complete(batch)), None)

    def latest(self) -> int | None:
        """The newest complete batch, INITIAL when only the initial folder is complete, None for none."""
        newest = self.newest()
        if newest is not None:
            return newest
        return INITIAL if self.complete(INITIAL) else None

    def _named(self) -> list[int]:
        """Batches with a folder, complete or not, in order (the initial one not included)."""
        if not self.folder.exists():
            return []
        named = (parse_name(child.name) for child in self.folder.iterdir())
        return sorted(batch for batch in named if batch is not None and batch != INITIAL)

    def write(self, batch: int, fill: Callable[[Path], M]) -> Path:
        """Write batch's folder whole: ``fill`` writes its files into a staging folder and returns the
        manifest, which goes in last; then the staging folder is renamed into place.

        A folder already in place is kept, so a retried writer finds what the first one wrote.
        """
        final = self.path(batch)
        if self.exists(batch):
            return final
        self._sweep(final.name)
        with staged_folder(final) as staging:
            manifest = fill(staging)
            (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2))
        return final

    def _sweep(self, name: str) -> None:
        """Remove the staging folders of ``name`` that a writer killed mid-write left behind.

        Safe only because one writer at a time writes a given batch (the run's job or heavy lock).
        """
        for left in self.folder.glob(f".{name}.*"):
            shutil.rmtree(left, ignore_errors=True)
