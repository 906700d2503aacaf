"""The `alloop` command line: one Typer app, a sub-app per concept."""

import contextlib
import sys

import httpx
import redis
import typer
from rich.console import Console
from rich.markup import escape

from cli import export, runs, services, stack
from cli.check import check, check_env
from cli.demo import demo
from common.argilla_adapter import SDK_ERRORS
from common.connection import resolve_connection
from common.errors import UserError, describe, has_hint
from common.secrets import redact, url_secrets
from common.settings import get_settings

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
app.command()(export.export)
app.command(name="export-model")(export.export_model)
app.command()(check)
app.command(name="check-env")(check_env)
app.command()(demo)

errors = Console(stderr=True)


def main() -> None:
    """Run the CLI; a failure the user can act on becomes one line on stderr and exit status 1.

    Bugs keep their traceback; known failures (bad input, Argilla or Redis away or refusing, a full
    disk, a file where a folder is needed) never show one.
    """
    try:
        app()
    except (UserError, redis.RedisError, httpx.TransportError, *SDK_ERRORS) as error:
        fail(_with_check_hint(error, describe(error)))
    except OSError as error:
        if not has_hint(error):
            raise
        fail(describe(error))


def _with_check_hint(error: BaseException, message: str) -> str:
    if isinstance(error, redis.ConnectionError | httpx.TransportError) and "alloop check" not in message:
        return f"{message} (`alloop check` tells more)"
    return message


def fail(message: str) -> None:
    """Print ``message`` as the one `error:` line, without any known secret, and exit 1."""
    text = redact(" ".join(message.split()), _secrets())
    errors.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    sys.exit(1)


def _secrets() -> list[str]:
    """The API key and Redis credentials this process could know of: none may reach the terminal."""
    try:
        settings = get_settings()
    except Exception:  # a bad setting is what is being reported: read nothing more
        return []
    found = [settings.argilla_api_key or "", *url_secrets(settings.redis_url)]
    with contextlib.suppress(Exception):  # no connection configured: the settings are all there is
        found += resolve_connection(settings).secrets()
    return [secret for secret in found if secret]
