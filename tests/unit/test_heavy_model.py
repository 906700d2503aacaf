"""The background model is stored with its scores (checksummed, the newest few kept) and
`alloop export-model` hands out the model that serves, or the one asked for."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from common.checkpoints import INITIAL, CheckpointCorrupt, CheckpointStore, Manifest
from common.errors import UserError
from common.runs import RunPaths
from common.spec import ModelChoice, RunSpec
from tests.support.data import gold
from tests.unit.test_export_model import LABELS, PROBES, corpus, run_spec
from trainer.context import corpus_of
from trainer.export import INFO_FILE, export_model, save_model
from trainer.heavy import BLEND_WEIGHT, Trained, fit_and_score
from trainer.learner import Learner
from trainer.scores import KEEP_MODELS, MODEL, ScoreStore

pytestmark = pytest.mark.timeout(900)

RUN = "exported"


class Answers:
    """A stand-in for the fast model: one-hot probabilities of the gold labels of the pool and of
    the test split (told apart by their sizes), or of the next label after them (``wrong``)."""

    def __init__(self, learner: Learner, wrong: bool = False) -> None:
        assert learner.pool_size != len(learner.corpus.test_labels)
        self.learner, self.shift = learner, int(wrong)

    def predict_proba(self, dataset: Any) -> np.ndarray:
        pool = dataset.x.shape[0] == self.learner.pool_size
        labels = self.learner.corpus.train_labels if pool else self.learner.corpus.test_labels
        classes = [(LABELS.index(str(label)) + self.shift) % len(LABELS) for label in labels]
        return np.eye(len(LABELS))[classes]


def heavy_labels(trained: Trained, texts: list[str]) -> list[str]:
    proba = trained.classifier.predict_proba(trained.backend.dataset(texts))
    return [LABELS[int(i)] for i in np.asarray(proba).argmax(axis=1)]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Trained]:
    """A two-speed run (hybrid, and embeddings standing in for the heavy backend: seconds, not
    minutes) with checkpoints 0 and 1, and background models saved after both batches."""
    folder = tmp_path_factory.mktemp("two-speed")
    data = corpus()
    for name, texts, labels in (
        ("train.csv", data.train_texts, data.train_labels),
        ("test.csv", data.test_texts, data.test_labels),
    ):
        pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / name, index=False)
    dataset = {"path": str(folder / "train.csv"), "test": str(folder / "test.csv")}
    spec = run_spec(dataset=dataset, labels=LABELS, backend="hybrid", heavy_backend="embeddings")
    paths = RunPaths.of(folder / "home", RUN)
    paths.root.mkdir(parents=True)
    paths.spec.write_text(spec.model_dump_json())
    store = CheckpointStore(paths.checkpoints)
    learner = Learner.build(spec, corpus_of(spec), LABELS, paths.cache, "cpu")
    store.save(
        Manifest(batch=INITIAL, model_version="v", labels=0, next_batch=learner.first_batch()), learner.save
    )
    scores = ScoreStore(paths.heavy_scores)
    for batch in (0, 1):
        learner.teach(gold(learner))
        # Averaged with a fast model that is always wrong, the background model scores alone: these
        # tests are of the model alone, whatever the two would make together here.
        labelled = learner.active.indices_labeled, learner.active.y
        trained = fit_and_score(spec, learner, batch, "cpu", labelled, Answers(learner, wrong=True))
        scores.save(trained.scores, trained.saver)
        manifest = Manifest(
            batch=batch, model_version="v", labels=learner.labelled_count, next_batch=learner.query()
        )
        store.save(manifest, learner.save)
    return folder / "home", trained


def served_by_heavy(home: Path, serving: bool) -> None:
    """Rewrite checkpoint 1's manifest: the background model of batch 1 chose its next batch, or not."""
    store = CheckpointStore(RunPaths.of(home, RUN).checkpoints)
    path = store.path(1) / "manifest.json"
    manifest = store.manifest(1).model_copy(update={"scores_batch": 1 if serving else None})
    path.write_text(manifest.model_dump_json())


def test_each_background_model_is_saved_with_its_scores_and_checksums(home: tuple[Path, Trained]) -> None:
    scores = ScoreStore(RunPaths.of(home[0], RUN).heavy_scores)
    assert scores.models() == [0, 1]
    manifest = scores.manifest(1)
    assert manifest is not None and manifest.loads_with == "setfit" and manifest.label_names == LABELS
    assert "model.safetensors" in " ".join(manifest.files)
    assert scores.model(1) == scores.path(1) / MODEL


def test_only_the_newest_models_are_kept_and_a_changed_one_is_refused(
    home: tuple[Path, Trained], tmp_path: Path
) -> None:
    trained = home[1]
    scores = ScoreStore(tmp_path / "heavy")
    for batch in range(KEEP_MODELS + 2):
        manifest = trained.scores.manifest.model_copy(update={"batch": batch})
        scores.save(replace(trained.scores, manifest=manifest), trained.saver)
    assert scores.models() == list(range(2, KEEP_MODELS + 2))
    assert scores.newest() is not None and scores.load(0).proba.shape == trained.scores.proba.shape
    with pytest.raises(FileNotFoundError, match=f"removed: only the newest {KEEP_MODELS} are kept"):
        scores.model(0)
    assert not list(scores.path(0).glob(".*")), "the pruned model's folder is gone"
    head = next(iter(scores.model(2).rglob("*.safetensors")))
    head.write_bytes(head.read_bytes() + b"\0")
    with pytest.raises(CheckpointCorrupt, match="does not match its manifest"):
        scores.model(2)


def test_the_serving_background_model_is_exported_by_default(
    home: tuple[Path, Trained], tmp_path: Path
) -> None:
    from setfit import SetFitModel

    served_by_heavy(home[0], serving=True)
    exported = export_model(home[0], RUN, tmp_path / "serving", device="cpu")
    assert (exported.which, exported.serving, exported.batch, exported.loads_with) == (
        "heavy",
        True,
        1,
        "setfit",
    )
    info = json.loads((tmp_path / "serving" / INFO_FILE).read_text())
    assert info["which"] == "heavy" and info["backend"] == "embeddings" and info["labels"] == LABELS
    assert info["labelled"] == 18 and 0 <= info["metrics"]["accuracy"] <= 1
    model = SetFitModel.from_pretrained(str(tmp_path / "serving"), device="cpu")
    assert list(model.predict(PROBES)) == heavy_labels(home[1], PROBES)

    fast = export_model(home[0], RUN, tmp_path / "fast", device="cpu", model=ModelChoice.fast)
    assert (fast.which, fast.serving, fast.backend) == ("fast", False, "hybrid")


def test_the_learner_is_exported_while_it_serves(home: tuple[Path, Trained], tmp_path: Path) -> None:
    served_by_heavy(home[0], serving=False)
    exported = export_model(home[0], RUN, tmp_path / "serving", device="cpu")
    assert (exported.which, exported.serving) == ("fast", True)
    heavy = export_model(home[0], RUN, tmp_path / "heavy", batch=0, device="cpu", model=ModelChoice.heavy)
    assert (heavy.which, heavy.serving, heavy.batch) == ("heavy", False, 0)


def test_a_background_model_not_there_is_refused_with_the_ones_that_are(
    home: tuple[Path, Trained], tmp_path: Path
) -> None:
    with pytest.raises(UserError, match=r"no background model of batch 5; choose --batch from 0-1"):
        export_model(home[0], RUN, tmp_path / "m", batch=5, device="cpu", model=ModelChoice.heavy)
    assert not (tmp_path / "m").exists()


def checkpoint_learner(home: Path) -> tuple[RunSpec, Learner]:
    """The run's spec and the learner of its checkpoint 1."""
    paths = RunPaths.of(home, RUN)
    spec = RunSpec.model_validate_json(paths.spec.read_text())
    return spec, Learner.load(
        CheckpointStore(paths.checkpoints).learner(1), corpus_of(spec), paths.cache, "cpu"
    )


def test_the_average_with_the_fast_model_scores_where_it_does_better(home: tuple[Path, Trained]) -> None:
    spec, learner = checkpoint_learner(home[0])
    names = learner.label_names
    two = [i for i in learner.active.indices_labeled if learner.corpus.train_labels[i] in names[:2]]
    labelled = np.array(two), np.array([names.index(learner.corpus.train_labels[i]) for i in two])
    # Trained on two of the labels, the background model alone can be right on their texts only.
    reachable = np.mean([label in names[:2] for label in learner.corpus.test_labels])
    assert reachable < 1
    alone = fit_and_score(spec, learner, 1, "cpu", labelled, Answers(learner, wrong=True)).scores.manifest
    assert alone.fast_weight == 0 and alone.accuracy == alone.alone_accuracy
    assert alone.accuracy is not None and alone.accuracy <= reachable
    assert ".blend" not in alone.model_version
    blend = fit_and_score(spec, learner, 1, "cpu", labelled, Answers(learner)).scores
    assert blend.manifest.fast_weight == BLEND_WEIGHT and blend.manifest.alone_accuracy == alone.accuracy
    assert blend.manifest.accuracy == 1.0 and blend.manifest.model_version.startswith("embeddings.blend:")
    assert list(blend.proba.argmax(axis=1)) == [names.index(label) for label in learner.corpus.train_labels]


def test_a_blend_is_exported_as_both_models_and_the_rule_that_averages_them(
    home: tuple[Path, Trained], tmp_path: Path
) -> None:
    from setfit import SetFitModel

    _, learner = checkpoint_learner(home[0])
    trained = home[1]
    manifest = trained.scores.manifest.model_copy(update={"batch": 7, "fast_weight": BLEND_WEIGHT})
    blended = replace(trained, scores=replace(trained.scores, manifest=manifest), fast=learner)
    scores = ScoreStore(tmp_path / "heavy")
    scores.save(blended.scores, blended.saver)
    saved = scores.model(7)
    assert {path.name for path in saved.iterdir()} == {"heavy", "fast", "README.md"}
    assert f"{BLEND_WEIGHT} * fast" in (saved / "README.md").read_text()
    stored = scores.manifest(7)
    assert (
        stored is not None
        and stored.loads_with == f"setfit + {save_model(learner, tmp_path / 'again')}, averaged"
    )
    heavy = SetFitModel.from_pretrained(str(saved / "heavy"), device="cpu")
    assert list(heavy.predict(PROBES)) == heavy_labels(trained, PROBES)
