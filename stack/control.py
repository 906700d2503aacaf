"""Bringing the local stack up and down, and telling what runs."""

import shlex
from dataclasses import dataclass

from pydantic import ValidationError

from common.argilla_adapter import check_argilla
from common.connection import Connection, ServiceError, check_redis
from common.files import atomic_write_text
from common.settings import Settings
from stack import argilla_service, redis_service
from stack.credentials import load_or_create
from stack.errors import StackError
from stack.paths import StackPaths


class StackState(Connection):
    """Where the running stack listens, its owner's login, and whether its Redis is ours."""

    redis_managed: bool
    username: str
    password: str


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str
    pid: int | None
    url: str
    detail: str


def up(settings: Settings) -> StackState:
    """Start Redis (unless REDIS_URL is set) and the Argilla server; idempotent."""
    paths = StackPaths.under(settings.home)
    paths.ensure()
    credentials = load_or_create(paths.credentials)
    redis_managed = settings.redis_url is None
    already_running = redis_service.managed_pid(paths) is not None
    if redis_managed:
        redis_url = redis_service.start(settings, paths)
    else:
        redis_url = settings.redis_url or ""
        check_redis(redis_url)
    try:
        argilla_url = argilla_service.start(settings, paths, credentials, redis_url)
        argilla_service.start_worker(settings, paths, redis_url)
    except BaseException:
        if redis_managed and not already_running:
            redis_service.stop(paths)
        raise
    state = StackState(
        argilla_api_url=argilla_url,
        argilla_api_key=credentials.api_key,
        redis_url=redis_url,
        redis_managed=redis_managed,
        username=credentials.username,
        password=credentials.password,
    )
    atomic_write_text(paths.state, state.model_dump_json(indent=2), mode=0o600)
    return state


def down(settings: Settings) -> list[str]:
    """Stop what `up` started (never an external Redis); the names of the services stopped."""
    paths = StackPaths.under(settings.home)
    stopped = [
        name
        for name, stop in (("argilla", argilla_service.stop), ("redis", redis_service.stop))
        if stop(paths)
    ]
    paths.state.unlink(missing_ok=True)
    return stopped


def read_state(settings: Settings) -> StackState:
    """The running stack's URLs and login, or a StackError saying how to start it."""
    paths = StackPaths.under(settings.home)
    state = _load_state(paths)
    if state is None or argilla_service.managed_pid(paths) is None:
        raise StackError(
            f"the local stack under {settings.home} is not running; start it with `alloop stack up`"
        )
    return state


def _load_state(paths: StackPaths) -> StackState | None:
    try:
        return StackState.model_validate_json(paths.state.read_text())
    except FileNotFoundError:
        return None
    except ValidationError:
        raise StackError(
            f"{paths.state} is damaged; run `alloop stack down` then `alloop stack up`"
        ) from None


def status(settings: Settings) -> list[ServiceStatus]:
    """The state of each part of the stack, checked live."""
    paths = StackPaths.under(settings.home)
    state = _load_state(paths)
    return [_argilla_status(settings, paths, state), _redis_status(settings, paths, state)]


def _argilla_status(settings: Settings, paths: StackPaths, state: StackState | None) -> ServiceStatus:
    pid = argilla_service.managed_pid(paths)
    url = state.argilla_api_url if state else argilla_service.local_url(settings)
    if pid is None or state is None:
        return ServiceStatus("argilla", "stopped", pid, url, "")
    try:
        username = check_argilla(url, state.argilla_api_key)
    except ServiceError as error:
        return ServiceStatus("argilla", "failing", pid, url, str(error))
    worker = argilla_service.worker_pid(paths)
    jobs = f"its worker is pid {worker}" if worker else "its worker is not running: no webhooks"
    return ServiceStatus("argilla", "running", pid, url, f"signed in as {username}; {jobs}")


def _redis_status(settings: Settings, paths: StackPaths, state: StackState | None) -> ServiceStatus:
    pid = redis_service.managed_pid(paths)
    external = settings.redis_url if settings.redis_url else None
    url = external or (state.redis_url if state else redis_service.local_url(settings))
    if pid is None and external is None:
        return ServiceStatus("redis", "stopped", None, url, "")
    try:
        check_redis(url)
    except ServiceError as error:
        return ServiceStatus("redis", "failing", pid, url, str(error))
    return ServiceStatus("redis", "external" if pid is None else "running", pid, url, "PING ok")


def env_lines(state: StackState) -> list[str]:
    """Shell lines that point the argilla SDK, rq and alloop at the stack."""
    values = {
        "ARGILLA_API_URL": state.argilla_api_url,
        "ARGILLA_API_KEY": state.argilla_api_key,
        "REDIS_URL": state.redis_url,
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


__all__ = ["ServiceStatus", "StackError", "StackState", "down", "env_lines", "read_state", "status", "up"]
