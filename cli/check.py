"""`alloop check`: can alloop reach the Argilla and Redis it is configured for?"""

from rich.console import Console
from rich.table import Table

from common.argilla_adapter import check_argilla
from common.connection import check_redis, resolve_connection
from common.secrets import mask_url
from common.settings import get_settings

console = Console()


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
