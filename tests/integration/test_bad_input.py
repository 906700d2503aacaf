"""Bad input end to end, on the real stack.

`alloop init` refuses bad specs and data in one `error:` line naming the problem and the fix, and
creates nothing (no registry entry, no Argilla dataset, no run folder). Then one run meets what
annotators and admins do in Argilla (a discarded record, records deleted by hand, an answer outside
the label schema, the dataset deleted), a checkpoint folder turned into a file, a worker with a
wrong API key, and Argilla and Redis going away under a watcher.
"""

import contextlib
import csv
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import argilla as rg
import pytest
import redis
from argilla._exceptions import UnprocessableEntityError
from rq import Worker

from common import events
from common.checkpoints import CheckpointStore
from common.corpus import read_corpus
from common.queues import train_queue
from common.runs import RunPaths, RunRegistry
from common.spec import RunSpec
from stack.process import free_port
from tests.support.services import (
    Services,
    alloop,
    assert_one_line_error,
    run_alloop,
    wait_for_log,
    wait_for_model,
)
from tests.support.stack import LocalStack
from watcher.enqueue import enqueue_training

if TYPE_CHECKING:
    from trainer.learner import Learner

RUN = "badin"
WORKSPACE = "badinput"
BATCH = 6
WORDS = {
    "sport": ["match", "goal", "team", "striker", "tennis", "final", "coach", "league"],
    "food": ["bread", "soup", "salt", "cake", "curry", "recipe", "oven", "spice"],
    "tech": ["laptop", "phone", "server", "chip", "software", "battery", "network", "code"],
}

pytestmark = pytest.mark.timeout(900)


def rows(split: str, count: int, labels: list[str] | None = None) -> list[list[str]]:
    """``count`` distinct short texts of ``split``, their labels taking turns."""
    chosen = labels or list(WORDS)
    generator = random.Random(split)
    made = []
    for number in range(count):
        label = chosen[number % len(chosen)]
        a, b, c = generator.sample(WORDS[label], 3)
        made.append([f"{split} {number}: the {a} and the {b} near a {c}", label])
    return made


def write_csv(path: Path, data: list[list[str]], header: tuple[str, str] = ("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(data)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good train/test pair, and bad train files beside it."""
    folder = tmp_path_factory.mktemp("bad-input-data")
    train = rows("train", 60)
    write_csv(folder / "train.csv", train)
    write_csv(folder / "test.csv", rows("test", 15))
    # Two texts repeated with the same label: kept once, with a note.
    write_csv(folder / "repeated.csv", [*train, train[4], train[9]])
    empty = [row[:] for row in train]
    empty[1][0], empty[5][0] = "", "   "  # spreadsheet rows 3 and 7
    write_csv(folder / "empty.csv", empty)
    write_csv(folder / "conflict.csv", [*train[:3], [train[0][0], "food"], *train[3:]])
    (folder / "latin.csv").write_bytes("text,label\ncafé crème,food\nthe final,sport\n".encode("latin-1"))
    write_csv(folder / "huge.csv", [*train[:2], ["word " * 1_000_000, "food"], *train[2:]])
    write_csv(folder / "one-class.csv", rows("train", 20, ["sport"]))
    write_csv(folder / "one-class-test.csv", rows("test", 5, ["sport"]))
    write_csv(
        folder / "seed-outside.csv", [*train[:3], [train[3][0], "weather"], *[[t, ""] for t, _ in train[4:]]]
    )
    (folder / "texts.csv").write_text(
        "text\n" + "".join(f'"{text}"\n' for text, _ in train), encoding="utf-8"
    )
    return folder


def assert_nothing_created(name: str, home: Path, redis_client: redis.Redis, client: rg.Argilla) -> None:
    assert not RunRegistry(redis_client).exists(name), "a registry entry was left"
    assert name not in RunRegistry(redis_client).names()
    assert not RunPaths.of(home, name).root.exists(), "a run folder was left"
    workspace = client.workspaces(WORKSPACE)
    if workspace is not None:
        assert client.datasets(name=name, workspace=WORKSPACE) is None, "an Argilla dataset was left"


SILENT = free_port()
NO_TEST = "--no-test"
"""In a case's arguments: give `alloop init` no test file (the others get test.csv)."""
BAD_INIT = {
    "no-labels-anywhere": (
        "texts.csv",
        [NO_TEST],
        {},
        ["the data has no labels to take the label names from", "--labels A,B,C"],
    ),
    "eval-sample-too-large": (
        "texts.csv",
        [NO_TEST, "--labels", "sport,food,tech", "--eval-size", "55"],
        {},
        [
            "eval_size 55 leaves 5 of the pool's 60 unlabelled texts to learn from",
            "fewer than one batch (20)",
            "lower `eval_size` (--eval-size)",
        ],
    ),
    "unknown-strategy": (
        "train.csv",
        ["--strategy", "MostInformative"],
        {},
        ["query_strategy: unknown query strategy 'MostInformative'", "choose one of BreakingTies"],
    ),
    "unknown-backend": (
        "train.csv",
        ["--backend", "bert"],
        {},
        ["backend: Input should be 'auto', 'embeddings', 'hybrid', 'transformer' or 'setfit'"],
    ),
    "unknown-text-column": (
        "train.csv",
        ["--text-column", "body"],
        {},
        ["train.csv has no text column 'body' (columns: text, label)", "set `dataset.text_column`"],
    ),
    "unknown-label-column": (
        "train.csv",
        ["--label-column", "topic"],
        {},
        ["train.csv has no label column 'topic'", "set `dataset.label_column`"],
    ),
    "labels-not-in-data": (
        "train.csv",
        ["--labels", "sport,weather"],
        {},
        ["the data has labels not in the spec's labels: food, tech", "add them to `labels`"],
    ),
    "empty-texts": (
        "empty.csv",
        [],
        {},
        ["empty text in empty.csv row 3, empty.csv row 7", "write the text there or delete the row(s)"],
    ),
    "one-text-two-labels": (
        "conflict.csv",
        [],
        {},
        [
            "the same text has different labels in conflict.csv row 2 ('sport') "
            "and conflict.csv row 5 ('food')",
            "give each text one label",
        ],
    ),
    "not-utf8": ("latin.csv", [], {}, ["latin.csv is not UTF-8 text", "save it as UTF-8"]),
    "huge-text": (
        "huge.csv",
        [],
        {},
        [
            "huge.csv row 4 has a text of 5,000,000 characters",
            "more than dataset.max_text_chars (100,000)",
            "raise `dataset.max_text_chars`",
        ],
    ),
    "one-class": (
        "one-class.csv",
        ["--test", "one-class-test.csv"],
        {},
        ["the data has only one label ('sport')", "set `labels` (--labels)"],
    ),
    "seed-label-outside-labels": (
        "seed-outside.csv",
        ["--labels", "sport,food,tech"],
        {},
        ["the data has labels not in the spec's labels: weather", "add them to `labels`"],
    ),
    "missing-model": (
        "train.csv",
        ["--model", "/no/such/dir"],
        {},
        ["model /no/such/dir: no such folder", "set `model` (--model)"],
    ),
    "wrong-api-key": (
        "train.csv",
        [],
        {"ARGILLA_API_KEY": "not-the-key-0123456789"},
        ["rejected the API key", "ARGILLA_API_KEY"],
    ),
    "argilla-unreachable": (
        "train.csv",
        [],
        {"ARGILLA_API_URL": f"http://127.0.0.1:{SILENT}"},
        ["Argilla does not answer", "ARGILLA_API_URL"],
    ),
    "redis-unreachable": (
        "train.csv",
        [],
        {"REDIS_URL": f"redis://:sekrit-redis-pw@127.0.0.1:{SILENT}/0"},
        ["Redis does not answer", f"127.0.0.1:{SILENT}", "REDIS_URL"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INIT))
def test_bad_init_is_one_line_and_creates_nothing(
    case: str,
    data: Path,
    env: dict[str, str],
    stack: LocalStack,
    redis_client: redis.Redis,
    client: rg.Argilla,
) -> None:
    train, args, changes, fragments = BAD_INIT[case]
    test = ["--test", str(data / "test.csv")] if "--test" not in args and NO_TEST not in args else []
    args = [str(data / arg) if arg.endswith(".csv") else arg for arg in args if arg != NO_TEST]
    name = f"bad-{case}"
    result = run_alloop(
        {**env, **changes},
        "init", "--name", name, "--dataset", str(data / train), *test, *args, "--workspace", WORKSPACE,
    )  # fmt: skip
    line = assert_one_line_error(result, *fragments)
    for secret in ("sekrit-redis-pw", "not-the-key-0123456789", env["ARGILLA_API_KEY"]):
        assert secret not in result.stdout + result.stderr
    assert_nothing_created(name, stack.home, redis_client, client)
    print(f"{case}: {line}")  # the messages, for the record (pytest -s)


def make_source(client: rg.Argilla, name: str, settings: rg.Settings) -> None:
    workspace = client.workspaces(WORKSPACE) or rg.Workspace(name=WORKSPACE, client=client).create()
    rg.Dataset(name=name, workspace=workspace, settings=settings, client=client).create()


def source_settings(case: str) -> rg.Settings | None:
    """The settings of the source dataset of ``case`` (None: no such dataset)."""
    label = rg.LabelQuestion(name="label", labels=["sport", "food"])
    if case == "no-text-field":
        return rg.Settings(fields=[rg.ImageField(name="photo")], questions=[label])
    if case == "no-label-question":
        stars = rg.RatingQuestion(name="stars", values=[1, 2, 3])
        return rg.Settings(fields=[rg.TextField(name="text")], questions=[stars])
    return None


BAD_SOURCES = {
    "missing": ["Argilla has no dataset 'src-missing' in workspace 'badinput'", "--from-argilla"],
    "no-text-field": ["'src-no-text-field' (workspace 'badinput') has no text field"],
    "no-label-question": ["'src-no-label-question' (workspace 'badinput') has no label question", "add one"],
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_a_bad_argilla_source_is_one_line_and_creates_nothing(
    case: str, env: dict[str, str], stack: LocalStack, redis_client: redis.Redis, client: rg.Argilla
) -> None:
    fragments = BAD_SOURCES[case]
    source = f"src-{case}"
    settings = source_settings(case)
    if settings is not None:
        make_source(client, source, settings)
    name = f"bad-source-{case}"
    result = run_alloop(env, "init", "--name", name, "--from-argilla", source, "--workspace", WORKSPACE)
    assert_one_line_error(result, *fragments)
    assert_nothing_created(name, stack.home, redis_client, client)


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"ARGILLA_API_URL": f"http://127.0.0.1:{SILENT}"}, ["does not answer", "ARGILLA_API_URL"]),
        ({"ARGILLA_API_KEY": "not-the-key-0123456789"}, ["rejected the API key", "ARGILLA_API_KEY"]),
        (
            {"REDIS_URL": f"redis://:sekrit-redis-pw@127.0.0.1:{SILENT}/0"},
            [f"Redis at redis://:***@127.0.0.1:{SILENT}/0 does not answer", "REDIS_URL"],
        ),
    ],
    ids=["argilla-unreachable", "wrong-api-key", "redis-unreachable"],
)
def test_check_names_the_service_and_the_setting(
    env: dict[str, str], changes: dict[str, str], fragments: list[str]
) -> None:
    result = run_alloop({**env, **changes}, "check", timeout=120)
    assert_one_line_error(result, *fragments)
    assert "sekrit-redis-pw" not in result.stdout + result.stderr


# The run that meets what happens in Argilla, with services of its own.


@pytest.fixture(scope="module")
def run(env: dict[str, str], data: Path, services: Services) -> str:
    created = alloop(
        env,
        "init", "--name", RUN, "--dataset", str(data / "repeated.csv"), "--test", str(data / "test.csv"),
        "--batch-size", str(BATCH), "--stopping", "none", "--workspace", WORKSPACE,
    )  # fmt: skip
    return created.stdout


def dataset(client: rg.Argilla) -> rg.Dataset:
    found = client.datasets(name=RUN, workspace=WORKSPACE)
    assert found is not None
    return found


def batch_records(client: rg.Argilla, batch: int) -> list[rg.Record]:
    query = rg.Query(filter=rg.Filter([("metadata.batch_id", "==", batch)]))
    return list(dataset(client).records(query=query, with_responses=True))


def current_batch(redis_client: redis.Redis) -> int:
    return RunRegistry(redis_client).get(RUN).batch


def wait_for(
    redis_client: redis.Redis,
    found: Callable[[events.Event], bool],
    what: str,
    run: str = RUN,
    timeout: float = 300,
) -> events.Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, event in events.read(redis_client, run):
            if found(event):
                return event
        time.sleep(0.3)
    pytest.fail(f"no {what} within {timeout} s")


def learner_at(stack: LocalStack, redis_client: redis.Redis, batch: int) -> "Learner":
    from trainer.learner import Learner

    spec = RunRegistry(redis_client).get(RUN).spec
    paths = RunPaths.of(stack.home, RUN)
    return Learner.load(
        CheckpointStore(paths.checkpoints).learner(batch), read_corpus(spec.dataset), paths.cache, "cpu"
    )


def test_repeated_texts_with_the_same_label_are_kept_once_with_a_note(
    run: str, redis_client: redis.Redis
) -> None:
    assert "note: dropped 2 repeated text(s) of the pool (repeated.csv row 62, repeated.csv row 63)" in (
        " ".join(run.split())
    )
    created = wait_for(redis_client, lambda e: isinstance(e, events.RunCreated), "run.created")
    assert isinstance(created, events.RunCreated) and created.pool_size == 60


def test_argilla_refuses_an_answer_outside_the_label_schema(run: str, client: rg.Argilla) -> None:
    record = batch_records(client, 0)[0]
    record.responses.add(rg.Response("label", "weather", user_id=client.me.id, status="submitted"))
    with pytest.raises(UnprocessableEntityError, match="'weather' is not a valid label"):
        dataset(client).records.log([record])
    [again] = [r for r in batch_records(client, 0) if r.id == record.id]
    assert not again._model.responses, "the refused answer was stored"


def test_a_discarded_record_is_left_out_and_never_asked_again(
    run: str, env: dict[str, str], stack: LocalStack, redis_client: redis.Redis, client: rg.Argilla
) -> None:
    record = batch_records(client, 0)[0]
    record.responses.add(rg.Response("label", None, user_id=client.me.id, status="discarded"))
    dataset(client).records.log([record])
    discarded = int(str(record.id).removeprefix("pool-"))
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")  # answers the other five
    assert wait_for_model(redis_client, RUN, 0, strict=False).labels == BATCH - 1
    completed = wait_for(
        redis_client, lambda e: isinstance(e, events.BatchCompleted) and e.batch == 0, "batch.completed 0"
    )
    assert isinstance(completed, events.BatchCompleted) and completed.discarded == 1
    alloop(env, "simulate", "--run", RUN, "--batches", "2", "--timeout", "300")
    assert wait_for_model(redis_client, RUN, 2, strict=False).labels == 3 * BATCH - 1
    learner = learner_at(stack, redis_client, 2)
    assert discarded in set(learner.active.indices_ignored.tolist())
    assert discarded not in set(learner.active.indices_labeled.tolist())
    [now] = [r for r in dataset(client).records() if r.id == record.id]
    assert now.metadata["batch_id"] == 0, "the discarded record was queried (and logged) again"


def test_records_deleted_in_argilla_are_left_out_and_the_run_goes_on(
    run: str,
    env: dict[str, str],
    stack: LocalStack,
    services: Services,
    redis_client: redis.Redis,
    client: rg.Argilla,
) -> None:
    batch = current_batch(redis_client)
    assert batch >= 1
    before = wait_for_model(redis_client, RUN, batch - 1, strict=False).labels
    doomed = batch_records(client, batch)[:2]
    dataset(client).records.delete(doomed)
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    assert wait_for_model(redis_client, RUN, batch, strict=False).labels == before + BATCH - 2
    logged = wait_for(
        redis_client, lambda e: isinstance(e, events.BatchLogged) and e.batch == batch + 1, "the next batch"
    )
    assert isinstance(logged, events.BatchLogged) and logged.records == BATCH
    log = wait_for_log(services.logs / "worker.log", "are gone from Argilla")
    [line] = [line for line in log.splitlines() if "are gone from Argilla" in line]
    assert all(str(record.id) in line for record in doomed), line
    ignored = set(learner_at(stack, redis_client, batch).active.indices_ignored.tolist())
    assert {int(str(record.id).removeprefix("pool-")) for record in doomed} <= ignored


def test_a_batch_deleted_whole_is_named_by_the_watcher_and_logged_again_by_resume(
    run: str,
    env: dict[str, str],
    services: Services,
    redis_client: redis.Redis,
    client: rg.Argilla,
) -> None:
    batch = current_batch(redis_client)
    chosen = sorted(str(record.id) for record in batch_records(client, batch))
    dataset(client).records.delete(batch_records(client, batch))
    expected = (
        f"run {RUN}: batch {batch} has no records in Argilla (deleted by hand?); "
        f"`alloop resume --run {RUN}` logs it again"
    )
    wait_for_log(services.logs / "watcher.log", expected)
    alloop(env, "resume", "--run", RUN)
    assert sorted(str(record.id) for record in batch_records(client, batch)) == chosen
    assert all(record.suggestions for record in batch_records(client, batch))
    alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
    assert wait_for_model(redis_client, RUN, batch, strict=False).batch == batch


def test_a_file_where_the_checkpoints_folder_was_fails_the_job_until_it_is_moved(
    run: str, env: dict[str, str], stack: LocalStack, redis_client: redis.Redis
) -> None:
    batch = current_batch(redis_client)
    checkpoints = RunPaths.of(stack.home, RUN).checkpoints
    moved = checkpoints.with_name("checkpoints.moved")
    checkpoints.rename(moved)
    checkpoints.write_text("not a folder\n")
    try:
        alloop(env, "simulate", "--run", RUN, "--batches", "1", "--timeout", "300")
        failed = wait_for(
            redis_client, lambda e: isinstance(e, events.JobFailed) and e.batch == batch, "job.failed"
        )
    finally:
        checkpoints.unlink()
        moved.rename(checkpoints)
    assert isinstance(failed, events.JobFailed)
    assert failed.retrying, "a file where a folder should be can be moved: rq retries the job"
    assert f"({checkpoints}" in failed.error
    assert "a file stands where alloop needs a folder; move the file away" in failed.error
    assert "\n" not in failed.error
    # rq's retry, once the folder is back
    assert wait_for_model(redis_client, RUN, batch, strict=False).batch == batch


def test_a_worker_with_a_wrong_api_key_publishes_job_failed(
    run: str, env: dict[str, str], services: Services, redis_client: redis.Redis
) -> None:
    ghost = RunSpec.model_validate({"name": "ghost", "dataset": {"path": "-"}, "workspace": WORKSPACE})
    registry = RunRegistry(redis_client)
    killed = {worker.name for worker in Worker.all(queue=train_queue(redis_client))}
    services.kill("worker")  # the only worker now is the one with the wrong key
    # Until Redis drops the killed worker's blocked BLPOP, a job pushed now could be handed to it
    # (the watcher queues such a job again, but this run is not the watcher's to look after).
    deadline = time.monotonic() + 30
    while any(client.get("name") in killed for client in redis_client.client_list()):
        assert time.monotonic() < deadline, "Redis kept the killed worker's connection"
        time.sleep(0.05)
    try:
        assert registry.register(ghost)  # batch -1: the watcher leaves it alone
        assert enqueue_training(train_queue(redis_client), "ghost", 0) is not None
        wrong = "wrong-key-0123456789abcdef"
        result = run_alloop({**env, "ARGILLA_API_KEY": wrong}, "worker", "--burst", "--queues", "train")
        assert result.returncode == 0, result.stdout + result.stderr
        printed = result.stdout + result.stderr
        failed = wait_for(
            redis_client, lambda e: isinstance(e, events.JobFailed), f"job.failed; {printed}", "ghost"
        )
        assert isinstance(failed, events.JobFailed)
        assert failed.error.startswith("Argilla at http://127.0.0.1:")
        assert "rejected the API key; set ARGILLA_API_KEY to a valid key" in failed.error
        assert failed.retrying is False, "the same key fails the same way: fix it, then `alloop resume`"
        assert "`alloop resume --run ghost` queues it again" in " ".join(printed.split())
        assert wrong not in printed + failed.error
    finally:
        registry.delete("ghost")
        services.start("worker")


class Proxy:
    """A TCP relay to ``target`` on a port of its own, which can go away and come back."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for connection in self._open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    near, _ = listener.accept()
                except TimeoutError:
                    continue
                near.settimeout(None)
                far = socket.create_connection(("127.0.0.1", self.target))
                self._open += [near, far]
                for source, sink in ((near, far), (far, near)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def test_the_watcher_rides_out_argilla_and_redis_going_away(
    run: str, env: dict[str, str], services: Services, connection: dict[str, str]
) -> None:
    argilla = Proxy(int(urlsplit(connection["ARGILLA_API_URL"]).port or 0))
    store = Proxy(int(urlsplit(connection["REDIS_URL"]).port or 0))
    argilla.start()
    store.start()
    proxied = Services(
        {
            **env,
            "ARGILLA_API_URL": f"http://127.0.0.1:{argilla.port}",
            "REDIS_URL": f"redis://127.0.0.1:{store.port}/0",
        },
        services.logs,
    )
    log = services.logs / "watcher.proxied.log"
    try:
        proxied.start("watcher.proxied")
        wait_for_log(log, "watching every")
        argilla.stop()
        wait_for_log(log, "Argilla does not answer")
        argilla.start()
        wait_for_log(log, "poll works again")
        store.stop()
        wait_for_log(log, "Redis does not answer")
        store.start()
        content = wait_for_log(log, "poll works again", count=2)
        assert proxied.processes["watcher.proxied"].poll() is None, "the watcher quit"
        assert "Traceback" not in content
        warnings = [line for line in content.splitlines() if "poll failed" in line]
        assert warnings and all("WARNING" in line for line in warnings), warnings
    finally:
        proxied.stop_all()
        argilla.stop()
        store.stop()


def test_a_deleted_dataset_is_reported_by_the_watcher_which_keeps_watching(
    run: str, services: Services, redis_client: redis.Redis, client: rg.Argilla
) -> None:
    dataset(client).delete()
    expected = (
        f"run {RUN}: Argilla has no dataset '{RUN}' in workspace '{WORKSPACE}' (deleted?); "
        f"`alloop stop --run {RUN}` ends the run, `alloop init --replace` starts it again"
    )
    content = wait_for_log(services.logs / "watcher.log", expected)
    assert services.processes["watcher"].poll() is None, "the watcher quit"
    assert "Traceback" not in content
    assert RunRegistry(redis_client).get(RUN).state.value == "active", "the run is left for the user to end"
