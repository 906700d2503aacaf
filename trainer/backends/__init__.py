"""The classifier backends behind one interface: auto, embeddings, hybrid, transformer, setfit."""

from pathlib import Path

from common.spec import Backend, RunSpec
from trainer.backends.base import BackendOptions, ClassifierBackend
from trainer.backends.devices import resolve_device


def backend_for(spec: RunSpec) -> Backend:
    """The spec's backend, or the default: ``auto``, on every device.

    On CUDA, ``transformer`` fine-tunes in a few seconds a batch, but from few labels it learns
    little: on a lent H200 (TREC-6, seed 0) it scored 0.15, 0.26, 0.28, 0.31, 0.31 at 20 to 100
    labels, where ``auto`` scores 0.7-0.8 at 100 on a CPU. A GPU's strength goes to the background
    model (SetFit under its CUDA budgets) instead."""
    return spec.backend if spec.backend is not None else Backend.auto


def make_backend(
    spec: RunSpec, label_names: list[str], run_dir: Path, device: str, options: BackendOptions | None = None
) -> ClassifierBackend:
    """The backend a spec asks for, on ``device`` (``auto`` resolved here)."""
    resolved = resolve_device(device)
    kind = backend_for(spec)
    backend_class: type[ClassifierBackend]
    if kind == Backend.auto:
        from trainer.backends.auto import AutoBackend as backend_class
    elif kind == Backend.embeddings:
        from trainer.backends.embeddings import EmbeddingsBackend as backend_class
    elif kind == Backend.hybrid:
        from trainer.backends.hybrid import HybridBackend as backend_class
    elif kind == Backend.transformer:
        from trainer.backends.transformer import TransformerBackend as backend_class
    else:
        from trainer.backends.setfit import SetFitBackend as backend_class
    return backend_class(spec.model, label_names, run_dir, resolved, options or BackendOptions())


def preload() -> None:
    """Import the jobs and every backend's libraries now (a worker does, before it forks jobs)."""
    import trainer.backends.auto
    import trainer.backends.embeddings
    import trainer.backends.hybrid
    import trainer.backends.setfit
    import trainer.backends.transformer
    import trainer.heavy
    import trainer.job  # noqa: F401


__all__ = ["BackendOptions", "ClassifierBackend", "backend_for", "make_backend", "preload"]
