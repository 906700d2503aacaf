"""`bench al-curve --seconds-per-label`: two-speed learning on a simulated clock, as a run would have it."""

from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_learner import spec, synthetic
from trainer import headless
from trainer.headless import run_two_speed

HEAVY_S = 25.0
"""What each background training takes on the simulated clock (set here, not timed)."""
PACE = 5.0


def test_the_background_model_arrives_when_its_training_would_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = headless.fit_and_score

    def timed(*args: Any, **kwargs: Any) -> Any:
        trained = real(*args, **kwargs)
        manifest = trained.scores.manifest.model_copy(update={"train_s": HEAVY_S, "score_s": 0.0})
        return replace(trained, scores=replace(trained.scores, manifest=manifest))

    monkeypatch.setattr(headless, "fit_and_score", timed)
    two_speed = spec(backend="hybrid", heavy_backend="embeddings", batch_size=2, stopping_criterion=None)
    rounds = run_two_speed(two_speed, synthetic(), 12, tmp_path, PACE, "cpu")
    assert len(rounds) == 13
    clocks = [item.clock_s for item in rounds]  # when each round's labels were learned and queued
    assert all(later - earlier >= 2 * PACE for earlier, later in pairwise(clocks))
    first_ends = clocks[0] + HEAVY_S
    for number, item in enumerate(rounds):
        assert (item.heavy is None) == (item.clock_s < first_ends), number
        assert (item.served_by == "heavy") == (
            item.heavy is not None
            and item.heavy.accuracy is not None
            and item.heavy.accuracy > item.fast.accuracy
        )
        if item.served_by == "heavy":
            assert (item.accuracy, item.macro_f1) == (item.heavy.accuracy, item.heavy.macro_f1)
        else:
            assert (item.accuracy, item.macro_f1) == (item.fast.accuracy, item.fast.macro_f1)
        assert item.labels == item.fast.labels == 2 * (number + 1)
    heavy_batches = [number - item.lag for number, item in enumerate(rounds) if item.lag is not None]
    # The second training starts when the first ends, on the newest labels then: the backlog collapses.
    second = max(number for number, clock in enumerate(clocks) if clock <= first_ends)
    assert second > 1 and sorted(set(heavy_batches))[:2] == [0, second]
    assert {item.heavy.labels for item in rounds if item.heavy} >= {2, 2 * (second + 1)}
