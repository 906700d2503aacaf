"""A run's lifecycle on the real stack, through the commands a user types: `alloop init` with a run
of that name already there (refused, `--resume`, `--replace`), `alloop stop` and `alloop resume`,
and `trainer.lifecycle.forget`.

Tests run in order on one run; each leaves it as the next expects.
"""

from pathlib import Path

import argilla as rg
import pytest
import redis

from common import events
from common.connection import Connection
from common.runs import RunPaths, RunRegistry, RunState
from common.settings import Settings
from tests.support.services import alloop, assert_one_line_error, run_alloop
from tests.support.stack import LocalStack

RUN = "life"
WORKSPACE = "lifecycle"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def flags(small_trec: Path) -> list[str]:
    return ["--name", RUN, "--dataset", str(small_trec), "--workspace", WORKSPACE, "--backend", "embeddings"]


def dataset(client: rg.Argilla) -> rg.Dataset:
    found = client.datasets(name=RUN, workspace=WORKSPACE)
    assert found is not None, f"no Argilla dataset {RUN}"
    return found


def stream(redis_client: redis.Redis) -> list[str]:
    return [event.type for _, event in events.read(redis_client, RUN, count=10_000)]


def test_a_second_init_of_a_name_is_refused_and_changes_nothing(
    env: dict[str, str], flags: list[str], redis_client: redis.Redis, client: rg.Argilla
) -> None:
    alloop(env, "init", *flags)
    first = dataset(client).id
    assert_one_line_error(run_alloop(env, "init", *flags), f"run '{RUN}' exists", "--resume")
    assert dataset(client).id == first
    assert RunRegistry(redis_client).get(RUN).batch == 0
    assert stream(redis_client) == ["run.created", "batch.logged"]


def test_init_resume_continues_the_run_where_it_is(
    env: dict[str, str], flags: list[str], redis_client: redis.Redis, client: rg.Argilla
) -> None:
    first = dataset(client).id
    result = alloop(env, "init", *flags, "--resume")
    assert f"run {RUN} resumed at batch 0" in " ".join(result.stdout.split())
    assert dataset(client).id == first
    assert stream(redis_client)[-1] == "run.resumed"
    assert_one_line_error(run_alloop(env, "init", *flags, "--resume", "--replace"), "exclude each other")


def test_stop_and_resume_move_the_state_and_say_so(env: dict[str, str], redis_client: redis.Redis) -> None:
    registry = RunRegistry(redis_client)
    alloop(env, "stop", "--run", RUN)
    assert registry.get(RUN).state == RunState.stopped
    stopped = [e for _, e in events.read(redis_client, RUN, count=10_000) if isinstance(e, events.RunStopped)]
    assert stopped and stopped[-1].reason == "user" and stopped[-1].batch == 0
    alloop(env, "resume", "--run", RUN)
    assert registry.get(RUN).state == RunState.active
    assert stream(redis_client)[-1] == "run.resumed"


def test_replace_checks_the_new_data_before_it_forgets_the_run(
    env: dict[str, str], flags: list[str], tmp_path: Path, redis_client: redis.Redis, client: rg.Argilla
) -> None:
    first = dataset(client).id
    missing = ["--dataset", str(tmp_path / "nowhere.csv")]
    assert_one_line_error(run_alloop(env, "init", *flags, *missing, "--replace"), "nowhere.csv")
    assert dataset(client).id == first, "the run was forgotten although its replacement was refused"
    assert RunRegistry(redis_client).exists(RUN)


def test_replace_starts_the_run_anew_everywhere(
    env: dict[str, str], flags: list[str], stack: LocalStack, redis_client: redis.Redis, client: rg.Argilla
) -> None:
    first = dataset(client).id
    result = alloop(env, "init", *flags, "--replace")
    assert f"run {RUN} created" in " ".join(result.stdout.split())
    assert dataset(client).id != first
    assert len(list(dataset(client).records)) == 20  # batch 0 alone
    assert stream(redis_client) == ["run.created", "batch.logged"]  # the old run's events went with it
    assert RunRegistry(redis_client).get(RUN).batch == 0
    assert RunPaths.of(stack.home, RUN).checkpoints.exists()


def test_forget_removes_the_run_everywhere(
    stack: LocalStack, connection: dict[str, str], redis_client: redis.Redis, client: rg.Argilla
) -> None:
    from trainer import lifecycle

    spec = RunRegistry(redis_client).get(RUN).spec
    lifecycle.forget(Settings(home=stack.home), Connection.model_validate(_connection(connection)), spec)
    assert not RunRegistry(redis_client).exists(RUN)
    assert client.datasets(name=RUN, workspace=WORKSPACE) is None
    assert not RunPaths.of(stack.home, RUN).root.exists()
    assert stream(redis_client) == []


def _connection(variables: dict[str, str]) -> dict[str, str]:
    return {
        "argilla_api_url": variables["ARGILLA_API_URL"],
        "argilla_api_key": variables["ARGILLA_API_KEY"],
        "redis_url": variables["REDIS_URL"],
    }
