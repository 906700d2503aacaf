"""The live benchmarks run end to end (each on its own stack) and write JSON of their documented shape.

They measure; these tests check only that they work, never the numbers.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600)


def bench(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=500
    )
    assert result.returncode == 0, (
        f"bench {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def test_latency_times_each_batch_through_the_stack(small_trec: Path, tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    bench("latency", "--dataset", str(small_trec), "--iterations", "2", "--json", str(out))
    result = json.loads(out.read_text())
    assert len(result["waits_s"]) == 2 and result["max_s"] >= result["p50_s"] > 0
    parts = result["breakdown"]
    assert set(parts) == {"detect", "pickup", "restore", "fetch", "train", "query", "log"}
    assert result["select_after_log_s"] >= 0  # auto's cross-validation, after the wait
    assert sum(parts.values()) == pytest.approx(sum(result["waits_s"]) / 2)
    floor = result["argilla_floor"]  # Argilla alone, timed in the same invocation
    assert floor["max_s"] >= floor["p50_s"] > 0


def test_workers_counts_batches_per_minute(small_trec: Path, tmp_path: Path) -> None:
    out = tmp_path / "workers.json"
    bench("workers", "--dataset", str(small_trec), "--runs", "2", "--workers", "1", "--batches", "1",
          "--json", str(out))  # fmt: skip
    [row] = json.loads(out.read_text())["results"]
    assert (row["workers"], row["runs"]) == (1, 2) and row["batches_per_min"] > 0
    assert {"argilla", "worker-0", "watcher"} <= set(row["cores"])
