"""Which device trains, and how many CPU threads PyTorch may use."""

from __future__ import annotations

import os

import torch


class DeviceError(ValueError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" → cuda if available, else mps, else cpu; a named device must exist."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(
            f"device: unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("device: cuda is not available on this machine; use auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device: {name} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device: mps is not available on this machine; use auto or cpu")
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise DeviceError(f"device: {name!r} is not supported; use auto, cpu, cuda or mps")
    return device


def default_thread_count() -> int:
    """All cores but one (at least one): the web server and the OS keep a core to themselves.

    Measured on a 2-core machine: with two OpenMP threads, anything else running makes
    training up to 7× slower; with one, it stays steady.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


def configure_threads(threads: int = 0) -> int:
    """Set PyTorch's intra-op thread count (0 = default_thread_count()); returns it.

    The setting is process-wide: every CPU run and the benchmark share it.
    """
    count = threads if threads > 0 else default_thread_count()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
