"""The live benchmarks run end to end (each on its own stack) and write JSON of their documented shape.

They measure; these tests check only that they work, never the numbers.
"""

import json
from pathlib import Path

import pytest

from tests.support.services import bench

pytestmark = pytest.mark.timeout(600)


def test_latency_times_each_batch_through_the_stack(small_trec: Path, tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    bench("latency", "--dataset", str(small_trec), "--iterations", "2", "--json", str(out), timeout=500)
    result = json.loads(out.read_text())
    assert len(result["waits_s"]) == 2 and result["max_s"] >= result["p50_s"] > 0
    parts = result["breakdown"]
    assert set(parts) == {
        "detect", "pickup", "setup", "restore", "fetch", "train", "evaluate", "query", "checkpoint", "log"
    }  # fmt: skip
    assert result["select_after_log_s"] >= 0  # auto's cross-validation, after the wait
    assert sum(parts.values()) == pytest.approx(sum(result["waits_s"]) / 2)
    floor = result["argilla_floor"]  # Argilla alone, timed in the same invocation
    assert floor["max_s"] >= floor["p50_s"] > 0


def test_workers_counts_batches_per_minute(small_trec: Path, tmp_path: Path) -> None:
    out = tmp_path / "workers.json"
    bench("workers", "--dataset", str(small_trec), "--runs", "2", "--workers", "1", "--batches", "1",
          "--json", str(out), timeout=500)  # fmt: skip
    [row] = json.loads(out.read_text())["results"]
    assert (row["workers"], row["runs"]) == (1, 2) and row["batches_per_min"] > 0
    assert {"argilla", "worker-0", "watcher"} <= set(row["cores"])
