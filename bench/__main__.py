"""Entry point: ``python -m bench --help`` lists the benchmarks."""

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """alloop's benchmarks: each prints a table and, with --json FILE, writes its results."""


# Each module defines one command, `run`, registered under the benchmark's name.
COMMANDS: dict[str, str] = {  # benchmark name -> module in bench/
    "al-curve": "al_curve",
    "latency": "latency",
    "workers": "workers",
    "scoring": "scoring",
    "pool-scale": "pool_scale",
    "heavy-budget": "heavy_budget",
}

for name, module in COMMANDS.items():
    app.command(name)(importlib.import_module(f"bench.{module}").run)

if __name__ == "__main__":
    app()
