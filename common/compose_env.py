"""The compose deployment's ``.env``: the values the argilla-server image and docker compose accept.

Argilla's start script creates the owner from ``ARGILLA_OWNER_*`` at the first start only, and
fails (the container restart-loops) on an API key under 8 characters or a value with a space;
docker compose takes a variable exported in the shell over the one in ``.env``. Both are found
before ``docker compose up`` rather than in the containers' logs.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from dotenv import dotenv_values
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from common.secrets import mask_url

PLACEHOLDER = re.compile(r"change[-_ ]?me", re.IGNORECASE)
ARGILLA_MIN_LENGTH = 8
"""argilla-server 2.8.0's minimum for a user's password and API key."""
SHOWN = {"REDIS_URL", "ARGILLA_API_URL", "ALLOOP_DEVICE", "ALLOOP_HEAVY_BACKEND", "ALLOOP_IMAGE"}
"""Variables whose values a message may show (URLs masked); the others may be secrets."""
INTERPOLATED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _value(min_length: int = 1, pattern: str | None = None, what: str = "") -> AfterValidator:
    """A value Argilla's start script and the compose file take: no placeholder, no whitespace,
    at least ``min_length`` characters, and ``pattern`` (described by ``what``) when given."""

    def check(value: str) -> str:
        if PLACEHOLDER.search(value):
            raise ValueError("is still the placeholder of .env.example; give it a value of your own")
        if any(character.isspace() for character in value):
            raise ValueError("holds a space, which Argilla's start script splits on; remove it")
        if len(value) < min_length:
            raise ValueError(f"has {len(value)} characters, Argilla needs at least {min_length}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


Secret = Annotated[str, _value(ARGILLA_MIN_LENGTH)]
Username = Annotated[str, _value(pattern=r"[a-z0-9][a-z0-9_-]*", what="lowercase letters, digits, - and _")]
UrlPassword = Annotated[
    str, _value(pattern=r"[A-Za-z0-9]+", what="letters and digits only (it goes into a database URL)")
]


class ComposeEnv(BaseModel):
    """The variables of ``.env`` that compose requires or that must be valid when set."""

    model_config = ConfigDict(extra="allow")

    ARGILLA_OWNER_USERNAME: Username = "alloop"
    ARGILLA_OWNER_PASSWORD: Secret
    ARGILLA_OWNER_API_KEY: Secret
    ARGILLA_AUTH_SECRET_KEY: Secret
    POSTGRES_PASSWORD: UrlPassword
    ARGILLA_API_KEY: Secret | None = None


def problems(env_file: Path, compose_file: Path, environ: Mapping[str, str]) -> list[str]:
    """One line per value of ``env_file`` that would break ``docker compose up``, and per variable
    of ``environ`` (the shell) that would win over it; empty when all is well."""
    values = {name: value or "" for name, value in dotenv_values(env_file).items()}
    found = _invalid(values)
    found += _shadowed(values, set(INTERPOLATED.findall(compose_file.read_text())), environ)
    return found


def _invalid(values: dict[str, str]) -> list[str]:
    try:
        ComposeEnv.model_validate(values)
    except ValidationError as error:
        return [_describe(item["loc"][0], item["type"], item["msg"]) for item in error.errors()]
    return []


def _describe(name: object, kind: str, message: str) -> str:
    if kind == "missing":
        return f"{name} is not set: copy its line from .env.example and give it a value"
    return f"{name} {message.removeprefix('Value error, ')}"


def _shadowed(values: dict[str, str], names: set[str], environ: Mapping[str, str]) -> list[str]:
    lines = []
    for name in sorted(names & environ.keys()):
        if environ[name] == values.get(name):
            continue
        value = mask_url(environ[name]) if name.endswith("_URL") else environ[name]
        shown = f" ({value})" if name in SHOWN else ""
        where = "over .env's value" if name in values else "although .env leaves it unset"
        lines.append(
            f"{name} is exported in this shell{shown}, and docker compose uses it {where}; "
            f"`unset {name}` before `docker compose up`"
        )
    return lines
