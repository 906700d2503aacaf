"""`alloop check`: can alloop reach the Argilla and Redis it is configured for? `alloop check-env`:
will a compose deployment's .env start?"""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from common.argilla_adapter import check_argilla
from common.compose_env import problems
from common.connection import check_redis, resolve_connection
from common.errors import UserError
from common.secrets import mask_url
from common.settings import get_settings

console = Console()
errors = Console(stderr=True)


def check() -> None:
    """Sign in to Argilla and PING Redis with the connection alloop would use; exit 1 on any problem."""
    connection = resolve_connection(get_settings())
    username = check_argilla(
        connection.argilla_api_url, connection.argilla_api_key, connection.argilla_headers
    )
    check_redis(connection.redis_url)
    table = Table("service", "url", "result")
    table.add_row("argilla", connection.argilla_api_url, f"[green]signed in as {username}[/]")
    table.add_row("redis", mask_url(connection.redis_url), "[green]PING ok[/]")
    console.print(table)


def check_env(
    env_file: Annotated[Path, typer.Option("--env-file", help="The .env docker compose reads.")] = Path(
        ".env"
    ),
    compose_file: Annotated[
        Path, typer.Option("--compose-file", help="The compose file whose variables it sets.")
    ] = Path("docker-compose.yml"),
) -> None:
    """Check a compose deployment's .env before `docker compose up`: placeholders, values Argilla
    refuses, and variables exported in this shell that would win over it; exit 1 on any problem."""
    for path, fix in ((env_file, "cp .env.example .env"), (compose_file, "run it in alloop's folder")):
        if not path.is_file():
            raise UserError(f"{path} does not exist; {fix}")
    found = problems(env_file, compose_file, os.environ)
    for line in found:
        errors.print(f"[red]✗[/] {escape(line)}", highlight=False, soft_wrap=True)
    if found:
        raise UserError(f"{env_file}: {len(found)} problem(s) above; fix them before `docker compose up`")
    console.print(
        f"[green]✓[/] {env_file} is ready for `docker compose up`. The owner's username, password "
        'and API key are set in Argilla at its first start only: README "Deploy" says how to change them.',
        soft_wrap=True,
    )
