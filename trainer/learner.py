"""The active learner of one run: small-text's PoolBasedActiveLearner over the run's pool."""

import logging
import pickle
import random
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from small_text import (
    LABEL_UNLABELED,
    PoolBasedActiveLearner,
    SklearnDataset,
    random_initialization_balanced,
)

from common.argilla_adapter import record_id
from common.corpus import Corpus
from common.errors import UserError
from common.events import EvaluatedOn
from common.spec import InitialBatch, RunSpec
from trainer import eval_sample as eval_samples
from trainer.backends import BackendOptions, ClassifierBackend, make_backend
from trainer.backends.selection import (
    CV_SEED,
    HISTORY,
    MAX_CV_LABELS,
    Selection,
    default_selection,
    fit_in_span,
    select,
)
from trainer.metrics import Metrics, measure, unmeasured
from trainer.neighbours import NO_AVERAGING, Averaging, Neighbours, averaged, best_weight, cv_weights
from trainer.scores import ScoreLookup, scores_suffice
from trainer.strategies import make_query_strategy, make_stopping_criterion
from trainer.teaching import Lesson, draw

log = logging.getLogger("alloop.trainer")

STATE_FILE = "learner.pkl"
SMALL_TEXT_FOLDER = "small-text"


@dataclass
class _State:
    """What a checkpoint needs beyond small-text's own save."""

    spec_json: str
    label_names: list[str]
    options: BackendOptions
    awaiting: list[int] = field(default_factory=list)
    initialized: bool = False
    stop: bool = False
    stopping: Any = None
    selections: list[Selection] = field(default_factory=list)
    """``auto``: the last few cross-validations, newest last; the next update trains the newest's
    choice, and the next cross-validation averages their scores with its own."""
    serving: Selection | None = None
    """``auto``: the choice the current model was trained as (None for other backends)."""
    eval_sample: list[int] = field(default_factory=list)
    """Pool indices of the evaluation sample (:mod:`trainer.eval_sample`), in the order asked."""
    eval_asked: int = 0
    """How many of ``eval_sample`` have been put in a batch."""
    eval_answers: dict[int, str] = field(default_factory=dict)
    """The annotators' labels of the evaluation sample so far (discarded texts left out)."""
    averaging: Averaging = NO_AVERAGING
    """The neighbours' weight in the model's probabilities (:mod:`trainer.neighbours`)."""
    averaging_scores: list[dict[float, float]] = field(default_factory=list)
    """The last few cross-validations of the neighbours' weights, newest last."""
    lesson: Lesson | None = None
    """The last serving background model's labels of a pool sample, learned at every update until a
    newer one replaces it (:mod:`trainer.teaching`)."""
    taught: int = 0
    """How many texts labelled by the background model the current model learned besides the labels."""

    def __setstate__(self, saved: dict[str, Any]) -> None:
        # A checkpoint written before a field existed restores with the field's default.
        defaults = _State(spec_json="", label_names=[], options=BackendOptions()).__dict__
        self.__dict__.update(defaults | saved)
        # Likewise for the backend options (a pickled model keeps only the fields it had).
        self.options = BackendOptions(**vars(self.options))


class Learner:
    """Chooses batches, learns their labels, suggests labels, and evaluates."""

    def __init__(
        self,
        spec: RunSpec,
        backend: ClassifierBackend,
        active: PoolBasedActiveLearner,
        corpus: Corpus,
        state: _State,
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.active = active
        self.corpus = corpus
        self.state = state
        self._test: Any = None
        self._neighbours: Neighbours | bool | None = False  # False: not looked up yet
        self._proba: tuple[np.ndarray, np.ndarray | None] | None = None

    @classmethod
    def build(
        cls,
        spec: RunSpec,
        corpus: Corpus,
        label_names: list[str],
        run_dir: Path,
        device: str = "auto",
        options: BackendOptions | None = None,
        eval_sample: bool | None = None,
    ) -> "Learner":
        """A learner before its first batch; ``eval_sample`` draws the evaluation sample (default:
        when the corpus has no test split and ``spec.eval_size`` > 0)."""
        options = options or BackendOptions()
        drawn = eval_samples.wants_sample(spec, corpus) if eval_sample is None else eval_sample
        sample = eval_samples.draw(spec, corpus) if drawn else []
        backend = make_backend(spec, label_names, run_dir, device, options)
        pool = backend.dataset(corpus.train_texts, cache=True)
        active = PoolBasedActiveLearner(backend.classifier_factory(), make_query_strategy(spec), pool)
        state = _State(
            spec_json=spec.model_dump_json(),
            label_names=list(label_names),
            options=options,
            stopping=make_stopping_criterion(spec.stopping_criterion, len(label_names)),
            eval_sample=sample,
        )
        return cls(spec, backend, active, corpus, state)

    @property
    def backend_name(self) -> str:
        return self.backend.kind.value

    @property
    def serving(self) -> Selection | None:
        """``auto``: the choice the current model was trained as, and the CV evidence it was chosen on."""
        return self.state.serving

    @property
    def version_tag(self) -> str:
        """The backend, and for ``auto`` the model it trained: ``auto.embeddings-words.C10.unweighted``."""
        if self.state.serving is None:
            return self.backend_name
        averaging = f".neighbours{self.averaging.weight:g}" if self.averaging.weight else ""
        taught = ".taught" if self.state.taught else ""
        return f"{self.backend_name}.{self.state.serving.choice.tag}{averaging}{taught}"

    @property
    def taught(self) -> int:
        """How many texts labelled by the background model the current model learned besides the
        annotators' labels (:mod:`trainer.teaching`; 0: none)."""
        return self.state.taught

    @property
    def selects(self) -> bool:
        """Whether the backend chooses its own model (``auto``)."""
        return hasattr(self._factory, "choose")

    @property
    def feature_layout(self) -> tuple[tuple[str, int], ...]:
        """``auto``: the blocks of a row and their widths, ``(("embeddings", 384), ("words", …), …)``."""
        return tuple(self._factory.layout) if self.selects else ()

    @property
    def neighbours(self) -> Neighbours | None:
        """The pool's and the test split's nearest pool texts, where the run averages over them
        (``spec.neighbours``, a backend that chooses its model, a pool up to ``MAX_POOL``)."""
        if self._neighbours is False:
            wanted = self.spec.neighbours and self.selects
            self._neighbours = Neighbours.of(
                self.backend.run_dir,
                self.spec.model,
                self.corpus.train_texts,
                self.corpus.test_texts,
                self.backend.device,
            ) if wanted else None  # fmt: skip
        return self._neighbours if isinstance(self._neighbours, Neighbours) else None

    @property
    def averaging(self) -> Averaging:
        """The neighbours' weight in the model's probabilities now (0: the model's own)."""
        if self.state.averaging.weight and self.neighbours is not None:
            return self.state.averaging
        return NO_AVERAGING

    def probabilities(
        self, classifier: Any = None, averaging: Averaging | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Class probabilities of every pool text and of the test split (None without one) by
        ``classifier`` (default: the learner's), averaged with their neighbours' as ``averaging``
        says (default: the learner's)."""
        own = classifier is None and averaging is None
        if own and self._proba is not None:
            return self._proba
        classifier = self.active.classifier if classifier is None else classifier
        weight = (averaging or self.averaging).weight
        pool = np.asarray(classifier.predict_proba(self.active.dataset))
        test = np.asarray(classifier.predict_proba(self.test_split())) if self.corpus.test_texts else None
        near = self.neighbours if weight else None
        if near is not None:
            if test is not None and near.test is not None:
                test = averaged(test, pool[near.test], weight)
            pool = averaged(pool, pool[near.pool], weight)
        if own:
            self._proba = (pool, test)
        return pool, test

    @property
    def _factory(self) -> Any:
        # small-text keeps the factory it builds each update's classifier from, and saves it with
        # the learner, so a restored learner's factory is that one, not the backend's.
        return self.active._clf_factory

    @property
    def label_names(self) -> list[str]:
        return self.state.label_names

    @property
    def awaiting(self) -> list[int]:
        """Pool indices of the batch chosen last and not yet learned, in the order labels are expected."""
        return list(self.state.awaiting)

    @property
    def labelled_count(self) -> int:
        return int(self.active.indices_labeled.shape[0]) if self.state.initialized else 0

    @property
    def pool_size(self) -> int:
        return len(self.corpus.train_texts)

    def _seed(self) -> None:
        """Seed every generator a strategy may draw from, so a retried step chooses the same batch."""
        seed = self.spec.seed + self.labelled_count
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            import torch

            torch.manual_seed(seed)
        except ImportError:
            pass

    def first_batch(self) -> list[int]:
        """Batch 0, chosen without a model: random (as the tutorial), balanced on gold labels, or diverse."""
        if self.state.initialized:
            raise ValueError("the first batch has been learned already")
        part = self._sample_part()
        free = self.unlabelled()
        size = min(self.spec.batch_size - len(part), free.size)
        rng = np.random.default_rng(self.spec.seed)
        if self.spec.initial_batch == InitialBatch.random:
            chosen = rng.choice(free, size=size, replace=False)
        elif self.spec.initial_batch == InitialBatch.balanced:
            self._seed()
            labels = self.corpus.gold("initial_batch: balanced")
            gold = np.array([self.label_names.index(labels[index]) for index in free])
            chosen = free[random_initialization_balanced(gold, n_samples=size)]
        else:
            chosen = self._diverse_sample(size, free)
        return self._await([int(index) for index in chosen], part)

    def _sample_part(self) -> list[int]:
        """The evaluation sample's texts for the next batch."""
        start = self.state.eval_asked
        return self.state.eval_sample[start : start + self.spec.eval_share]

    def _await(self, chosen: list[int], part: list[int]) -> list[int]:
        """Make ``chosen`` and the sample's ``part`` (in random places) the batch awaited next."""
        if part:
            chosen = eval_samples.mix(chosen, part, self.spec.seed + self.labelled_count)
            self.state.eval_asked += len(part)
        self.state.awaiting = chosen
        return self.awaiting

    def learn_seed(self, indices: list[int], labels: list[str]) -> None:
        """Learn the seed set (labels the data came with) before batch 0, which the strategy then
        chooses; seed texts are never asked."""
        if self.state.initialized:
            raise ValueError("the seed set is learned before anything else")
        self.state.awaiting = [int(index) for index in indices]
        self.teach(list(labels))
        self.reselect()

    def _diverse_sample(self, size: int, free: np.ndarray) -> np.ndarray:
        """The text of ``free`` nearest to each of ``size`` k-means centroids of their embeddings."""
        vectors = self.backend.sentence_vectors(self.corpus.train_texts)[free]
        kmeans = KMeans(n_clusters=size, random_state=self.spec.seed, n_init=3).fit(vectors)
        chosen: list[int] = []
        for cluster in range(size):
            members = np.flatnonzero(kmeans.labels_ == cluster)
            distances = np.linalg.norm(vectors[members] - kmeans.cluster_centers_[cluster], axis=1)
            chosen.append(int(free[members[np.argmin(distances)]]))
        return np.array(sorted(set(chosen)))

    def teach(self, labels: list[str | None]) -> float:
        """Learn the labels of the awaiting batch, in its order; None marks a discarded record.

        Discarded records are never trained on nor chosen again; the evaluation sample's labels are
        kept apart, for :meth:`evaluate`. Returns the seconds spent training.
        """
        if len(labels) != len(self.state.awaiting):
            raise ValueError(f"{len(labels)} labels for a batch of {len(self.state.awaiting)} records")
        self._check_labels(labels)
        self._proba = None
        sample = set(self.state.eval_sample)
        answered = dict(zip(self.state.awaiting, labels, strict=True))
        learned = [index for index in self.state.awaiting if index not in sample]
        indices = np.array(learned, dtype=int)
        kept = np.array([answered[index] is not None for index in learned], dtype=bool)
        y = np.array([self.label_names.index(str(answered[index])) for index in indices[kept]], dtype=int)
        self._seed()
        started = time.perf_counter()
        serving = self._choose()
        if self.state.initialized:
            trained = self._update(indices, kept, y)
        else:
            trained = self._initialize(indices, kept, y)
        seconds = time.perf_counter() - started
        for index in sorted(sample & answered.keys()):
            if answered[index] is not None:
                self.state.eval_answers[index] = str(answered[index])
        self.state.awaiting = []
        if trained:
            self.state.serving = serving
            self.state.stop = self._check_stopping()
        return seconds

    def _choose(self) -> Selection | None:
        """Have the factory build the model chosen last; None for a backend that does not choose."""
        if not self.selects:
            return None
        selection = self.state.selections[-1] if self.state.selections else default_selection(0)
        self._factory.choose(selection.choice)
        return selection

    def reselect(self) -> float:
        """Cross-validate the candidate models on every label so far; the next teach() trains the best.

        Apart from teach() so that a job can run it after the next batch is logged: the annotators do
        not wait for it. Returns the seconds it took (0 for a backend that does not choose).
        """
        if not self.selects or not self.state.initialized:
            return 0.0
        started = time.perf_counter()
        labelled = self.active.indices_labeled
        earlier = self.state.selections
        selection = select(self.active.dataset.x[labelled], self.active.y, self.feature_layout, earlier)
        self.state.selections = [*earlier, selection][-HISTORY:]
        self._reweigh(selection)
        previous = earlier[-1] if earlier else None
        if previous is None or previous.choice != selection.choice:
            log.info(
                "run %s: at %d labels the next model is %s%s",
                self.spec.name, self.labelled_count, selection.describe(),
                "" if previous is None else f", instead of {previous.choice.tag}",
            )  # fmt: skip
        return time.perf_counter() - started

    def _reweigh(self, selection: Selection) -> None:
        """Cross-validate the neighbours' weights (:mod:`trainer.neighbours`) for the model
        ``selection`` chose, on the same labels and folds; keep the best over the last few updates."""
        neighbours = self.neighbours
        if neighbours is None or selection.cv_accuracy is None:
            return
        labelled, y = np.asarray(self.active.indices_labeled), np.asarray(self.active.y, dtype=int)
        if len(y) > MAX_CV_LABELS:  # the sample select() cross-validated on
            keep = np.sort(np.random.default_rng(CV_SEED).choice(len(y), size=MAX_CV_LABELS, replace=False))
            labelled, y = labelled[keep], y[keep]
        rows = self.active.dataset.x

        def fold_proba(train: np.ndarray, wanted: np.ndarray) -> np.ndarray:
            model = fit_in_span(rows[labelled[train]], y[train], self.feature_layout, selection.choice)
            proba = np.zeros((len(wanted), len(self.label_names)))
            proba[:, model.classes_] = model.predict_proba(rows[wanted])
            return proba

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # classes with fewer labels than folds
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            around = neighbours.among_unlabelled(labelled)
            scores = cv_weights(fold_proba, labelled, y, around, selection.folds, CV_SEED)
        self.state.averaging_scores = [*self.state.averaging_scores, scores][-HISTORY:]
        chosen = best_weight(self.state.averaging_scores)
        if chosen.weight != self.state.averaging.weight:
            log.info("run %s: at %d labels, %s", self.spec.name, self.labelled_count, chosen.describe())
        self.state.averaging = chosen
        self._proba = None

    def _check_labels(self, labels: list[str | None]) -> None:
        """Refuse answers outside the run's labels (say the label question was edited in Argilla)."""
        wrong = [
            (index, label)
            for index, label in zip(self.state.awaiting, labels, strict=True)
            if label is not None and label not in self.label_names
        ]
        if wrong:
            shown = ", ".join(f"{record_id(index)} is labelled {label!r}" for index, label in wrong[:5])
            more = f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else ""
            raise UserError(
                f"run {self.spec.name}: record {shown}{more}, not one of the run's labels "
                f"{', '.join(self.label_names)}; change those answers in Argilla to one of them or discard "
                f"the records, then `alloop resume --run {self.spec.name}`"
            )

    def _initialize(self, indices: np.ndarray, kept: np.ndarray, y: np.ndarray) -> bool:
        if not kept.any():
            raise ValueError("every record of the first batch was discarded: label at least one to start")
        pool_y = np.full(self.pool_size, LABEL_UNLABELED, dtype=int)
        pool_y[indices[kept]] = y
        self.active.dataset.y = pool_y
        self.active.initialize(indices[kept])
        self._ignore(indices[~kept])
        self._ignore(np.array(self.state.eval_sample, dtype=int))  # never learned, never chosen
        self.state.initialized = True
        return True

    def _update(self, indices: np.ndarray, kept: np.ndarray, y: np.ndarray) -> bool:
        """small-text's update() with the discarded records ignored first.

        Passing LABEL_IGNORED (-inf) to update() would turn small-text's label array into floats,
        which fine-tuning cannot train on; ignoring them beforehand has the same effect otherwise.
        """
        self._ignore(indices[~kept])
        if not kept.any():
            self.active.indices_queried = None
            return False
        self.active.indices_queried = indices[kept]
        with self._lesson(indices):
            self.active.update(y)
        return True

    @contextmanager
    def _lesson(self, batch: np.ndarray) -> Iterator[None]:
        """Have the update's fit learn the last lesson a serving background model left
        (:mod:`trainer.teaching`), less ``batch`` and the texts labelled or discarded since."""
        self.state.taught = 0
        if self.state.lesson is None:
            yield
            return
        known = np.concatenate([self.active.indices_labeled, self.active.indices_ignored, batch])
        lesson = self.state.lesson = self.state.lesson.without(known)
        rows = self.active.dataset[np.asarray(lesson.indices, dtype=int)].clone()
        rows.y = np.asarray(lesson.labels, dtype=int)
        kwargs = self.active.fit_kwargs  # small-text's default is a shared dict: replaced, never changed
        self.active.fit_kwargs = {**kwargs, "lesson": rows}
        try:
            yield
        finally:
            self.active.fit_kwargs = kwargs
        self.state.taught = len(lesson)

    def _ignore(self, indices: np.ndarray) -> None:
        for index in indices:
            self.active.ignore_sample_at(int(index))

    def _check_stopping(self) -> bool:
        if self.state.stopping is None:
            return False
        if self.averaging.weight:
            proba = self.probabilities()[0]
            predictions = proba.argmax(axis=1)
        else:
            predictions, proba = self.active.classifier.predict(self.active.dataset, return_proba=True)
        return bool(
            self.state.stopping.stop(predictions=predictions, proba=proba, indices_stopping=self.unlabelled())
        )

    def query(self, scores: np.ndarray | None = None, share: float | None = None) -> list[int]:
        """Choose the next batch among items never labelled, discarded or chosen; empty when none are left.

        ``scores``, class probabilities of every pool item from another model (two-speed learning),
        makes the run's strategy choose ``share`` (default ``spec.heavy_share``) of the batch by them
        and the rest by the learner's own classifier. Trained only on texts another model found
        hard, the learner lost the easy core of each class: TREC-6, 260 labels, every batch chosen
        by a stronger model's scores: 0.63 accuracy, against 0.85 on 260 random labels and 0.87
        choosing itself. Those scores also label a pool sample the next updates learn
        (:mod:`trainer.teaching`).
        """
        unlabelled = self.unlabelled()
        part = self._sample_part()
        size = min(self.spec.batch_size - len(part), unlabelled.size)
        if size == 0 and not part:
            self.state.awaiting = []
            return []
        self._seed()
        share = self.spec.heavy_share if share is None else share
        own = size if scores is None else size - round(size * share)
        chosen = self._query_own(unlabelled, own) if own else np.empty(0, dtype=int)
        if scores is not None and own < size:
            free = np.setdiff1d(unlabelled, chosen, assume_unique=True)
            chosen = np.concatenate([chosen, self._query_by_scores(scores, free, size - own)])
        lesson = self._lesson_of(scores, unlabelled, chosen)
        if lesson is not None:
            self.state.lesson = lesson
        return self._await([int(index) for index in chosen], part)

    def _lesson_of(
        self, scores: np.ndarray | None, unlabelled: np.ndarray, chosen: np.ndarray
    ) -> Lesson | None:
        """The serving background model's lesson for the next updates, drawn from ``unlabelled`` less
        the ``chosen`` batch, where the classifier learns one; None keeps the last lesson."""
        if scores is None or not getattr(self._factory, "takes_lessons", False):
            return None
        free = np.setdiff1d(unlabelled, chosen)
        return draw(scores, free, self.spec.seed + self.labelled_count) if free.size else None

    def _query_own(self, unlabelled: np.ndarray, size: int) -> np.ndarray:
        """``size`` items chosen by the learner's own model (averaged with neighbours where it is)."""
        if self.averaging.weight and self.queries_by_scores:
            return self._query_by_scores(self.probabilities()[0], unlabelled, size)
        return np.asarray(self.active.query(num_samples=size))

    def unlabelled(self) -> np.ndarray:
        """Pool indices neither labelled, discarded nor in the evaluation sample."""
        if not self.state.initialized:
            return np.setdiff1d(np.arange(self.pool_size), np.array(self.state.eval_sample, dtype=int))
        free = np.ones(self.pool_size, dtype=bool)  # a mask: np.setdiff1d sorts, slow on big pools
        free[self.active.indices_labeled] = False
        free[self.active.indices_ignored] = False
        return np.flatnonzero(free)

    @property
    def queries_by_scores(self) -> bool:
        """Whether the run's strategy needs only class probabilities, so other models' scores can serve."""
        return scores_suffice(self.active.query_strategy)

    def _query_by_scores(self, scores: np.ndarray, unlabelled: np.ndarray, size: int) -> np.ndarray:
        if scores.shape != (self.pool_size, len(self.label_names)):
            raise ValueError(f"scores of shape {scores.shape} do not match the pool and labels")
        # The strategy sees a dataset of pool indices and a classifier that looks their scores up.
        index_pool = SklearnDataset(
            np.arange(self.pool_size).reshape(-1, 1),
            self.active.dataset.y,
            target_labels=np.arange(len(self.label_names)),
        )
        return np.asarray(
            make_query_strategy(self.spec).query(
                ScoreLookup(scores),
                index_pool,
                unlabelled,
                self.active.indices_labeled,
                self.active.y,
                n=size,
            )
        )

    def stop_reached(self) -> bool:
        """The stopping criterion's verdict after the last teach()."""
        return self.state.stop

    def suggest(self, indices: list[int], scores: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The predicted label of each pool item and its probability (from ``scores`` when given)."""
        if not indices:
            return []
        if scores is None and self.averaging.weight:
            scores = self.probabilities()[0]
        if scores is None:
            proba = np.asarray(self.active.classifier.predict_proba(self.active.dataset[np.array(indices)]))
        else:
            proba = scores[np.array(indices)]
        best = proba.argmax(axis=1)
        return [(self.label_names[int(label)], float(proba[row, label])) for row, label in enumerate(best)]

    @property
    def evaluated_on(self) -> EvaluatedOn:
        """What :meth:`evaluate` rests on: ``test``, ``eval-sample`` or ``none``."""
        if self.corpus.test_texts:
            return "test"
        return "eval-sample" if self.state.eval_sample else "none"

    def evaluate(self) -> Metrics:
        """Accuracy and F1 on the test split, else on the evaluation sample's answers so far, else
        none (every figure None)."""
        if self.evaluated_on == "test":
            test = self.probabilities()[1] if self.averaging.weight else None
            predicted = (
                np.asarray(self.active.classifier.predict(self.test_split()))
                if test is None
                else test.argmax(axis=1)
            )
            return measure(self.corpus.test_labels, predicted, self.label_names, self.labelled_count)
        if self.evaluated_on == "eval-sample":
            return self.estimate()
        return unmeasured(self.labelled_count)

    def test_split(self) -> Any:
        """The test split's rows, as the learner's classifier takes them (built once)."""
        if self._test is None:
            self._test = self.backend.dataset(self.corpus.test_texts, cache=True)
        return self._test

    def estimate(self, proba: np.ndarray | None = None) -> Metrics:
        """Figures on the evaluation sample's answers so far, of this model or of pool ``proba``
        (another model's class probabilities of every pool text)."""
        answers = self.state.eval_answers
        if not answers or not self.state.initialized:
            return unmeasured(self.labelled_count, "eval-sample")
        indices = np.array(list(answers), dtype=int)
        if proba is None and self.averaging.weight:
            proba = self.probabilities()[0]
        if proba is None:
            predicted = np.asarray(self.active.classifier.predict(self.active.dataset[indices]))
        else:
            predicted = proba[indices].argmax(axis=1)
        gold = [answers[int(index)] for index in indices]
        return measure(gold, predicted, self.label_names, self.labelled_count, "eval-sample")

    def save(self, folder: Path) -> None:
        """small-text's own save (without the pool, which is rebuilt from the corpus) plus our state."""
        folder.mkdir(parents=True)
        pool = self.active.dataset
        self.active.dataset = None
        try:
            self.active.save(folder / SMALL_TEXT_FOLDER, create_folder=True)
        finally:
            self.active.dataset = pool
        with (folder / STATE_FILE).open("wb") as state_file:
            pickle.dump(self.state, state_file)

    @classmethod
    def load(cls, folder: Path, corpus: Corpus, run_dir: Path, device: str = "auto") -> "Learner":
        """The learner exactly as saved, ready for the next teach()."""
        with (folder / STATE_FILE).open("rb") as state_file:
            state: _State = pickle.load(state_file)
        spec = RunSpec.model_validate_json(state.spec_json)
        backend = make_backend(spec, state.label_names, run_dir, device, state.options)
        active = PoolBasedActiveLearner.load(folder / SMALL_TEXT_FOLDER)
        pool = backend.dataset(corpus.train_texts, cache=True)
        if state.initialized:
            pool_y = np.full(len(corpus.train_texts), LABEL_UNLABELED, dtype=int)
            pool_y[active.indices_labeled] = active.y
            pool.y = pool_y
        active.dataset = pool
        return cls(spec, backend, active, corpus, state)
