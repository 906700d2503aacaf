"""Log set-up for alloop's long-running services: one readable line per thing that happened."""

import logging
from collections.abc import Iterable

from rich.logging import RichHandler

from common.secrets import RedactingFilter


def configure(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to the terminal, every line (alloop's or a library's) passing a filter that masks ``secrets``.

    The filter sits on the handler, not on a logger, so records of every logger that reach the
    handler are cleaned, tracebacks included. Processes forked from this one (rq's jobs) keep it.
    """
    handler = RichHandler(show_path=False, rich_tracebacks=False, markup=False)
    handler.addFilter(RedactingFilter(secrets))
    logging.basicConfig(
        level=level,
        format="%(name)s: %(message)s",
        datefmt="[%X]",
        handlers=[handler],
        force=True,
    )
    for noisy in ("httpx", "httpcore", "argilla.sdk", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
