"""A real Argilla user that submits the gold label of each record of the current batch.

It reads batches as the watcher does and answers through the same HTTP endpoint the web UI
uses, so demos, end-to-end tests and benchmarks exercise the path real annotators take.
"""

import random
import secrets
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import argilla as rg
import httpx

from common.argilla_adapter import BATCH_METADATA, QUESTION, ArgillaAdapter, pool_index, status_name
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
        self.argilla = ArgillaAdapter(connection)
        self.user = self._ensure_user()
        self.http = httpx.Client(
            base_url=connection.argilla_api_url,
            headers={**connection.argilla_headers, "X-Argilla-Api-Key": self._api_key(connection)},
            timeout=30,
        )

    def _ensure_user(self) -> rg.User:
        client = self.argilla.client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            user = client.users(USERNAME)
        if user is None:
            user = rg.User(
                username=USERNAME, password=secrets.token_urlsafe(16), role="annotator", client=client
            )
            user.create()
        workspace = self.argilla.dataset(self.spec).workspace
        if USERNAME not in {member.username for member in workspace.users}:
            user.add_to_workspace(workspace)
        return user

    def _api_key(self, connection: Connection) -> str:
        reply = httpx.get(
            f"{connection.argilla_api_url}/api/v1/users/{self.user.id}",
            headers={**connection.argilla_headers, "X-Argilla-Api-Key": connection.argilla_api_key},
        )
        reply.raise_for_status()
        return str(reply.json()["api_key"])

    def answer(self, index: int) -> str:
        gold = self.gold[index]
        if self.noise and self.random.random() < self.noise:
            return self.random.choice([label for label in self.labels if label != gold])
        return gold

    def label_batch(self, batch: int) -> int:
        """Submit an answer for each record of ``batch`` that nobody has answered yet; how many.

        A record someone submitted or discarded (in the UI, or through the SDK) is left as it is.
        """
        query = rg.Query(filter=rg.Filter([(f"metadata.{BATCH_METADATA}", "==", batch)]))
        submitted = 0
        for record in self.argilla.dataset(self.spec).records(query=query, with_responses=True):
            if any(self._answered(response) for response in record._model.responses or []):
                continue
            body = {
                "values": {QUESTION: {"value": self.answer(pool_index(str(record.id)))}},
                "status": "submitted",
            }
            self.http.post(f"/api/v1/records/{record._server_id}/responses", json=body).raise_for_status()
            submitted += 1
            if self.delay:
                time.sleep(self.delay)
        return submitted

    def _answered(self, response: Any) -> bool:
        return response.user_id == self.user.id or status_name(response.status) in ("submitted", "discarded")

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
