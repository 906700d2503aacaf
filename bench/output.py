"""How every benchmark reports: a rich table on the terminal and a JSON file."""

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common.files import atomic_write_text

# Wide enough for the tables when the output is a file or a pipe rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)


def show(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` as a table; floats get three decimals."""
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(f"{cell:.3f}" if isinstance(cell, float) else str(cell) for cell in row))
    console.print(table)


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write the benchmark's results to ``path`` (atomically), when one was given."""
    if path is None:
        return
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    console.print(f"results written to {path}")
