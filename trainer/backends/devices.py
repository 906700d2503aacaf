"""Which torch device a run uses."""

import re

import torch

from common.errors import UserError

_EXPLICIT = re.compile(r"^(cpu|cuda(:\d+)?)$")


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``; explicit devices are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not _EXPLICIT.match(device):
        raise UserError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} was asked for, but torch sees no CUDA GPU")
    return device
