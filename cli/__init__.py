"""The `alloop` command."""

from cli.main import app, main

__all__ = ["app", "main"]
