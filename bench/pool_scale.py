"""`pool-scale`: query time and peak memory of the default ``embeddings`` backend as the pool grows.

Each pool size runs in a fresh process, so its peak RSS is its own. The pool is synthetic: 384-dim
unit vectors (MiniLM's size) around one centre per class, written as the run's embedding cache, so
the product's own path loads it (``Learner.build``: the embeddings backend, small-text's
PoolBasedActiveLearner, the spec's default strategy and subsampling). The learner is taught a first
batch of ``--labels`` random items, then one batch of the default size is queried and timed.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from bench.output import show, write_json

DIMENSIONS = 384
CLASSES = ("abbr", "desc", "enty", "hum", "loc", "num")
NOISE = 0.06  # per dimension: classes overlap, so the model stays unsure about some items
CHUNK_ROWS = 8192


def run(
    sizes: str = typer.Option("10000,100000,1000000", "--sizes", help="Pool sizes, comma-separated."),
    labels: int = typer.Option(300, "--labels", help="Random items labelled before the query."),
    json_file: Path = typer.Option(None, "--json", help="Write the results here."),
) -> None:
    """Query time and peak RSS per pool size, each size in a fresh process."""
    results = [measure_in_subprocess(int(size), labels) for size in sizes.split(",")]
    rows = [[r["pool"], r["query_s"], r["peak_rss_mb"]] for r in results]
    show("query on a synthetic pool (embeddings backend)", ["pool", "query s", "peak RSS MB"], rows)
    write_json(json_file, {"results": results})


def measure_in_subprocess(size: int, labels: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.pool_scale", str(size), str(labels)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pool of {size} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, labels: int) -> dict[str, Any]:
    """One pool size, in this process: build the learner, teach, time one query, read the peak RSS."""
    from common.corpus import Corpus
    from common.spec import RunSpec
    from trainer.backends.encoder import cache_path
    from trainer.learner import Learner

    spec = RunSpec.model_validate(
        {"name": "pool-scale", "dataset": {"path": "-"}, "backend": "embeddings",
         "batch_size": labels, "stopping_criterion": "none"}
    )  # fmt: skip
    default_batch = RunSpec.model_fields["batch_size"].default
    texts = [f"synthetic item {index}" for index in range(size)]
    with tempfile.TemporaryDirectory(prefix="alloop-pool-scale-") as folder:
        run_dir = Path(folder)
        gold = write_synthetic_pool(cache_path(run_dir, spec.model, texts), size, spec.seed)
        names: list[str | None] = [CLASSES[label] for label in gold]
        corpus = Corpus(texts, names, texts[:1], [CLASSES[gold[0]]])
        learner = Learner.build(spec, corpus, list(CLASSES), run_dir, "cpu")
        learner.teach([names[index] for index in learner.first_batch()])
        learner.spec.batch_size = default_batch
        started = time.perf_counter()
        learner.query()
        query_s = time.perf_counter() - started
    # Linux reports ru_maxrss in KiB.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"pool": size, "query_s": query_s, "peak_rss_mb": peak_mb}


def write_synthetic_pool(path: Path, size: int, seed: int) -> np.ndarray:
    """Write ``size`` float32 unit vectors as a .npy file, chunk by chunk; returns their classes.

    Written with plain writes rather than through a memory map, so building it adds nothing to this
    process's resident memory.
    """
    rng = np.random.default_rng(seed)
    centres = normalised(rng.normal(size=(len(CLASSES), DIMENSIONS)))
    gold = rng.integers(len(CLASSES), size=size)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"descr": "<f4", "fortran_order": False, "shape": (size, DIMENSIONS)}
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        for start in range(0, size, CHUNK_ROWS):
            classes = gold[start : start + CHUNK_ROWS]
            noise = rng.normal(scale=NOISE, size=(len(classes), DIMENSIONS))
            normalised(centres[classes] + noise).astype("<f4").tofile(handle)
    return gold


def normalised(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
