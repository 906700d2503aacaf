"""The fault suite's own local stack: its faults restart Redis and Argilla, which no other test may see."""

from collections.abc import Iterator

import pytest

from tests.faults.chaos import BATCH, RUN, FaultSession, fault_count
from tests.support.data import small_trec
from tests.support.services import alloop
from tests.support.stack import LocalStack


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultSession]:
    stack = LocalStack(home=tmp_path_factory.mktemp("faults-home"))
    stack.up()
    env = {**stack.env, **stack.connection(), "ALLOOP_POLL_INTERVAL": "0.5"}
    session = FaultSession.open(
        stack, env, tmp_path_factory.mktemp("faults-logs"), tmp_path_factory.mktemp("fault-files")
    )
    try:
        # Enough questions for one batch of 20 per fault, and few enough to embed quickly. No stopping
        # criterion: the run must go on for every fault. Two-speed, so that a fault can land scores.
        data = small_trec(tmp_path_factory.mktemp("trec"), train=max(1500, BATCH * (fault_count() + 10)))
        flags = ["--dataset", str(data), "--stopping", "none", "--batch-size", str(BATCH), "--workspace", RUN]
        flags += ["--heavy-backend", "transformer"]
        alloop(env, "init", "--name", RUN, *flags)
        session.start()
        yield session
    finally:
        session.services.stop_all()
        stack.down()
