"""A real Argilla user that submits the gold label of each record of the current batch.

It reads batches as the watcher does and answers through the same HTTP endpoint the web UI
uses, so demos, end-to-end tests and benchmarks exercise the path real annotators take.
"""

import random
import time
from collections.abc import Callable
from pathlib import Path

from common.argilla_adapter import ArgillaAdapter
from common.connection import Connection
from common.corpus import Corpus, read_corpus
from common.errors import UserError
from common.runs import RunRegistry, RunState

USERNAME = "alloop-simulator"


class SimulatedAnnotator:
    """Labels the batches of one run, ``noise`` of them with a wrong label, ``delay`` seconds apart."""

    def __init__(
        self,
        connection: Connection,
        run_name: str,
        *,
        noise: float = 0.0,
        delay: float = 0.0,
        seed: int = 0,
        gold: Path | None = None,
    ) -> None:
        """``gold``: a table (text, label) with the answers, for a pool that has no labels of its own."""
        self.registry = RunRegistry(connection.redis())
        self.run_name = run_name
        self.spec = self.registry.get(run_name).spec
        self.corpus: Corpus = read_corpus(self.spec.dataset)
        self.labels = self.spec.labels or self.corpus.label_names()
        self.gold = (
            self.corpus.gold_from(gold)
            if gold is not None
            else self.corpus.gold("the simulated annotator (or give it --gold FILE, a table of text,label)")
        )
        self.noise = noise
        self.delay = delay
        self.random = random.Random(seed)
        self.annotator = ArgillaAdapter(connection).annotator(USERNAME, self.spec)

    def answer(self, index: int) -> str:
        gold = self.gold[index]
        if self.noise and self.random.random() < self.noise:
            return self.random.choice([label for label in self.labels if label != gold])
        return gold

    def label_batch(self, batch: int) -> int:
        """Submit an answer for each record of ``batch`` that nobody has answered yet; how many.

        A record someone submitted or discarded (in the UI, or through the SDK) is left as it is.
        """
        submitted = 0
        for index, server_id in self.annotator.unanswered(batch):
            self.annotator.submit(server_id, self.answer(index))
            submitted += 1
            if self.delay:
                time.sleep(self.delay)
        return submitted

    def wait_for_batch(self, batch: int, timeout: float) -> bool:
        """Wait until ``batch`` is logged; False if the run stopped first."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.registry.get(self.run_name)
            if run.batch >= batch:
                return True
            if run.state == RunState.stopped:
                return False
            if time.monotonic() > deadline:
                raise UserError(
                    f"batch {batch} of run {self.run_name!r} did not appear within {timeout:.0f} s; "
                    "are a watcher (`alloop watcher`) and a worker (`alloop worker`) running?"
                )
            time.sleep(0.2)

    def run(
        self, batches: int, timeout: float = 900, on_batch: Callable[[int, int], None] | None = None
    ) -> int:
        """Label up to ``batches`` batches, from the current one on; the number labelled."""
        batch = self.registry.get(self.run_name).batch
        done = 0
        while done < batches and self.wait_for_batch(batch, timeout):
            count = self.label_batch(batch)
            done += 1
            if on_batch:
                on_batch(batch, count)
            batch += 1
        return done
