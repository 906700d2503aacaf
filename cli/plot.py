"""The learning curve of a run as a PNG."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_curve(
    run: str, labels: list[int], accuracy: list[float], macro_f1: list[float], target: Path
) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    axes.plot(labels, accuracy, marker="o", label="accuracy")
    axes.plot(labels, macro_f1, marker="s", linestyle="--", label="macro-F1")
    axes.set(xlabel="labels", ylabel="test score", title=f"alloop run {run}", ylim=(0, 1))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.png")
    figure.savefig(tmp)
    plt.close(figure)
    tmp.replace(target)
