"""Settings from the environment and `.env`, shared by every alloop process."""

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where alloop keeps its data and how it reaches Argilla and Redis.

    Each field reads ``ALLOOP_<NAME>``; the connection fields also read the names the argilla
    SDK and rq users already export (``ARGILLA_API_URL``, ``ARGILLA_API_KEY``, ``REDIS_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="ALLOOP_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("~/.alloop"), description="Data, logs and run state.")

    argilla_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ARGILLA_API_URL", "ALLOOP_ARGILLA_API_URL")
    )
    argilla_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("ARGILLA_API_KEY", "ALLOOP_ARGILLA_API_KEY")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ALLOOP_REDIS_URL")
    )
    argilla_headers: dict[str, str] = Field(
        default_factory=dict,
        description='Extra HTTP headers for Argilla as JSON, e.g. {"Authorization": "Bearer hf_…"}.',
    )

    stack_host: str = "127.0.0.1"
    argilla_port: int = Field(default=6900, ge=1, le=65535)
    redis_port: int = Field(default=6380, ge=1, le=65535)
    argilla_python: Path | None = Field(
        default=None,
        description="Python of the virtualenv that holds argilla-server; "
        "default: a virtualenv under ALLOOP_HOME, created on first `alloop stack up`.",
    )
    stack_timeout: float = Field(default=90.0, gt=0, description="Seconds `stack up` waits for readiness.")

    device: str = Field(
        default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="Where models train."
    )
    machine: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        description="The machine this process runs on: a background training on its CPU pauses while "
        "a training job of the same machine runs. Default: the host name; compose gives its containers one.",
    )
    heavy_backend: str = Field(
        default="setfit",
        pattern=r"^(none|setfit|transformer|embeddings|hybrid|auto)$",
        description="The background model of runs `alloop init`/`demo` create without --heavy-backend "
        "(two-speed learning); none: one speed. Needs a worker on the heavy queue.",
    )
    poll_interval: float = Field(
        default=0.25, gt=0, le=3600, description="Seconds between the watcher's polls."
    )
    webhook_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port on which the watcher receives Argilla's webhooks (0: any free one); "
        "unset: no webhooks, polling only.",
    )
    webhook_host: str = Field(default="127.0.0.1", description="Address the webhook receiver listens on.")
    webhook_url: str | None = Field(
        default=None,
        description="The URL Argilla delivers webhooks to; default http://WEBHOOK_HOST:PORT/ "
        "(in Docker: the watcher's service name).",
    )

    @field_validator("home", "argilla_python", mode="after")
    @classmethod
    def _expand_user(cls, path: Path | None) -> Path | None:
        return path.expanduser().absolute() if path is not None else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
