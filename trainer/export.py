"""A run's trained model as a folder that standard libraries load, without alloop.

What each backend becomes:

- ``embeddings``: a SetFit model, the frozen sentence encoder as its body and the logistic regression as
  its head (``setfit.SetFitModel.from_pretrained(DIR)`` predicts label names; the body alone loads with
  ``sentence_transformers.SentenceTransformer(DIR)``).
- ``setfit``: the fine-tuned SetFit model, with the run's label names.
- ``transformer``: the fine-tuned model and its tokenizer, with ``id2label``/``label2id`` set
  (``transformers.pipeline("text-classification", model=DIR)``).
- ``hybrid``: no library combines a sentence encoder with word n-grams, so the folder holds the encoder
  (loads with sentence-transformers), the n-gram vectorizer and the logistic regression as plain
  scikit-learn objects, and a README.md with the few lines that join them.
- ``auto``: as ``embeddings`` when its model uses the embeddings alone, else as ``hybrid`` with the
  n-grams it uses (words, or words and characters).

Every folder also holds ``alloop.json``: run, batch, labels, backend, model version and test metrics;
a fast model that also learned the background model's labels of pool texts says how many
(``taught_by_background``).
"""

import copy
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

from common.checkpoints import INITIAL, CheckpointStore
from common.errors import UserError
from common.events import Evaluation
from common.files import check_target, staged_output
from common.runs import RunPaths
from common.spec import Backend, ModelChoice, RunSpec
from trainer.context import corpus_of, model_version
from trainer.learner import Learner
from trainer.neighbours import K
from trainer.scores import KEEP_MODELS, ScoreStore

INFO_FILE = "alloop.json"
WORDS_FILE = "words_vectorizer.joblib"
CHARS_FILE = "chars_vectorizer.joblib"
HEAD_FILE = "head_logistic_regression.joblib"


@dataclass(frozen=True)
class ExportedModel:
    path: Path
    run: str
    batch: int
    backend: str
    model_version: str
    labels: list[str]
    loads_with: str
    which: Literal["fast", "heavy"]
    serving: bool
    """Whether this model chose the run's next batch and suggests its labels."""


def export_model(
    home: Path,
    run: str,
    out: Path,
    batch: int | None = None,
    force: bool = False,
    device: str = "auto",
    model: ModelChoice = ModelChoice.serving,
) -> ExportedModel:
    """Export one of ``run``'s models to ``out``, atomically: by default the one that serves after
    checkpoint ``batch`` (default: the newest); ``fast`` the learner's, ``heavy`` the background
    model trained on the labels up to ``batch`` (default: the newest saved)."""
    check_target(out, force)
    paths = RunPaths.of(home, run)
    spec = _spec(paths, run)
    store = CheckpointStore(paths.checkpoints)
    scores = ScoreStore(paths.heavy_scores)
    if model == ModelChoice.heavy:
        heavy = _heavy_batch(scores, spec, batch)
        return _export_heavy(run, spec, scores, heavy, out, force, serving=_serving_heavy(store) == heavy)
    chosen = _checkpoint(store, run, batch)
    served = store.manifest(chosen).scores_batch
    if model == ModelChoice.serving and served is not None:
        return _export_heavy(run, spec, scores, served, out, force, serving=True)
    return _export_fast(run, spec, paths, store, chosen, out, force, device, serving=served is None)


def _export_fast(
    run: str,
    spec: RunSpec,
    paths: RunPaths,
    store: CheckpointStore,
    chosen: int,
    out: Path,
    force: bool,
    device: str,
    serving: bool,
) -> ExportedModel:
    manifest = store.manifest(chosen)
    learner = Learner.load(store.learner(chosen), corpus_of(spec), paths.cache, device)
    info = {
        "run": run,
        "which": "fast",
        "serving": serving,
        "batch": chosen,
        "labels": learner.label_names,
        "backend": learner.backend_name,
        "model": spec.model,
        "model_version": model_version(spec, chosen, learner.version_tag),
        "labelled": learner.labelled_count,
        "metrics": _fast_figures(manifest.metrics),
        "exported_at": datetime.now(UTC).isoformat(),
    }
    if learner.averaging.weight:
        info["neighbours"] = {"k": K, "weight": learner.averaging.weight}
    if learner.taught:  # besides the annotators' ``labelled`` (two-speed learning, trainer.teaching)
        info["taught_by_background"] = learner.taught
    max_length = getattr(learner.backend, "max_length", None)
    if max_length is not None:  # the tokens per text a fine-tuned transformer learned from
        info["max_length"] = max_length
    with staged_output(out, force) as staged:
        loads_with = save_model(learner, staged)
        info["loads_with"] = loads_with
        _write_info(staged, info)
    return ExportedModel(
        path=out,
        run=run,
        batch=chosen,
        backend=learner.backend_name,
        model_version=str(info["model_version"]),
        labels=learner.label_names,
        loads_with=loads_with,
        which="fast",
        serving=serving,
    )


def _export_heavy(
    run: str, spec: RunSpec, scores: ScoreStore, batch: int, out: Path, force: bool, serving: bool
) -> ExportedModel:
    """Copy the background model saved with the scores of ``batch`` (checked against its checksums)."""
    manifest = scores.manifest(batch)
    try:
        saved = scores.model(batch)
    except FileNotFoundError as error:
        fix = f"export --model fast, or --model heavy --batch {_saved(scores)}"
        raise UserError(f"run {run!r}: {error}; {fix}") from None
    assert manifest is not None and manifest.loads_with is not None  # model() found it saved
    info = {
        "run": run,
        "which": "heavy",
        "serving": serving,
        "batch": batch,
        "backend": str(spec.heavy_backend),
        "model": spec.model,
        "model_version": manifest.model_version,
        "labels": manifest.label_names,
        "labelled": manifest.labels,
        "metrics": {key: getattr(manifest, key) for key in (*Evaluation.model_fields, "per_class_f1")},
        "train_s": manifest.train_s,
        "fast_weight": manifest.fast_weight,
        "loads_with": manifest.loads_with,
        "exported_at": datetime.now(UTC).isoformat(),
    }
    with staged_output(out, force) as staged:
        shutil.copytree(saved, staged)
        _write_info(staged, info)
    return ExportedModel(
        path=out,
        run=run,
        batch=batch,
        backend=str(info["backend"]),
        model_version=manifest.model_version,
        labels=manifest.label_names,
        loads_with=manifest.loads_with,
        which="heavy",
        serving=serving,
    )


def _write_info(folder: Path, info: dict[str, Any]) -> None:
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _serving_heavy(store: CheckpointStore) -> int | None:
    """The batch of the background model that serves after the newest checkpoint, if one does."""
    newest = store.batches()
    return store.manifest(newest[-1]).scores_batch if newest else None


def _heavy_batch(scores: ScoreStore, spec: RunSpec, batch: int | None) -> int:
    saved = scores.models()
    if spec.heavy_backend is None:
        raise UserError(
            f"run {spec.name!r} trains no background model (no heavy_backend); export --model fast"
        )
    if not saved:
        raise UserError(
            f"run {spec.name!r} has no background model saved yet: a heavy worker trains one after each "
            "batch (`alloop worker --queue heavy`); export --model fast meanwhile"
        )
    if batch is None:
        return saved[-1]
    if batch not in saved:
        raise UserError(
            f"run {spec.name!r} has no background model of batch {batch}; choose --batch from "
            f"{_ranges(saved)} (the newest {KEEP_MODELS} are kept) or leave it out for the newest"
        )
    return batch


def _saved(scores: ScoreStore) -> str:
    saved = scores.models()
    return _ranges(saved) if saved else "(none saved)"


def _fast_figures(recorded: dict[str, Any]) -> dict[str, Any]:
    """The run's own learner's figures in a checkpoint's ``model.updated``, with what they rest on
    (evaluated_on, eval_n) and their intervals."""
    own = recorded.get("fast")
    figures = own if isinstance(own, dict) else recorded  # before schema 3 the event's own were its
    return {key: figures[key] for key in (*Evaluation.model_fields, "per_class_f1") if key in figures}


def _spec(paths: RunPaths, run: str) -> RunSpec:
    if not paths.spec.exists():
        raise UserError(
            f"no run named {run!r} here (no {paths.spec}); check the name with `alloop status`, "
            "and ALLOOP_HOME is the one the run's workers use"
        )
    return RunSpec.model_validate_json(paths.spec.read_text(encoding="utf-8"))


def _checkpoint(store: CheckpointStore, run: str, batch: int | None) -> int:
    trained = store.batches()
    if not trained:
        raise UserError(f"run {run!r} has no trained model yet: label batch 0 and let a worker train")
    if batch is None:
        return trained[-1]
    if batch == INITIAL or batch not in trained:
        raise UserError(
            f"run {run!r} has no checkpoint of batch {batch}; choose --batch from "
            f"{_ranges(trained)} or leave it out for the newest"
        )
    return batch


def _ranges(batches: list[int]) -> str:
    if batches == list(range(batches[0], batches[-1] + 1)):
        return f"{batches[0]}-{batches[-1]}"
    return ", ".join(map(str, batches))


def save_model(learner: Learner, folder: Path) -> str:
    """Write the learner's model to ``folder`` (not yet there) in its backend's standard form; which
    library loads it."""
    kind = learner.backend.kind
    classifier = learner.active.classifier
    if classifier is None or not learner.state.initialized:
        raise UserError(f"run {learner.spec.name!r} has no trained model in this checkpoint")
    if kind == Backend.auto:
        return _with_neighbours(learner, folder, _save_auto(learner, folder))
    if kind == Backend.hybrid:
        _save_hybrid(learner, folder)
        return "sentence-transformers+scikit-learn"
    return save_classifier(kind, classifier, learner.backend, learner.label_names, folder)


SAVED_ALONE = (Backend.embeddings, Backend.setfit, Backend.transformer)
"""Backends whose classifier is saved without the run's other state (its n-gram vectorizers)."""


def save_classifier(kind: Backend, classifier: Any, backend: Any, labels: list[str], folder: Path) -> str:
    """Write a classifier of backend ``kind`` (one of SAVED_ALONE; the learner's or the background
    model's) to ``folder`` with the run's label names; which library loads it."""
    if kind == Backend.embeddings:
        _save_embeddings(backend, labels, folder, plain_head(classifier))
        return "setfit"
    if kind == Backend.setfit:
        model = classifier.model
        model.labels = list(labels)
        model.save_pretrained(str(folder))
        return "setfit"
    if kind != Backend.transformer:
        raise ValueError(f"a {kind.value} classifier is saved with its learner, not alone")
    from trainer.backends.tokens import load_tokenizer

    module: Any = classifier.model
    module = getattr(module, "_orig_mod", module)  # the module itself when torch.compile wrapped it
    module.config.id2label = dict(enumerate(labels))
    module.config.label2id = {label: index for index, label in enumerate(labels)}
    module.save_pretrained(str(folder))
    load_tokenizer(backend.model).save_pretrained(str(folder))
    return "transformers"


def plain_head(classifier: Any) -> LogisticRegression:
    """The scikit-learn logistic regression of a classifier over features; its classes are label indices."""
    head = getattr(classifier.model, "model_", None)
    if head is None:
        raise UserError(
            "this checkpoint's model has seen one label only, so it has no classifier to export; "
            "export a later --batch"
        )
    if not isinstance(head, LogisticRegression):
        raise TypeError(f"unexpected classifier head {type(head).__name__}")
    return head


def _with_neighbours(learner: Learner, folder: Path, loads_with: str) -> str:
    """Beside a model whose probabilities the run averages with the pool's nearest texts'
    (:mod:`trainer.neighbours`), what that takes: the pool's embeddings, the model's probabilities
    of them, and a README with the rule."""
    weight = learner.averaging.weight
    if not weight:
        return loads_with
    target = folder / NEIGHBOURS_FOLDER
    target.mkdir()
    vectors = learner.backend.sentence_vectors(learner.corpus.train_texts)
    np.save(target / POOL_EMBEDDINGS, np.asarray(vectors, dtype=np.float32))
    proba = learner.active.classifier.predict_proba(learner.active.dataset)
    np.save(target / POOL_PROBA, np.asarray(proba, dtype=np.float32))
    readme = NEIGHBOURS_README.format(k=K, weight=weight, embeddings=POOL_EMBEDDINGS, proba=POOL_PROBA)
    (target / "README.md").write_text(readme, encoding="utf-8")
    return f"{loads_with}, averaged with the pool's nearest texts ({NEIGHBOURS_FOLDER}/README.md)"


NEIGHBOURS_FOLDER = "neighbours"
POOL_EMBEDDINGS = "pool_embeddings.npy"
POOL_PROBA = "pool_proba.npy"
NEIGHBOURS_README = """\
# Neighbour averaging

The run served this model's class probabilities averaged with those of each text's {k} nearest
texts of the pool it learned from. `{embeddings}` holds the pool's sentence embeddings (unit
length, the model's own encoder), `{proba}` the model's probabilities of them (one column per
label, in the order of `labels` in `alloop.json`). For texts with probabilities `proba` (same
columns; 0 for a label the model never saw) and unit-length embeddings `embeddings`:

```python
import numpy as np

folder = "."  # this folder
pool = np.load(f"{{folder}}/{embeddings}")
pool_proba = np.load(f"{{folder}}/{proba}")

def average(proba, embeddings):
    nearest = np.argsort(-(np.asarray(embeddings) @ pool.T), axis=1)[:, :{k}]
    return (1 - {weight}) * np.asarray(proba) + {weight} * pool_proba[nearest].mean(axis=1)
```

A text's label is the most probable column of `average(proba, embeddings)`.
"""


def _save_embeddings(backend: Any, labels: list[str], folder: Path, head: LogisticRegression) -> None:
    from setfit import SetFitModel

    from trainer.backends.encoder import load_encoder

    model = SetFitModel(
        model_body=load_encoder(backend.model, backend.device),
        model_head=head,
        normalize_embeddings=True,  # as the learner's embeddings are
        labels=list(labels),
    )
    model.save_pretrained(str(folder))


def _save_hybrid(learner: Learner, folder: Path) -> None:
    from trainer.backends.hybrid import WORDS_WEIGHT
    from trainer.backends.words import run_vectorizer

    vectorizer = run_vectorizer(learner.backend.run_dir, learner.corpus.train_texts)  # the run's own
    head = plain_head(learner.active.classifier)
    _save_with_ngrams(learner, folder, vectorizer, head, f"{WORDS_WEIGHT} * ")


def _save_auto(learner: Learner, folder: Path) -> str:
    """The model ``auto`` trained, with only the blocks its choice uses (its other weights are zero)."""
    from trainer.backends.selection import width
    from trainer.backends.words import NGRAMS_FILE, run_vectorizer

    serving = learner.serving
    features = serving.choice.features if serving else "embeddings"
    head = copy.deepcopy(plain_head(learner.active.classifier))
    used = width(learner.feature_layout, features)
    head.coef_ = head.coef_[:, :used]
    head.n_features_in_ = used
    if features == "embeddings":
        _save_embeddings(learner.backend, learner.label_names, folder, head)
        return "setfit"
    union = run_vectorizer(learner.backend.run_dir, learner.corpus.train_texts, NGRAMS_FILE)
    (_, words), (_, chars) = union.transformer_list
    _save_with_ngrams(learner, folder, words, head, "", chars if features.endswith("chars") else None)
    return "sentence-transformers+scikit-learn"


def _save_with_ngrams(
    learner: Learner,
    folder: Path,
    words: Any,
    head: LogisticRegression,
    weight: str,
    chars: Any | None = None,
) -> None:
    """The encoder, the word vectorizer (freed of alloop's start marker), the character one if used, and
    ``head``, with a README that joins them; ``weight`` is the factor the n-gram columns get."""
    from trainer.backends.encoder import load_encoder
    from trainer.backends.words import START

    load_encoder(learner.backend.model, learner.backend.device).save(str(folder))
    # The run's word vectorizer lower-cases and puts START before each text through a function of
    # alloop's, which its pickle would need; the exported one lower-cases, and the caller adds START.
    joblib.dump(copy.deepcopy(words).set_params(preprocessor=None, lowercase=True), folder / WORDS_FILE)
    if chars is not None:
        joblib.dump(chars, folder / CHARS_FILE)
    joblib.dump(head, folder / HEAD_FILE)
    (folder / "README.md").write_text(
        HYBRID_README.format(
            kind=learner.backend_name,
            labels=json.dumps(learner.label_names),
            start=START,
            weight=weight,
            words=WORDS_FILE,
            head=HEAD_FILE,
            chars_file="" if chars is None else f" and character n-grams (`{CHARS_FILE}`)",
            chars_load="" if chars is None else f'chars = joblib.load(f"{{folder}}/{CHARS_FILE}")\n',
            chars_part="" if chars is None else ", chars.transform(texts)",
        ),
        encoding="utf-8",
    )


HYBRID_README = """\
# An alloop `{kind}` model

A sentence encoder (this folder, for sentence-transformers) joined with TF-IDF word n-grams
(`{words}`){chars_file}, classified by a logistic regression (`{head}`).
The joblib files are plain scikit-learn objects, saved with joblib. No library loads this combination in
one call; these lines do:

```python
import joblib, json, scipy.sparse as sp
from sentence_transformers import SentenceTransformer

folder = "."  # this folder
labels = json.load(open(f"{{folder}}/alloop.json"))["labels"]  # {labels}
encoder = SentenceTransformer(folder)
words = joblib.load(f"{{folder}}/{words}")
{chars_load}head = joblib.load(f"{{folder}}/{head}")

def predict(texts):
    dense = encoder.encode(texts, normalize_embeddings=True)
    sparse = words.transform(["{start} " + text for text in texts])  # a start token before each text
    features = sp.hstack([sp.csr_matrix(dense), {weight}sparse{chars_part}], format="csr")
    return [labels[int(i)] for i in head.predict(features)]
```

`head.predict_proba(features)` gives probabilities for the classes in `head.classes_` (indices into
`labels`; a class no label taught is missing). Load the joblib files only from a source you trust:
they are pickles.
"""
