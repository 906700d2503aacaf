"""small-text's query strategies and stopping criteria, built from a run spec."""

from typing import Any

import small_text

from common.spec import RunSpec


def make_query_strategy(spec: RunSpec) -> Any:
    """The spec's query strategy, by small-text class name, with its defaults."""
    return getattr(small_text, spec.query_strategy)()


def make_stopping_criterion(name: str | None, num_classes: int) -> Any:
    return None if name is None else getattr(small_text, name)(num_classes)
