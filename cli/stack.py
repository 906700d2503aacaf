"""`alloop stack`: the embedded local Argilla and Redis."""

import json

import typer
from rich.console import Console
from rich.table import Table

from common.secrets import mask_url
from common.settings import get_settings
from stack import control

app = typer.Typer(help="Run a local Argilla server and Redis, offline, without Docker.", no_args_is_help=True)
console = Console()


@app.command()
def up() -> None:
    """Start Redis and the Argilla server in the background (idempotent) and print the login."""
    settings = get_settings()
    with console.status("Starting Redis and the Argilla server…"):
        state = control.up(settings)
    console.print(
        f"[bold green]Argilla is up[/] at [link={state.argilla_api_url}]{state.argilla_api_url}[/link]"
    )
    console.print(f"  login:    {state.username} / {state.password}")
    console.print(f"  API key:  {state.argilla_api_key}")
    console.print(f"  Redis:    {mask_url(state.redis_url)}")
    console.print('Point the SDK and alloop at it with: [bold]eval "$(alloop stack env)"[/]')


@app.command()
def down() -> None:
    """Stop what `alloop stack up` started; an external Redis is left alone."""
    stopped = control.down(get_settings())
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Show each part of the stack, checked live; exit 1 if any part is not running."""
    services = control.status(get_settings())
    if as_json:
        shown = [{**service.__dict__, "url": mask_url(service.url)} for service in services]
        typer.echo(json.dumps(shown, indent=2))
    else:
        table = Table("service", "state", "pid", "url", "detail")
        colours = {"running": "green", "external": "green", "stopped": "yellow", "failing": "red"}
        for service in services:
            colour = colours.get(service.state, "white")
            table.add_row(
                service.name,
                f"[{colour}]{service.state}[/]",
                str(service.pid or ""),
                mask_url(service.url),
                service.detail,
            )
        console.print(table)
    if any(service.state in ("stopped", "failing") for service in services):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """Print `export` lines for ARGILLA_API_URL, ARGILLA_API_KEY and REDIS_URL, for `eval`."""
    for line in control.env_lines(control.read_state(get_settings())):
        typer.echo(line)
