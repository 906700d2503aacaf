"""Log set-up for alloop's long-running services: one readable line per thing that happened."""

import logging

from rich.logging import RichHandler


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(name)s: %(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False, markup=False)],
        force=True,
    )
    for noisy in ("httpx", "httpcore", "argilla.sdk", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
