"""The background model as the fast half's teacher: its labels of a random sample of the pool.

While the background model serves, it chooses part of every batch, and the texts it chooses are
those it finds hard. A linear model gains little from them. TREC-6, 10 s a label, seed 0, 260 labels:
a model trained on 260 random labels gets 0.55 of the background-chosen texts right against 0.68 of
the fast-chosen ones; the fast half reached 0.806 against 0.872 choosing alone, and the best of all
twenty candidate models on its labels 0.814, so neither the model choice nor the class weights were
the cause. The same labels plus the background model's labels of 600 random unlabelled texts: 0.91.

So each batch the background model chooses also leaves its labels of :data:`SIZE` random unlabelled
texts, which the fast model learns beside the annotators' labels. Only the background model that
serves (the more accurate on held-out labels) teaches; model selection and the neighbours' weight are
still cross-validated on the annotators' labels alone.

A lesson is learned at every update until a newer one replaces it, less the texts labelled since.
Learned once, it left the fast model to fall back whenever the fast model served a batch: TREC-6 at
1 s a label, where the two take turns, 0.836 → 0.774 and 0.844 → 0.729 on the updates without one,
against 0.816 and 0.832 for the fast model choosing alone.
"""

from dataclasses import dataclass

import numpy as np

SIZE = 500
"""Texts labelled by the background model for each update. TREC-6 at 260 labels: 300 of them gave
0.876, 600 gave 0.91; each hundred adds about 0.02 s to an update of a few hundred labels."""


@dataclass(frozen=True)
class Lesson:
    """Pool indices and the class indices the background model gave them."""

    indices: tuple[int, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.indices)

    def without(self, known: np.ndarray) -> "Lesson":
        """The lesson less the pool indices ``known`` (labelled or discarded since it was drawn)."""
        keep = ~np.isin(np.asarray(self.indices, dtype=int), known)
        return Lesson(
            tuple(int(i) for i in np.asarray(self.indices)[keep]),
            tuple(int(y) for y in np.asarray(self.labels)[keep]),
        )


def draw(scores: np.ndarray, free: np.ndarray, seed: int, size: int = SIZE) -> Lesson:
    """``size`` texts of ``free`` (pool indices) drawn at random, with the most probable class by
    ``scores`` (class probabilities of every pool text)."""
    chosen = np.sort(np.random.default_rng(seed).choice(free, size=min(size, free.size), replace=False))
    return Lesson(tuple(int(i) for i in chosen), tuple(int(y) for y in scores[chosen].argmax(axis=1)))
