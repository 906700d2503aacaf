"""Faults injected into a multi-batch run on the real stack; after each, nothing may be lost.

`make test` injects ALLOOP_FAULTS faults (default below); `make soak` injects more and prints the count.
"""

import pytest

from tests.faults.chaos import FAULTS, FaultSession, fault_count, schedule
from tests.faults.invariants import violations

pytestmark = pytest.mark.timeout(3600)


def test_no_label_is_lost_and_no_batch_skipped_under_faults(
    session: FaultSession, capsys: pytest.CaptureFixture[str]
) -> None:
    count = fault_count()
    for name in schedule(count):
        outcome = session.inject(name, FAULTS[name])
        with capsys.disabled():
            done = len(session.outcomes)
            print(f"\nfault {done}/{count}: {name} on batch {outcome.batch}, {outcome.seconds:.1f} s")
    summary = session.summary()
    with capsys.disabled():
        print("\n" + summary)
    (session.services.logs / "summary.txt").write_text(summary)
    assert len(session.outcomes) == count
    assert not any(outcome.violations for outcome in session.outcomes), summary


def test_the_invariant_checks_catch_what_they_guard_against(session: FaultSession) -> None:
    """Run after the faults: damage the run on purpose and see each kind of damage reported."""
    view = session.view
    learned = session.batch - 1
    with view.paths.metrics.open("a") as metrics:  # a batch recorded twice
        metrics.write(view.paths.metrics.read_text().splitlines()[0] + "\n")
    assert any("metrics.jsonl has batches" in found for found in violations(view, learned))
    state = next((view.store.path(learned) / "learner").rglob("*.pkl"))
    state.write_bytes(state.read_bytes() + b"tampered")
    assert any("does not match its manifest" in found for found in violations(view, learned))
