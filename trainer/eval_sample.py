"""The evaluation sample: pool texts the annotators label but the learner never learns nor chooses.

A run without a test split still needs an honest figure. Its evaluation sample is drawn at random
from the pool at init, so its labels estimate accuracy on the pool without the bias of actively
chosen texts. Its texts are spread through the batches (``spec.eval_share`` a batch, in random
places), so annotators see and label them like any other record.
"""

import numpy as np

from common.corpus import Corpus
from common.errors import UserError
from common.spec import RunSpec


def wants_sample(spec: RunSpec, corpus: Corpus) -> bool:
    """Whether the run draws an evaluation sample: it has none of a test split, and eval_size > 0."""
    return spec.eval_size > 0 and not corpus.test_texts


def draw(spec: RunSpec, corpus: Corpus) -> list[int]:
    """``spec.eval_size`` pool indices at random among the texts without a label, in the order asked.

    UserError when the sample would leave fewer texts than one batch to learn from, or fill batches.
    """
    seeded = set(corpus.seed)
    candidates = np.array([index for index in range(len(corpus.train_texts)) if index not in seeded])
    left = candidates.size - spec.eval_size
    if left < spec.batch_size:
        raise UserError(
            f"eval_size {spec.eval_size} leaves {max(left, 0)} of the pool's {candidates.size} unlabelled "
            f"texts to learn from, fewer than one batch ({spec.batch_size}); lower `eval_size` "
            "(--eval-size), give a test file (--test), or set eval_size 0 to go without an estimate"
        )
    if spec.eval_share >= spec.batch_size:
        raise UserError(
            f"eval_per_batch {spec.eval_share} leaves no room in a batch of {spec.batch_size} for texts "
            "to learn; lower `eval_per_batch`, raise `batch_size`, or set eval_size 0"
        )
    rng = np.random.default_rng([spec.seed, 1])
    return [int(index) for index in rng.choice(candidates, size=spec.eval_size, replace=False)]


def mix(chosen: list[int], sample_part: list[int], seed: int) -> list[int]:
    """The batch: the strategy's ``chosen`` texts with ``sample_part`` in random places."""
    batch = np.array([*chosen, *sample_part], dtype=int)
    return [int(index) for index in np.random.default_rng(seed).permutation(batch)]
