"""The `alloop` command line: one Typer app, a sub-app per concept."""

import sys

import httpx
import redis
import typer
from rich.console import Console

from cli import runs, services, stack
from cli.check import check
from cli.demo import demo
from common.errors import UserError

app = typer.Typer(
    name="alloop",
    help="Human-in-the-loop active learning for text classification with Argilla.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack.app, name="stack")
app.command()(runs.init)
app.command()(services.watcher)
app.command()(services.worker)
app.command()(runs.simulate)
app.command()(runs.stop)
app.command()(runs.resume)
app.command()(runs.status)
app.command()(runs.report)
app.command(name="events")(runs.show_events)
app.command()(check)
app.command()(demo)

errors = Console(stderr=True)


def main() -> None:
    """Run the CLI; a UserError becomes one line on stderr and exit status 1, without a traceback."""
    try:
        app()
    except UserError as error:
        fail(str(error))
    except redis.exceptions.ConnectionError as error:
        fail(f"Redis does not answer ({error}); start it, or fix REDIS_URL (`alloop check` tells more)")
    except httpx.TransportError as error:
        fail(
            f"Argilla does not answer ({error}); start it, or fix ARGILLA_API_URL (`alloop check` tells more)"
        )


def fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)
