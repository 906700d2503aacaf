"""small-text's query strategies and stopping criteria, built from a run spec."""

from typing import Any

import small_text

from common.spec import RunSpec


def make_query_strategy(spec: RunSpec) -> Any:
    """The spec's query strategy, by small-text class name, with its defaults.

    With ``query_subsample`` set, small-text's SubsamplingQueryStrategy wraps it: a query over more
    unlabelled items than that scores only that many, drawn at random with numpy's global generator
    (which the learner seeds, so a retried query draws the same ones).
    """
    strategy = getattr(small_text, spec.query_strategy)()
    if spec.query_subsample is None:
        return strategy
    return small_text.SubsamplingQueryStrategy(strategy, subsample_size=spec.query_subsample)


def make_stopping_criterion(name: str | None, num_classes: int) -> Any:
    return None if name is None else getattr(small_text, name)(num_classes)
