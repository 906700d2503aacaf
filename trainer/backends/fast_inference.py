"""Pool scoring without padding waste: length-sorted batches, each cut to its longest text.

small-text pads every text to ``max_length`` and runs the whole padded batch through the model. A
text's logits do not depend on the padding after it (the attention mask hides it), so scoring texts
sorted by length in batches trimmed to their longest member gives the same probabilities for a
fraction of the work. Results are put back in the caller's order.
"""

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

# A batch holds at most this many tokens (rows x longest length) and this many rows. CPUs gain
# nothing from bigger batches; GPUs need them to be busy.
CPU_TOKENS_PER_BATCH = 4096
CUDA_TOKENS_PER_BATCH = 65536
MAX_ROWS_PER_BATCH = 512

CPU_QUOTA = Path("/sys/fs/cgroup/cpu.max")


def available_cores() -> int:
    """CPU cores this process may use: its affinity, capped by a cgroup (container) quota."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = CPU_QUOTA.read_text().split()
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, int(int(quota) / int(period))))


def use_available_cores() -> None:
    """Let torch use every available core (its default counts the machine's, not the container's)."""
    cores = available_cores()
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)


def autocast(device: str) -> AbstractContextManager[Any]:
    """bf16 (or fp16 where bf16 is missing) autocast on CUDA; full precision elsewhere."""
    if not device.startswith("cuda"):
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def tokens_per_batch(device: str) -> int:
    return CUDA_TOKENS_PER_BATCH if device.startswith("cuda") else CPU_TOKENS_PER_BATCH


def stack_rows(data: Sequence[tuple[Any, ...]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention masks of a small-text TransformersDataset's rows, as two matrices."""
    ids = torch.cat([row[0] for row in data], dim=0)
    mask = torch.cat([row[1] for row in data], dim=0)
    return ids, mask


def length_sorted_batches(lengths: np.ndarray, max_tokens: int, max_rows: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length, shortest first.

    A batch takes the next row while its rows times its longest length stay within ``max_tokens``.
    """
    batches: list[np.ndarray] = []
    current: list[int] = []
    for row in np.argsort(lengths, kind="stable"):
        if current and (len(current) >= max_rows or (len(current) + 1) * lengths[row] > max_tokens):
            batches.append(np.array(current))
            current = []
        current.append(int(row))
    if current:
        batches.append(np.array(current))
    return batches


def trimmed_batches(
    ids: torch.Tensor, mask: torch.Tensor, device: str
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(original row indices, ids, mask) per batch, each cut to its longest text and moved to ``device``."""
    lengths = mask.sum(dim=1).numpy()
    for rows in length_sorted_batches(lengths, tokens_per_batch(device), MAX_ROWS_PER_BATCH):
        longest = int(lengths[rows].max())
        index = torch.from_numpy(rows)
        yield rows, ids[index, :longest].to(device), mask[index, :longest].to(device)


def score_sorted(
    model: torch.nn.Module,
    data: Sequence[tuple[Any, ...]],
    device: str,
    outputs: Callable[[Any, torch.Tensor], list[torch.Tensor]],
    widths: Sequence[int],
    hidden_states: bool = False,
) -> list[np.ndarray]:
    """Run ``model`` over ``data`` in trimmed, length-sorted batches; rows come back in ``data``'s order.

    ``outputs`` turns the model's output and the batch's mask into one float tensor per result,
    each with ``widths[i]`` columns.
    """
    use_available_cores()
    ids, mask = stack_rows(data)
    results = [np.empty((len(data), width), dtype=np.float32) for width in widths]
    model.eval()
    with torch.inference_mode(), autocast(device):
        for rows, batch_ids, batch_mask in trimmed_batches(ids, mask, device):
            output = model(batch_ids, attention_mask=batch_mask, output_hidden_states=hidden_states)
            for result, values in zip(results, outputs(output, batch_mask), strict=True):
                result[rows] = values.float().cpu().numpy()
    return results


def class_probabilities(output: Any) -> torch.Tensor:
    return torch.softmax(output.logits.float(), dim=1)


def sentence_embedding(output: Any, mask: torch.Tensor, method: str, layer: int) -> torch.Tensor:
    """A layer's [CLS] state (``cls``) or its mean over the tokens after [CLS] (``avg``), padding left out.

    small-text's own ``avg`` also averages the padding's states, so its vectors depend on
    ``max_length``; these do not.
    """
    states = output.hidden_states[1:][layer].float()
    if method == "cls":
        return states[:, 0]
    if method != "avg":
        raise ValueError(f"unknown embedding method {method!r}; use avg or cls")
    weights = mask[:, 1:].unsqueeze(-1).to(states.dtype)
    return (states[:, 1:] * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
