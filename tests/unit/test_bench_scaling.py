"""The scoring and pool-scale benchmarks run on tiny sizes and write JSON of their documented shape.

They measure; these tests check only that they work, never the numbers.
"""

import json
from pathlib import Path

import pytest

from tests.support.data import TREC
from tests.support.services import bench


def test_pool_scale_writes_one_row_per_size(tmp_path: Path) -> None:
    out = tmp_path / "pool-scale.json"
    bench("pool-scale", "--sizes", "200,400", "--labels", "20", "--json", str(out))
    results = json.loads(out.read_text())["results"]
    assert [row["pool"] for row in results] == [200, 400]
    for row in results:
        assert set(row) == {"pool", "query_s", "peak_rss_mb"}
        assert row["query_s"] > 0 and row["peak_rss_mb"] > 0


@pytest.mark.skipif(not TREC.exists(), reason=f"the TREC-6 data is not at {TREC}")
def test_scoring_compares_both_paths(tmp_path: Path) -> None:
    out = tmp_path / "scoring.json"
    bench("scoring", "--dataset", str(TREC), "--pool", "24", "--labels", "12", "--json", str(out))
    result = json.loads(out.read_text())
    assert result["pool"] == 24 and result["default_s"] > 0 and result["fast_s"] > 0
    assert result["default_first_s"] > 0 and result["fast_first_s"] > 0
    assert result["speedup"] == pytest.approx(result["default_s"] / result["fast_s"])
    assert result["argmax_agreement"] == 1.0 and result["max_abs_diff"] < 1e-4
