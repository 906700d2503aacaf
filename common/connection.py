"""How every alloop process reaches Argilla and Redis, and checks that it can."""

from pathlib import Path

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.errors import UserError, redis_failure
from common.secrets import mask_url, url_secrets
from common.settings import Settings


class ServiceError(UserError):
    """Argilla or Redis cannot be reached or refuses us."""


class Connection(BaseModel):
    """The Argilla server and Redis that alloop talks to."""

    model_config = ConfigDict(extra="ignore")

    argilla_api_url: str
    argilla_api_key: str
    redis_url: str
    argilla_headers: dict[str, str] = Field(default_factory=dict)

    def secrets(self) -> list[str]:
        """What must never be shown: the API key, Redis credentials, extra header values."""
        return [self.argilla_api_key, *url_secrets(self.redis_url), *self.argilla_headers.values()]

    def redis(self) -> redis.Redis:
        """A client for this Redis (bytes replies, as rq needs)."""
        return redis.Redis.from_url(self.redis_url)


def stack_state_file(home: Path) -> Path:
    """Where `alloop stack up` records the local stack's URLs and key."""
    return home / "stack" / "stack.json"


def resolve_connection(settings: Settings) -> Connection:
    """The connection from the environment, completed from the running local stack where unset."""
    configured = {
        "argilla_api_url": settings.argilla_api_url,
        "argilla_api_key": settings.argilla_api_key,
        "redis_url": settings.redis_url,
    }
    local = _local_stack(settings.home)
    if local is not None:
        for name in configured:
            configured[name] = configured[name] or getattr(local, name)
    missing = [name.upper() for name, value in configured.items() if not value]
    if missing:
        raise ServiceError(
            f"{', '.join(missing)} not set; export them for your Argilla and Redis, "
            "or start the local stack with `alloop stack up`"
        )
    return Connection.model_validate({**configured, "argilla_headers": settings.argilla_headers})


def _local_stack(home: Path) -> Connection | None:
    try:
        return Connection.model_validate_json(stack_state_file(home).read_text())
    except (FileNotFoundError, ValidationError):
        return None


def check_redis(url: str, timeout: float = 2.0) -> None:
    """Raise ServiceError unless the Redis at ``url`` answers PING."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout) as client:
            client.ping()
    except TypeError as error:  # redis-py's answer to TLS options in a redis:// URL
        raise ServiceError(
            f"REDIS_URL {mask_url(url)} has options this kind of connection does not take ({error}); "
            "TLS options such as ssl_ca_certs need a rediss:// URL"
        ) from None
    except (redis.RedisError, ValueError) as error:
        raise ServiceError(redis_failure(error, where=f" at {mask_url(url)}")) from None
