"""The learning curve of a run as a PNG, with the 95 % interval of each figure as a band."""

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from common.events import Evaluation
from common.files import atomic_write_bytes


def plot_curve(
    run: str,
    labels: list[int],
    figures: list[Evaluation],
    target: Path,
    models: dict[str, list[float | None]] | None = None,
) -> None:
    """Accuracy and macro-F1 of the serving model against labels learned, each with its band;
    ``models``: each model's own accuracy (two-speed learning), as thin lines. Points without a
    figure are left out."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name, accuracies in (models or {}).items():
        kept = [(x, value) for x, value in zip(labels, accuracies, strict=True) if value is not None]
        if kept:
            axes.plot(*zip(*kept, strict=True), linestyle=":", linewidth=1, marker=".", label=name)
    for name, marker, style in (("accuracy", "o", "-"), ("macro_f1", "s", "--")):
        points = [
            (count, getattr(item, name), getattr(item, f"{name}_low"), getattr(item, f"{name}_high"))
            for count, item in zip(labels, figures, strict=True)
            if getattr(item, name) is not None
        ]
        if not points:
            continue
        xs, values, lows, highs = zip(*points, strict=True)
        label = name.replace("_", "-") + (" (serving model)" if models else "")
        (line,) = axes.plot(xs, values, marker=marker, linestyle=style, linewidth=2, label=label)
        if all(low is not None for low in lows):
            axes.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.15, linewidth=0)
    axes.set(xlabel="labels learned", ylabel=_basis(figures), title=f"alloop run {run}", ylim=(0, 1))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png")
    plt.close(figure)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, image.getvalue())


def _basis(figures: list[Evaluation]) -> str:
    last = figures[-1] if figures else None
    if last is None or last.evaluated_on == "none":
        return "no held-out labels"
    where = "test split" if last.evaluated_on == "test" else "evaluation sample"
    return f"score on the {where} (band: 95 % interval; last on {last.eval_n} labels)"
