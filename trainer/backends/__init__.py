"""The classifier backends behind one interface: auto, embeddings, hybrid, transformer, setfit."""

from pathlib import Path

from common.spec import Backend, RunSpec
from trainer.backends.base import BackendOptions, ClassifierBackend
from trainer.backends.devices import resolve_device


def backend_for(spec: RunSpec, device: str) -> Backend:
    """The spec's backend, or the default for the device: auto on CPU, transformer on CUDA."""
    if spec.backend is not None:
        return spec.backend
    return Backend.transformer if device.startswith("cuda") else Backend.auto


def make_backend(
    spec: RunSpec, label_names: list[str], run_dir: Path, device: str, options: BackendOptions | None = None
) -> ClassifierBackend:
    """The backend a spec asks for, on ``device`` (``auto`` resolved here)."""
    resolved = resolve_device(device)
    kind = backend_for(spec, resolved)
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
