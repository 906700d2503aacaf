"""The fault suite's own local stack: its faults restart Redis and Argilla, which no other test may see."""

from collections.abc import Iterator

import pytest

from tests.faults.chaos import RUN, FaultSession
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
        # 1,500 questions: enough for a soak's batches of 20, and quick to embed.
        data = small_trec(tmp_path_factory.mktemp("trec"), train=1500, test=300)
        alloop(env, "init", "--name", RUN, "--dataset", str(data), "--batch-size", "20", "--workspace", RUN)
        session.start()
        yield session
    finally:
        session.services.stop_all()
        stack.down()
