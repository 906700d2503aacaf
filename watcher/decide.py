"""When is a batch done? Pure decisions over what the annotators left in Argilla."""

from collections.abc import Sequence
from dataclasses import dataclass

from common.argilla_adapter import BatchRecord


@dataclass(frozen=True)
class BatchProgress:
    """How far the annotators are with one batch."""

    total: int
    submitted: int
    discarded: int

    @property
    def pending(self) -> int:
        return self.total - self.submitted - self.discarded

    @property
    def done(self) -> bool:
        """Every record is completed or discarded (an empty batch is never done: it is not logged yet)."""
        return self.total > 0 and self.pending == 0


def progress(records: Sequence[BatchRecord]) -> BatchProgress:
    unique = {record.index: record for record in records}.values()
    return BatchProgress(
        total=len(unique),
        submitted=sum(1 for record in unique if record.completed and not record.discarded),
        discarded=sum(1 for record in unique if record.discarded),
    )
