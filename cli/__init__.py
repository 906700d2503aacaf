"""The `alloop` command."""

import os

# Libraries underneath (the argilla SDK, transformers) draw progress bars on every call; alloop draws its own.
os.environ.setdefault("TQDM_DISABLE", "1")

from cli.main import app, main

__all__ = ["app", "main"]
