"""What must hold after every fault: each label learned once, each batch logged once, no batch
skipped, checkpoints whole and verified (run-wide; two trainings at once are caught by the hooks)."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis

from common import events
from common.argilla_adapter import ArgillaAdapter, BatchRecord
from common.checkpoints import INITIAL, CheckpointCorrupt, CheckpointStore
from common.corpus import Corpus
from common.runs import RunPaths, RunRegistry, read_metrics
from common.spec import RunSpec


@dataclass
class RunView:
    """Everything the invariants look at, for one run."""

    spec: RunSpec
    paths: RunPaths
    corpus: Corpus
    argilla: ArgillaAdapter
    redis: redis.Redis
    fault_dir: Path

    @property
    def store(self) -> CheckpointStore:
        return CheckpointStore(self.paths.checkpoints)


def violations(view: RunView, learned: int) -> list[str]:
    """Every broken invariant once batches 0..``learned`` are learned and ``learned + 1`` is logged."""
    found: list[str] = []
    found += _checkpoints(view, learned)
    if found:
        return found  # the other checks read the checkpoints
    records = {batch: view.argilla.batch_records(view.spec, batch) for batch in range(learned + 2)}
    found += _batches_logged_once(view, learned, records)
    found += _labels_learned_once(view, learned, records)
    found += _nothing_skipped(view, learned)
    violations_file = view.fault_dir / "violations"
    if violations_file.exists():
        found += violations_file.read_text().splitlines()
    return found


def _checkpoints(view: RunView, learned: int) -> list[str]:
    store = view.store
    found = []
    if store.batches() != list(range(learned + 1)):
        found.append(f"checkpoints {store.batches()} are not batches 0..{learned}")
    for batch in [INITIAL, *store.batches()]:
        try:
            store.learner(batch)
        except CheckpointCorrupt as error:
            found.append(str(error))
    litter = [p.name for p in store.folder.iterdir() if p.name.startswith(".")]
    if litter:
        found.append(f"half-written checkpoint folders left: {litter}")
    return found


def _batches_logged_once(view: RunView, learned: int, records: dict[int, list[BatchRecord]]) -> list[str]:
    found = []
    seen: Counter[int] = Counter()
    for batch in range(learned + 2):
        chosen = view.store.manifest(batch - 1 if batch else INITIAL).next_batch
        logged = [record.index for record in records[batch]]
        seen.update(logged)
        if sorted(logged) != sorted(chosen):
            found.append(
                f"batch {batch} in Argilla holds {sorted(logged)}, its checkpoint chose {sorted(chosen)}"
            )
    twice = sorted(index for index, count in seen.items() if count > 1)
    if twice:
        found.append(f"pool items logged in more than one batch: {twice[:10]}")
    return found


def _labels_learned_once(view: RunView, learned: int, records: dict[int, list[BatchRecord]]) -> list[str]:
    from trainer.learner import Learner

    answers = {
        record.index: record.label
        for batch in range(learned + 1)
        for record in records[batch]
        if record.label
    }
    learner = Learner.load(view.store.learner(learned), view.corpus, view.paths.cache, "cpu")
    indices = [int(i) for i in learner.active.indices_labeled]
    labels = [learner.label_names[int(y)] for y in learner.active.y]
    found = []
    if len(indices) != len(set(indices)):
        found.append(f"a label was learned twice: {sorted(i for i, c in Counter(indices).items() if c > 1)}")
    if dict(zip(indices, labels, strict=True)) != answers:
        missing = sorted(set(answers) - set(indices))
        extra = sorted(set(indices) - set(answers))
        found.append(
            f"learned labels differ from the answers: missing {missing[:10]}, not answered {extra[:10]}"
        )
    return found


def _nothing_skipped(view: RunView, learned: int) -> list[str]:
    found = []
    expected = list(range(learned + 1))
    metrics = [int(row["batch"]) for row in read_metrics(view.paths)]
    if metrics != expected:
        found.append(f"metrics.jsonl has batches {metrics}, expected {expected}")
    stream = list(events.read(view.redis, view.spec.name, count=100_000))
    updated = [e.batch for _, e in stream if isinstance(e, events.ModelUpdated)]
    if updated != expected:
        found.append(f"model.updated came for batches {updated}, expected {expected}")
    batch = RunRegistry(view.redis).get(view.spec.name).batch
    if batch != learned + 1:
        found.append(f"the run is at batch {batch}, expected {learned + 1}")
    return found
